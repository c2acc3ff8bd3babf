import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCodes, graphql, identityHeaders } from '@bth/testkit';
import { startUsers } from './harness.js';

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

async function verifiedToken(email: string): Promise<string> {
  const requested = await graphql(users.url, `mutation($e: String!) { requestEmailVerification(email: $e) { email } }`, { e: email });
  expect(requested.errors).toBeUndefined();
  const code = await users.lastCode(email);
  const verified = await graphql(users.url, `mutation($e: String!, $c: String!) { verifyEmail(email: $e, code: $c) { verificationToken } }`, {
    e: email,
    c: code,
  });
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

const LOGIN = `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken refreshToken user { id } } }`;

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
      const r = await graphql(users.url, `mutation($e: String!, $c: String!) { verifyEmail(email: $e, code: $c) { verificationToken } }`, { e: email, c: wrong });
      expect(errorCodes(r)).toEqual(['BAD_USER_INPUT']);
    }
    const last = await graphql(users.url, `mutation($e: String!, $c: String!) { verifyEmail(email: $e, code: $c) { verificationToken } }`, { e: email, c: code });
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
      input: signUpInput('not-an-email', token, { password: 'short', name: '1', nickname: 'x', phone: '0212345678', postalCode: '12', address: ' ' }),
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
    const REFRESH = `mutation($t: String!) { refreshSession(refreshToken: $t) { refreshToken } }`;
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

  it('When the password changes, then every refresh token of the member stops working', async () => {
    const { email, id } = await signUp();
    const a = await graphql(users.url, LOGIN, { e: email, p: PASSWORD });
    const b = await graphql(users.url, LOGIN, { e: email, p: PASSWORD });
    const headers = await identityHeaders({ userId: id, role: 'USER', sessionId: randomUUID() });
    const changed = await graphql(users.url, `mutation { changePassword(oldPassword: "${PASSWORD}", newPassword: "N3w!passw") }`, {}, headers);
    expect(changed.data).toEqual({ changePassword: true });
    for (const login of [a, b]) {
      const r = await graphql(users.url, `mutation($t: String!) { refreshSession(refreshToken: $t) { accessToken } }`, { t: login.data!.login.refreshToken });
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

  it('When a member updates the profile with a bad phone, then nothing changes', async () => {
    const { id } = await signUp();
    const headers = await identityHeaders({ userId: id, role: 'USER', sessionId: randomUUID() });
    const bad = await graphql(users.url, `mutation { updateProfile(input: { phone: "123", postalCode: "1" }) { id } }`, {}, headers);
    expect(errorCodes(bad)).toEqual(['BAD_USER_INPUT']);
    const ok = await graphql(users.url, `mutation { updateProfile(input: { phone: "01099998888" }) { phone address { postalCode } } }`, {}, headers);
    expect(ok.data).toEqual({ updateProfile: { phone: '01099998888', address: { postalCode: '06236' } } });
  });

  it('When a user asks for another member by id, then FORBIDDEN; an admin may', async () => {
    const { id } = await signUp();
    const asUser = await graphql(users.url, `query($id: ID!) { user(id: $id) { id } }`, { id }, await identityHeaders({ userId: randomUUID(), role: 'USER', sessionId: 's' }));
    expect(errorCodes(asUser)).toEqual(['FORBIDDEN']);
    const asAdmin = await graphql(users.url, `query($id: ID!) { user(id: $id) { id email } }`, { id }, await identityHeaders({ userId: randomUUID(), role: 'ADMIN', sessionId: 's' }));
    expect(asAdmin.data!.user.id).toBe(id);
    expect(asAdmin.data!.user.email).toMatch(/@example.com$/);
  });
});
