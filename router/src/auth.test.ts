import { afterEach, describe, expect, it, vi } from 'vitest';
import { readIdentityAssertion, signAccessToken } from '@bth/platform/identity';
import { createAuthenticator } from './auth.js';

const ACCESS = 'access-secret-for-this-test-only-0123456789';
const INTERNAL = 'internal-secret-for-this-test-only-012345678';
const identity = { userId: 'u-1', role: 'USER' as const, sessionId: 's-1' };

function authenticator(verdict: 'LIVE' | 'REVOKED' = 'LIVE') {
  const asked: string[] = [];
  const authenticate = createAuthenticator({
    accessTokenSecret: ACCESS,
    internalSecret: INTERNAL,
    sessionVerdict: async (sessionId) => {
      asked.push(sessionId);
      return verdict;
    },
  });
  return { authenticate, asked };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('router authentication with remembered verifications and assertions', () => {
  it('When the same token comes again, then it is still checked for revocation each time, and the assertion is valid for subgraphs', async () => {
    const { authenticate, asked } = authenticator();
    const token = await signAccessToken(ACCESS, identity, 60);
    const first = await authenticate(`Bearer ${token}`, 'r1');
    const second = await authenticate(`Bearer ${token}`, 'r2');
    expect(asked).toEqual(['s-1', 's-1']);
    expect(second.identity).toEqual(identity);
    expect(await readIdentityAssertion(INTERNAL, first.assertion!)).toEqual(identity);
  });

  it('When a token that was accepted before expires, then it is refused as expired; a tampered copy is refused at once', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const { authenticate } = authenticator();
    const token = await signAccessToken(ACCESS, identity, 30);
    await authenticate(`Bearer ${token}`, 'r1');
    const tampered = `${token.slice(0, -3)}${token.endsWith('A') ? 'BBB' : 'AAA'}`;
    await expect(authenticate(`Bearer ${tampered}`, 'r2')).rejects.toMatchObject({
      extensions: { code: 'UNAUTHENTICATED', reason: 'TOKEN_INVALID' },
    });
    vi.setSystemTime(Date.now() + 31_000);
    await expect(authenticate(`Bearer ${token}`, 'r3')).rejects.toMatchObject({
      extensions: { code: 'UNAUTHENTICATED', reason: 'TOKEN_EXPIRED' },
    });
  });

  it('When the session was revoked, then a token accepted a moment ago is refused', async () => {
    const token = await signAccessToken(ACCESS, identity, 60);
    let verdict: 'LIVE' | 'REVOKED' = 'LIVE';
    const authenticate = createAuthenticator({ accessTokenSecret: ACCESS, internalSecret: INTERNAL, sessionVerdict: async () => verdict });
    await authenticate(`Bearer ${token}`, 'r1');
    verdict = 'REVOKED';
    await expect(authenticate(`Bearer ${token}`, 'r2')).rejects.toMatchObject({
      extensions: { code: 'UNAUTHENTICATED', reason: 'SESSION_REVOKED' },
    });
  });

  it('When an assertion has been reused for a while, then a fresh one is signed before it could expire under a request', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const { authenticate } = authenticator();
    const token = await signAccessToken(ACCESS, identity, 600);
    const first = (await authenticate(`Bearer ${token}`, 'r1')).assertion!;
    expect((await authenticate(`Bearer ${token}`, 'r2')).assertion).toBe(first);
    vi.setSystemTime(Date.now() + 16_000);
    const renewed = (await authenticate(`Bearer ${token}`, 'r3')).assertion!;
    expect(renewed).not.toBe(first);
    vi.setSystemTime(Date.now() + 40_000);
    expect(await readIdentityAssertion(INTERNAL, renewed)).toEqual(identity);
  });
});
