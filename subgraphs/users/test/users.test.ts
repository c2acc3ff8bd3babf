import { randomUUID } from 'node:crypto';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deadUrl, errorCodes, graphql, identityHeaders, startTcpProxy, waitFor } from '@bth/testkit';
import { createSmtpMailer } from '../src/mailer.js';
import { startUsers } from '@bth/fixtures/users';

type Users = Awaited<ReturnType<typeof startUsers>>;
let users: Users;

beforeAll(async () => {
  users = await startUsers();
});
afterAll(async () => {
  await users?.stop();
});

const PASSWORD = 'Secr3t!pass';
const newEmail = () => `it-${randomUUID().slice(0, 8)}@example.com`;

const REQUEST_CODE = `mutation($e: String!) { requestEmailVerification(email: $e) { email } }`;

async function verifiedToken(email: string): Promise<string> {
  const requested = await graphql(users.url, REQUEST_CODE, { e: email });
  expect(requested.errors).toBeUndefined();
  const code = await users.lastCode(email);
  const verified = await graphql(
    users.url,
    `mutation($e: String!, $c: String!) { verifyEmail(email: $e, code: $c) { verificationToken } }`,
    {
      e: email,
      c: code,
    },
  );
  expect(verified.errors).toBeUndefined();
  return verified.data!.verifyEmail.verificationToken;
}

const SIGN_UP = `mutation($input: SignUpInput!) { signUp(input: $input) { id nickname } }`;
const signUpInput = (email: string, verificationToken: string, overrides: Record<string, string> = {}) => ({
  verificationToken,
  email,
  password: PASSWORD,
  name: 'Kim Hyensu',
  nickname: 'hyensu',
  phone: '01012345678',
  postalCode: '06236',
  address: 'Teheran-ro 123, Gangnam-gu',
  ...overrides,
});

async function signUp(email = newEmail()) {
  const token = await verifiedToken(email);
  const response = await graphql(users.url, SIGN_UP, { input: signUpInput(email, token) });
  expect(response.errors).toBeUndefined();
  return { email, id: response.data!.signUp.id as string };
}

const LOGIN = `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken refreshToken refreshTokenExpiresAt user { id } } }`;
const REFRESH = `mutation($t: String!) { refreshSession(refreshToken: $t) { refreshToken refreshTokenExpiresAt } }`;
const failureKey = (email: string) => `users:login-failures:${users.emailIndex(email)}`;

/** Every key under this run's prefix (named without it) with its value, for "what does Redis hold" checks. */
async function redisContents(): Promise<Array<{ key: string; value: string }>> {
  const prefix = users.redis.options.keyPrefix ?? '';
  const entries: Array<{ key: string; value: string }> = [];
  for (const full of await users.redis.keys('*')) {
    const key = full.slice(prefix.length);
    const value =
      (await users.redis.type(key)) === 'hash' ? JSON.stringify(await users.redis.hgetall(key)) : String(await users.redis.get(key));
    entries.push({ key, value });
  }
  return entries;
}

