import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { REVOCATIONS_COMPLETE_KEY, revokedSessionKey } from '@bth/platform/identity';
import { startPrivateRedis, waitFor, type GraphQLResponse, type PrivateRedis } from '@bth/testkit';
import { PASSWORD, startStack, type Member, type Stack } from '../support/stack.js';

/**
 * Logouts and password changes are durable (issue 9, observation 9): MariaDB holds revocations,
 * Redis only caches them. Router and users share a Redis of this test's own, which the test
 * restarts empty and stops; the machine's shared Redis is never touched.
 */
let redis: PrivateRedis;
let stack: Stack;
beforeAll(async () => {
  redis = await startPrivateRedis();
  stack = await startStack({ only: ['users'], env: { REDIS_URL: redis.url } });
});
afterAll(async () => {
  await stack?.stop();
  await redis?.dispose();
});

const ME = `{ me { id } }`;
const CHANGE_PASSWORD = `mutation($o: String!, $n: String!) { changePassword(oldPassword: $o, newPassword: $n) }`;

const me = (accessToken: string) => stack.gql(ME, {}, accessToken);
const reason = (response: GraphQLResponse) => response.errors?.[0]?.extensions?.reason;

function expectRevoked(response: GraphQLResponse) {
  expect(response.status).toBe(401);
  expect(response.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  expect(reason(response)).toBe('SESSION_REVOKED');
}

function expectAccepted(response: GraphQLResponse, member: Pick<Member, 'userId'>) {
  expect(response.errors).toBeUndefined();
  expect(response.data?.me?.id).toBe(member.userId);
}

/** Reads the private Redis with the stack's key prefix, as router and users see it. */
async function cacheHolds(sessionOf: string): Promise<{ complete: boolean; revoked: boolean }> {
  const client = new Redis(redis.url, { keyPrefix: stack.redisPrefix, maxRetriesPerRequest: 1 });
  try {
    const [complete, revoked] = await client.mget(REVOCATIONS_COMPLETE_KEY, revokedSessionKey(sessionOf));
    return { complete: complete !== null, revoked: revoked !== null };
  } finally {
    client.disconnect();
  }
}

/** Fails the test instead of hanging it when the router does not answer within `ms`. */
async function within<T>(ms: number, pending: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([pending, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

const sessionOf = (accessToken: string): string => JSON.parse(Buffer.from(accessToken.split('.')[1]!, 'base64url').toString()).sid;

/**
 * Signs a member up once users can use Redis again (codes and rate limits live there): after a
 * restart its client needs a moment to reconnect. Starts the private Redis if a test left it down.
 */
async function signUp(): Promise<Member> {
  if (!redis.running) await redis.start();
  return waitFor(() => stack.signUp().catch(() => null), 15_000, 200);
}

async function loggedOutMember(): Promise<Member> {
  const member = await signUp();
  expect((await stack.gql(`mutation { logout }`, {}, member.accessToken)).data).toEqual({ logout: true });
  expectRevoked(await me(member.accessToken));
  return member;
}

describe('session revocation survives Redis', () => {
  it('When a member logs out (or changes the password) and Redis restarts empty, then the ended sessions stay refused and live ones work', async () => {
    const loggedOut = await loggedOutMember();
    const changer = await signUp();
    const otherDevice = await stack.login(changer.email);
    expect((await stack.gql(CHANGE_PASSWORD, { o: PASSWORD, n: 'N3w!password' }, changer.accessToken)).data).toEqual({
      changePassword: true,
    });
    expectRevoked(await me(otherDevice.accessToken));

    await redis.restart();
    // Asked at once: before the clients have even reconnected, and again once users has reseeded.
    expectRevoked(await me(loggedOut.accessToken));
    expectRevoked(await me(otherDevice.accessToken));
    await waitFor(async () => {
      const held = await cacheHolds(sessionOf(loggedOut.accessToken));
      return held.complete && held.revoked;
    });
    expect((await cacheHolds(sessionOf(otherDevice.accessToken))).revoked).toBe(true);
    expectRevoked(await me(loggedOut.accessToken));
    expectRevoked(await me(otherDevice.accessToken));

    const live = await signUp();
    expectAccepted(await me(live.accessToken), live);
  });

  it('While Redis is down, then a revoked token is refused, a live one works, and a password change still revokes at once', async () => {
    const loggedOut = await loggedOutMember();
    const live = await signUp();
    const secondDevice = await stack.login(live.email);
    await redis.stop();

    expectRevoked(await me(loggedOut.accessToken));
    expectAccepted(await me(live.accessToken), live);

    expect((await stack.gql(CHANGE_PASSWORD, { o: PASSWORD, n: 'An0ther!pass' }, live.accessToken)).data).toEqual({ changePassword: true });
    expectRevoked(await me(secondDevice.accessToken));
    // The token that made the change was seen live a moment ago; the router reuses that for at most 1 s.
    await waitFor(async () => reason(await me(live.accessToken)) === 'SESSION_REVOKED', 3_000, 100);
    expectRevoked(await me(live.accessToken));
  });

  it('While Redis hangs (SIGSTOP), then requests are still answered within a second: revoked refused, live accepted, and a logout still applies', async () => {
    const loggedOut = await loggedOutMember();
    const live = await signUp();
    const leaving = await signUp();
    redis.pause();
    try {
      expectRevoked(await within(1_000, me(loggedOut.accessToken)));
      expectAccepted(await within(1_000, me(live.accessToken)), live);
      expect((await within(1_000, stack.gql(`mutation { logout }`, {}, leaving.accessToken))).data).toEqual({ logout: true });
      // The logout's own request was seen live a moment ago; the router reuses that for at most 1 s.
      await waitFor(async () => reason(await within(1_000, me(leaving.accessToken))) === 'SESSION_REVOKED', 3_000, 100);
    } finally {
      redis.resume();
    }
    expectRevoked(await me(leaving.accessToken));
    expectAccepted(await me(live.accessToken), live);
  });

  it('While Redis and users are both down, then a token is refused with a retryable code, not accepted, and works again once they are back', async () => {
    const loggedOut = await loggedOutMember();
    const member = await signUp();
    await redis.stop();
    await stack.service('users').stop();

    const refused = await me(member.accessToken);
    expect(refused.status).toBe(503);
    expect(refused.data ?? null).toBeNull();
    expect(refused.errors?.[0]?.extensions).toMatchObject({
      code: 'UPSTREAM_UNAVAILABLE',
      retryable: true,
      reason: 'SESSION_CHECK_UNAVAILABLE',
    });
    expect(JSON.stringify(refused)).not.toMatch(/127\.0\.0\.1|localhost|internal\/sessions|ECONNREFUSED/);

    await redis.start();
    await stack.service('users').start();
    expectAccepted(await me(member.accessToken), member);
    expectRevoked(await me(loggedOut.accessToken));
  });
});
