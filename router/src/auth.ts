import { AppError } from '@bth/platform/errors';
import { signIdentityAssertion, verifyAccessToken, type Identity } from '@bth/platform/identity';
import type { Verdict } from './revocation.js';

/**
 * Turns the `Authorization` header into an identity and the assertion subgraphs trust.
 * No header → anonymous. A header that is present but not a valid, unexpired access token of a
 * live session → UNAUTHENTICATED: a client holding a bad token should learn it, not silently
 * browse as a guest.
 */
export interface RequestIdentity {
  identity: Identity | null;
  /** Reused for every subgraph fetch the request causes (and, for a few seconds, by the same identity's next requests). */
  assertion: string | null;
}

/**
 * An assertion lives 60 s (signIdentityAssertion); reusing one for 15 s leaves it at least 45 s,
 * three times the default request budget, so it never expires while a request still uses it.
 */
const ASSERTION_REUSE_MS = 15_000;
/** Bounds the cache (an entry is ~400 bytes); past it the oldest go first. */
const ASSERTION_CACHE_MAX = 20_000;

/**
 * One signed assertion per identity, reused for a few seconds: signing (HMAC over a fresh JWT)
 * on every request is wasted work, and a stable assertion lets identical concurrent queries of one
 * caller share a subgraph fetch (dedupe.ts keys on it).
 */
function assertionCache(secret: string) {
  const cache = new Map<string, { assertion: string; until: number }>();
  return async (identity: Identity): Promise<string> => {
    const key = `${identity.userId}\n${identity.role}\n${identity.sessionId}`;
    const now = Date.now();
    const hit = cache.get(key);
    if (hit && hit.until > now) return hit.assertion;
    const assertion = await signIdentityAssertion(secret, identity);
    cache.delete(key);
    cache.set(key, { assertion, until: now + ASSERTION_REUSE_MS });
    if (cache.size > ASSERTION_CACHE_MAX) cache.delete(cache.keys().next().value!);
    return assertion;
  };
}

/** Bounds the verified-token cache (an entry is ~600 bytes); past it the oldest go first. */
const VERIFIED_CACHE_MAX = 20_000;

/**
 * Verified access tokens, remembered until they expire: a token is immutable, so once its
 * signature and claims have checked out, checking them again on the same string proves nothing
 * new. Any other string (a tampered one included) is verified in full. Revocation is not cached
 * here: it is asked on every request.
 */
function verifiedTokens(secret: string) {
  const cache = new Map<string, { identity: Identity; expiresAt: number }>();
  return async (token: string): Promise<Identity> => {
    const hit = cache.get(token);
    if (hit && hit.expiresAt > Date.now()) return hit.identity;
    if (hit) cache.delete(token);
    const identity = await verifyAccessToken(secret, token);
    // Verified just now, so the payload is well-formed JSON with a numeric `exp` (jose checked it).
    const { exp } = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { exp?: number };
    if (typeof exp === 'number') {
      cache.set(token, { identity, expiresAt: exp * 1000 });
      if (cache.size > VERIFIED_CACHE_MAX) cache.delete(cache.keys().next().value!);
    }
    return identity;
  };
}

export function createAuthenticator(deps: {
  accessTokenSecret: string;
  internalSecret: string;
  /** Logout and password change revoke sessions before their access tokens expire (see revocation.ts). */
  sessionVerdict: (sessionId: string, requestId: string) => Promise<Verdict>;
}) {
  const assertionFor = assertionCache(deps.internalSecret);
  const verify = verifiedTokens(deps.accessTokenSecret);
  return async function authenticate(authorization: string | undefined, requestId: string): Promise<RequestIdentity> {
    if (!authorization) return { identity: null, assertion: null };
    const match = /^Bearer ([A-Za-z0-9_\-.]+)$/.exec(authorization.trim());
    if (!match)
      throw new AppError('UNAUTHENTICATED', 'The Authorization header must be "Bearer <access token>"', { reason: 'TOKEN_INVALID' });
    const identity = await verify(match[1]!);
    if ((await deps.sessionVerdict(identity.sessionId, requestId)) === 'REVOKED') {
      throw new AppError('UNAUTHENTICATED', 'This session has ended; sign in again', { reason: 'SESSION_REVOKED' });
    }
    return { identity, assertion: await assertionFor(identity) };
  };
}