describe('users subgraph', () => {
  it('When a member signs up after verifying the e-mail, then personal data is stored encrypted', async () => {
    const { email, id } = await signUp();
    const [rows] = (await users.database.pool.query('SELECT * FROM users WHERE id = ?', [id])) as unknown as [Record<string, unknown>[]];
    const raw = JSON.stringify(rows[0]);
    expect(rows).toHaveLength(1);
    for (const plain of [email, 'Kim Hyensu', '01012345678', '06236', 'Teheran-ro']) expect(raw).not.toContain(plain);
    expect(String(rows[0]!.password_hash)).toMatch(/^scrypt\$/);
  });

  it('When the code is wrong five times, then the code is used up even if the sixth guess is right', async () => {
    const email = newEmail();
    await graphql(users.url, `mutation($e: String!) { requestEmailVerification(email: $e) { email } }`, { e: email });
    const code = await users.lastCode(email);
    const wrong = code === '000000' ? '111111' : '000000';
    for (let i = 0; i < 5; i++) {
      const r = await graphql(users.url, `mutation($e: String!, $c: String!) { verifyEmail(email: $e, code: $c) { verificationToken } }`, {
        e: email,
        c: wrong,
      });
      expect(errorCodes(r)).toEqual(['BAD_USER_INPUT']);
    }
    const last = await graphql(users.url, `mutation($e: String!, $c: String!) { verifyEmail(email: $e, code: $c) { verificationToken } }`, {
      e: email,
      c: code,
    });
    expect(errorCodes(last)).toEqual(['BAD_USER_INPUT']);
  });

  it('When a code is requested twice within a minute, then the second is RATE_LIMITED', async () => {
    const email = newEmail();
    await graphql(users.url, `mutation($e: String!) { requestEmailVerification(email: $e) { email } }`, { e: email });
    const again = await graphql(users.url, `mutation($e: String!) { requestEmailVerification(email: $e) { email } }`, { e: email });
    expect(errorCodes(again)).toEqual(['RATE_LIMITED']);
    expect(again.errors![0]!.extensions!.retryAfterSeconds).toBeGreaterThan(0);
  });

  it('When every sign-up field is invalid, then each is reported and no row is written', async () => {
    const email = newEmail();
    const token = await verifiedToken(email);
    const [[before]] = (await users.database.pool.query('SELECT COUNT(*) AS n FROM users')) as unknown as [[{ n: number }]];
    const response = await graphql(users.url, SIGN_UP, {
      input: signUpInput('not-an-email', token, {
        password: 'short',
        name: '1',
        nickname: 'x',
        phone: '0212345678',
        postalCode: '12',
        address: ' ',
      }),
    });
    expect(errorCodes(response)).toEqual(['BAD_USER_INPUT']);
    const fields = (response.errors![0]!.extensions!.fieldErrors as { field: string }[]).map((f) => f.field);
    expect(new Set(fields)).toEqual(new Set(['email', 'password', 'name', 'nickname', 'phone', 'postalCode', 'address']));
    const [[after]] = (await users.database.pool.query('SELECT COUNT(*) AS n FROM users')) as unknown as [[{ n: number }]];
    expect(after.n).toBe(before.n);
  });

  it('When signing up without a verification proof for that e-mail, then it is refused', async () => {
    const token = await verifiedToken(newEmail());
    const response = await graphql(users.url, SIGN_UP, { input: signUpInput(newEmail(), token) });
    expect(errorCodes(response)).toEqual(['BAD_USER_INPUT']);
    expect(response.errors![0]!.extensions!.fieldErrors).toEqual([{ field: 'verificationToken', message: expect.any(String) }]);
  });

  it('When the same e-mail signs up twice, then the second gets a field error on email', async () => {
    const { email } = await signUp();
    const response = await graphql(users.url, `mutation($e: String!) { requestEmailVerification(email: $e) { email } }`, { e: email });
    expect(response.errors![0]!.extensions!.fieldErrors).toEqual([{ field: 'email', message: 'This e-mail is already registered' }]);
  });

  it('When a refresh token is used twice, then the whole session is revoked', async () => {
    const { email } = await signUp();
    const login = await graphql(users.url, LOGIN, { e: email, p: PASSWORD });
    const first = login.data!.login.refreshToken as string;
    const rotated = await graphql(users.url, REFRESH, { t: first });
    expect(rotated.errors).toBeUndefined();
    const second = rotated.data!.refreshSession.refreshToken as string;
    const replay = await graphql(users.url, REFRESH, { t: first });
    expect(errorCodes(replay)).toEqual(['UNAUTHENTICATED']);
    // The legitimate successor dies with the family.
    const afterReuse = await graphql(users.url, REFRESH, { t: second });
    expect(errorCodes(afterReuse)).toEqual(['UNAUTHENTICATED']);
  });

  it('When five logins fail, then the sixth is LOGIN_THROTTLED even with the right password', async () => {
    const { email } = await signUp();
    for (let i = 0; i < 5; i++) {
      const r = await graphql(users.url, LOGIN, { e: email, p: 'Wrong!pass1' });
      expect(errorCodes(r)).toEqual(['UNAUTHENTICATED']);
    }
    const r = await graphql(users.url, LOGIN, { e: email, p: PASSWORD });
    expect(errorCodes(r)).toEqual(['LOGIN_THROTTLED']);
  });

  it('When 20 wrong passwords for one e-mail arrive at once, then only 5 are checked and the rest, then the right password, are LOGIN_THROTTLED until the window passes', async () => {
    const { email } = await signUp();
    const responses = await Promise.all(Array.from({ length: 20 }, () => graphql(users.url, LOGIN, { e: email, p: 'Wrong!pass1' })));
    const codes = responses.flatMap(errorCodes);
    expect(codes.filter((c) => c === 'UNAUTHENTICATED')).toHaveLength(5);
    expect(codes.filter((c) => c === 'LOGIN_THROTTLED')).toHaveLength(15);
    const right = await graphql(users.url, LOGIN, { e: email, p: PASSWORD });
    expect(errorCodes(right)).toEqual(['LOGIN_THROTTLED']);
    const retryAfter = right.errors![0]!.extensions!.retryAfterSeconds as number;
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(15 * 60);
    // The window passing, brought forward: once the counter expires the right password works.
    await users.redis.pexpire(failureKey(email), 1);
    await waitFor(async () => (await users.redis.exists(failureKey(email))) === 0);
    expect((await graphql(users.url, LOGIN, { e: email, p: PASSWORD })).errors).toBeUndefined();
    expect(await users.redis.exists(failureKey(email))).toBe(0);
  });

  it('When a failure counter has no expiry, then the next failed login gives it one, and later failures never extend it', async () => {
    const { email } = await signUp();
    // What INCR and EXPIRE as two calls left behind when the second one failed: a lock-out for good.
    await users.redis.set(failureKey(email), '2');
    expect(errorCodes(await graphql(users.url, LOGIN, { e: email, p: 'Wrong!pass1' }))).toEqual(['UNAUTHENTICATED']);
    expect(await users.redis.get(failureKey(email))).toBe('3');
    const ttl = await users.redis.ttl(failureKey(email));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(15 * 60);
    // The window is counted from its first failure: one more failure leaves the time left alone.
    await users.redis.expire(failureKey(email), 100);
    expect(errorCodes(await graphql(users.url, LOGIN, { e: email, p: 'Wrong!pass1' }))).toEqual(['UNAUTHENTICATED']);
    expect(await users.redis.ttl(failureKey(email))).toBeLessThanOrEqual(100);
  });

  it('When a session is refreshed, then it lives 14 days from that refresh, exactly until the refreshTokenExpiresAt it returns', async () => {
    const { email, id } = await signUp();
    const login = await graphql(users.url, LOGIN, { e: email, p: PASSWORD });
    const pool = users.database.pool;
    const [[session]] = (await pool.query('SELECT id, expires_at FROM sessions WHERE user_id = ?', [id])) as unknown as [
      [{ id: string; expires_at: Date }],
    ];
    expect(session.expires_at.toISOString()).toBe(login.data!.login.refreshTokenExpiresAt);
    // As if the login were 14 days ago less a minute: without sliding, the session ends in a minute.
    await pool.query('UPDATE sessions SET expires_at = ? WHERE id = ?', [new Date(Date.now() + 60_000), session.id]);
    const refreshed = await graphql(users.url, REFRESH, { t: login.data!.login.refreshToken });
    expect(refreshed.errors).toBeUndefined();
    const promised = new Date(refreshed.data!.refreshSession.refreshTokenExpiresAt as string);
    expect(promised.getTime() - Date.now()).toBeGreaterThan(14 * 24 * 3600_000 - 60_000);
    const [[after]] = (await pool.query('SELECT expires_at FROM sessions WHERE id = ?', [session.id])) as unknown as [
      [{ expires_at: Date }],
    ];
    expect(after.expires_at.getTime()).toBe(promised.getTime());
    // The token's own `exp` (whole seconds) names the same moment.
    const token = refreshed.data!.refreshSession.refreshToken as string;
    const { exp } = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { exp: number };
    expect(Math.abs(exp * 1000 - promised.getTime())).toBeLessThanOrEqual(1000);
    expect((await graphql(users.url, REFRESH, { t: token })).errors).toBeUndefined();
  });

  it('When an address asks for a code and verifies it, then Redis names it only by its blind index', async () => {
    const email = newEmail();
    const index = users.emailIndex(email);
    const mentions = async () =>
      (await redisContents()).filter(({ key, value }) => !key.startsWith('users:dev-mailbox:') && `${key} ${value}`.includes(email));
    expect((await graphql(users.url, REQUEST_CODE, { e: email })).errors).toBeUndefined();
    expect(await users.redis.exists(`users:verify:code:${index}`, `users:verify:throttle:${index}`)).toBe(2);
    expect(await mentions()).toEqual([]);
    const verified = await graphql(
      users.url,
      `mutation($e: String!, $c: String!) { verifyEmail(email: $e, code: $c) { verificationToken } }`,
      {
        e: email,
        c: await users.lastCode(email),
      },
    );
    const proof = verified.data!.verifyEmail.verificationToken as string;
    expect(await users.redis.get(`users:verify:proof:${proof}`)).toBe(index);
    expect(await mentions()).toEqual([]);
    const created = await graphql(users.url, SIGN_UP, { input: signUpInput(email, proof) });
    expect(created.errors).toBeUndefined();
  });

  it('When the password changes, then every refresh token of the member stops working', async () => {
    const { email, id } = await signUp();
    const a = await graphql(users.url, LOGIN, { e: email, p: PASSWORD });
    const b = await graphql(users.url, LOGIN, { e: email, p: PASSWORD });
    const headers = await identityHeaders({ userId: id, role: 'USER', sessionId: randomUUID() });
    const changed = await graphql(
      users.url,
      `mutation { changePassword(oldPassword: "${PASSWORD}", newPassword: "N3w!passw") }`,
      {},
      headers,
    );
    expect(changed.data).toEqual({ changePassword: true });
    for (const login of [a, b]) {
      const r = await graphql(users.url, `mutation($t: String!) { refreshSession(refreshToken: $t) { accessToken } }`, {
        t: login.data!.login.refreshToken,
      });
      expect(errorCodes(r)).toEqual(['UNAUTHENTICATED']);
    }
    expect((await graphql(users.url, LOGIN, { e: email, p: 'N3w!passw' })).errors).toBeUndefined();
  });

  it('When a caller forges identity headers, then it is anonymous and sees no private fields', async () => {
    const { id } = await signUp();
    const forged = { 'x-user-id': id, 'x-bth-identity': 'not-a-jwt', 'x-user-role': 'ADMIN' };
    const me = await graphql(users.url, `{ me { id } }`, {}, forged);
    expect(me.data).toEqual({ me: null });
    const entity = await graphql(
      users.url,
      `query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id nickname email phone } } }`,
      { r: [{ __typename: 'User', id }] },
      forged,
    );
    expect(entity.data!._entities).toEqual([{ id, nickname: 'hyensu', email: null, phone: null }]);
  });

  it('When a query reads no personal field, then no personal field is decrypted', async () => {
    const { id } = await signUp();
    // A phone that cannot be decrypted shows whether a read touched it.
    await users.database.pool.query("UPDATE users SET phone_enc = 'v1.AAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA.AAAA' WHERE id = ?", [id]);
    const headers = await identityHeaders({ userId: id, role: 'USER', sessionId: randomUUID() });
    const me = await graphql(users.url, `{ me { id nickname name } }`, {}, headers);
    expect(me.errors).toBeUndefined();
    expect(me.data).toEqual({ me: { id, nickname: 'hyensu', name: 'Kim Hyensu' } });
    const phone = await graphql(users.url, `{ me { id phone } }`, {}, headers);
    expect(errorCodes(phone)).toEqual(['INTERNAL_SERVER_ERROR']);
  });

  it('When a member updates the profile with a bad phone, then nothing changes', async () => {
    const { id } = await signUp();
    const headers = await identityHeaders({ userId: id, role: 'USER', sessionId: randomUUID() });
    const bad = await graphql(users.url, `mutation { updateProfile(input: { phone: "123", postalCode: "1" }) { id } }`, {}, headers);
    expect(errorCodes(bad)).toEqual(['BAD_USER_INPUT']);
    const ok = await graphql(
      users.url,
      `mutation { updateProfile(input: { phone: "01099998888" }) { phone address { postalCode } } }`,
      {},
      headers,
    );
    expect(ok.data).toEqual({ updateProfile: { phone: '01099998888', address: { postalCode: '06236' } } });
  });

  it('When a user asks for another member by id, then FORBIDDEN; an admin may', async () => {
    const { id } = await signUp();
    const asUser = await graphql(
      users.url,
      `query($id: ID!) { user(id: $id) { id } }`,
      { id },
      await identityHeaders({ userId: randomUUID(), role: 'USER', sessionId: 's' }),
    );
    expect(errorCodes(asUser)).toEqual(['FORBIDDEN']);
    const asAdmin = await graphql(
      users.url,
      `query($id: ID!) { user(id: $id) { id email } }`,
      { id },
      await identityHeaders({ userId: randomUUID(), role: 'ADMIN', sessionId: 's' }),
    );
    expect(asAdmin.data!.user.id).toBe(id);
    expect(asAdmin.data!.user.email).toMatch(/@example.com$/);
  });
});

