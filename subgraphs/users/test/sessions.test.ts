import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REVOCATIONS_COMPLETE_KEY, SESSIONS_STATUS_PATH, revokedSessionKey } from '@bth/platform/identity';
import { graphql, identityHeaders, serviceToken, waitFor } from '@bth/testkit';
import { startUsers } from '@bth/fixtures/users';

type Users = Awaited<ReturnType<typeof startUsers>>;
let users: Users;
let statusUrl: string;

beforeAll(async () => {
  users = await startUsers();
  statusUrl = new URL(SESSIONS_STATUS_PATH, users.url).href;
});
afterAll(async () => {
  await users?.stop();
});

const PASSWORD = 'Secr3t!pass';

/** A member signed up through the real verified journey and logged in once. */
async function loggedIn(): Promise<{ accessToken: string; sessionId: string; userId: string }> {
  const email = `sess-${randomUUID().slice(0, 8)}@example.com`;
  await graphql(users.url, `mutation($e: String!) { requestEmailVerification(email: $e) { email } }`, { e: email });
  const verified = await graphql(
    users.url,
    `mutation($e: String!, $c: String!) { verifyEmail(email: $e, code: $c) { verificationToken } }`,
    {
      e: email,
      c: await users.lastCode(email),
    },
  );
  const input = {
    verificationToken: verified.data!.verifyEmail.verificationToken,
    email,
    password: PASSWORD,
    name: 'Session Kim',
    nickname: 'session',
    phone: '01012345678',
    postalCode: '06236',
    address: 'Teheran-ro 123',
  };
  expect((await graphql(users.url, `mutation($input: SignUpInput!) { signUp(input: $input) { id } }`, { input })).errors).toBeUndefined();
  const login = await graphql(
    users.url,
    `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken user { id } } }`,
    { e: email, p: PASSWORD },
  );
  const accessToken = login.data!.login.accessToken as string;
  const { sid } = JSON.parse(Buffer.from(accessToken.split('.')[1]!, 'base64url').toString()) as { sid: string };
  return { accessToken, sessionId: sid, userId: login.data!.login.user.id };
}

async function askStatus(sessionIds: unknown, headers: Record<string, string>): Promise<{ status: number; body: Record<string, any> }> {
  const response = await fetch(statusUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ sessionIds }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

const asRouter = async () => ({ authorization: `Bearer ${await serviceToken('router', 'sessions')}` });

describe('session status API and the revocation cache', () => {
  it('When a caller has no service token for the sessions audience, then 401, even with a valid identity or a token for another API', async () => {
    const member = await loggedIn();
    for (const headers of [
      {},
      await identityHeaders({ userId: member.userId, role: 'ADMIN', sessionId: member.sessionId }),
      { authorization: `Bearer ${member.accessToken}` },
      { authorization: `Bearer ${await serviceToken('orders', 'inventory')}` },
    ]) {
      const answer = await askStatus([member.sessionId], headers);
      expect(answer.status).toBe(401);
      expect(answer.body.error.code).toBe('UNAUTHENTICATED');
      expect(answer.body.sessions).toBeUndefined();
    }
  });

  it('When the router asks, then users answers from MariaDB: LIVE, then REVOKED after logout, UNKNOWN for a session never stored; a bad body is 400', async () => {
    const member = await loggedIn();
    const stranger = randomUUID();
    expect(await askStatus([member.sessionId, stranger], await asRouter())).toEqual({
      status: 200,
      body: { sessions: { [member.sessionId]: 'LIVE', [stranger]: 'UNKNOWN' } },
    });
    const logout = await graphql(
      users.url,
      `mutation { logout }`,
      {},
      await identityHeaders({ userId: member.userId, role: 'USER', sessionId: member.sessionId }),
    );
    expect(logout.data).toEqual({ logout: true });
    expect((await askStatus([member.sessionId], await asRouter())).body.sessions).toEqual({ [member.sessionId]: 'REVOKED' });

    for (const bad of [[], ['not-a-uuid'], Array.from({ length: 101 }, () => randomUUID()), 'x']) {
      const answer = await askStatus(bad, await asRouter());
      expect(answer.status).toBe(400);
      expect(answer.body.error.code).toBe('BAD_USER_INPUT');
    }
  });

  it('When Redis loses the revocations and the marker (a flush, no reconnect), then users rebuilds both from MariaDB within seconds', async () => {
    const member = await loggedIn();
    await graphql(
      users.url,
      `mutation { logout }`,
      {},
      await identityHeaders({ userId: member.userId, role: 'USER', sessionId: member.sessionId }),
    );
    expect(await users.redis.exists(revokedSessionKey(member.sessionId))).toBe(1);
    expect(await users.redis.exists(REVOCATIONS_COMPLETE_KEY)).toBe(1);

    await users.redis.del(revokedSessionKey(member.sessionId), REVOCATIONS_COMPLETE_KEY);
    await waitFor(async () => (await users.redis.exists(REVOCATIONS_COMPLETE_KEY, revokedSessionKey(member.sessionId))) === 2, 15_000, 100);
    // Kept only as long as an access token of the session can still live.
    const ttl = await users.redis.ttl(revokedSessionKey(member.sessionId));
    expect(ttl).toBeGreaterThan(15 * 60 - 30);
    expect(ttl).toBeLessThanOrEqual(15 * 60);
  });
});