describe('users subgraph when Redis or the mail server fails', () => {
  it('When the mail cannot be sent, then UPSTREAM_UNAVAILABLE, nothing is left behind and the address may ask again at once', async () => {
    const { port } = new URL(await deadUrl());
    const replica = await users.startReplica({
      mailer: () => createSmtpMailer(`smtp://127.0.0.1:${port}`, 'BooTakHae <no-reply@example.com>', 5_000),
    });
    try {
      const email = newEmail();
      const index = users.emailIndex(email);
      const failed = await graphql(replica.url, REQUEST_CODE, { e: email });
      expect(errorCodes(failed)).toEqual(['UPSTREAM_UNAVAILABLE']);
      expect((await redisContents()).filter(({ key }) => key.includes(email) || key.includes(index))).toEqual([]);
      // Through the healthy replica: no 60 s wait for a code that was never delivered.
      expect((await graphql(users.url, REQUEST_CODE, { e: email })).errors).toBeUndefined();
    } finally {
      await replica.stop();
    }
  });

  it('When the mail relay accepts the connection but never answers, then UPSTREAM_UNAVAILABLE within the SMTP timeout and the address may ask again', async () => {
    // A relay that hangs: the TCP connection is accepted, the SMTP greeting never comes.
    const held = new Set<Socket>();
    const relay = createNetServer((socket) => held.add(socket));
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    const { port } = relay.address() as AddressInfo;
    const replica = await users.startReplica({
      mailer: () => createSmtpMailer(`smtp://127.0.0.1:${port}`, 'BooTakHae <no-reply@example.com>', 1_000),
    });
    try {
      const email = newEmail();
      const started = Date.now();
      const failed = await graphql(replica.url, REQUEST_CODE, { e: email });
      expect(errorCodes(failed)).toEqual(['UPSTREAM_UNAVAILABLE']);
      // nodemailer's own greeting timeout is 30 s; the configured 1 s plus the request's own work.
      expect(Date.now() - started).toBeLessThan(5_000);
      expect((await graphql(users.url, REQUEST_CODE, { e: email })).errors).toBeUndefined();
    } finally {
      await replica.stop();
      for (const socket of held) socket.destroy();
      await new Promise<void>((resolve) => relay.close(() => resolve()));
    }
  });

  it('When Redis is lost right after the account row is written, then sign-up still answers with the new member', async () => {
    const proxy = await startTcpProxy({ port: 6379 });
    const replica = await users.startReplica({ redisUrl: proxy.url('redis') });
    const blocker = await users.database.pool.getConnection();
    try {
      const email = newEmail();
      const proof = await verifiedToken(email);
      // An uncommitted row with the same blind index holds the replica's INSERT (issued after the
      // proof was checked) until we roll it back: the moment to take Redis away. The wait is
      // spotted in the process list; polling InnoDB's lock tables instead slows the very insert.
      await blocker.beginTransaction();
      await blocker.query(
        `INSERT INTO users (id, email_index, email_enc, password_hash, name_enc, nickname, phone_enc, postal_code_enc, address_enc, role, created_at, updated_at)
         VALUES (?, ?, 'x', 'x', 'x', 'blocker', 'x', 'x', 'x', 'USER', NOW(3), NOW(3))`,
        [randomUUID(), users.emailIndex(email)],
      );
      const pending = graphql(replica.url, SIGN_UP, { input: signUpInput(email, proof) });
      await waitFor(async () => {
        const [[row]] = (await users.database.pool.query(
          "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE DB = DATABASE() AND INFO LIKE 'insert into `users`%'",
        )) as unknown as [[{ n: number }]];
        return Number(row.n) > 0;
      });
      proxy.block();
      await blocker.rollback();
      const response = await pending;
      expect(response.errors).toBeUndefined();
      const id = response.data!.signUp.id as string;
      const [rows] = (await users.database.pool.query('SELECT id FROM users WHERE id = ?', [id])) as unknown as [unknown[]];
      expect(rows).toHaveLength(1);
      // Redis really was gone when the proof was to be deleted, and what it left is harmless.
      expect(await users.redis.exists(`users:verify:proof:${proof}`)).toBe(1);
      const reuse = await graphql(users.url, SIGN_UP, { input: signUpInput(email, proof) });
      expect(reuse.errors![0]!.extensions!.fieldErrors).toEqual([{ field: 'email', message: 'This e-mail is already registered' }]);
    } finally {
      blocker.release();
      await replica.stop();
      await proxy.close();
    }
  });
});
