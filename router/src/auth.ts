import { AppError, bestEffort, revokedSessionKey, signIdentityAssertion, verifyAccessToken, type Identity, type Logger, type Redis } from '@bth/platform';

/**
 * Turns the `Authorization` header into an identity and the assertion subgraphs trust.
 * No header → anonymous. A header that is present but not a valid, unexpired access token of a
 * live session → UNAUTHENTICATED: a client holding a bad token should learn it, not silently
 * browse as a guest.
 */
export interface RequestIdentity {
  identity: Identity | null;
  /** Signed once per incoming request and reused for every subgraph fetch it causes. */
  assertion: string | null;
}

export function createAuthenticator(deps: { accessTokenSecret: string; internalSecret: string; redis: Redis; logger: Logger }) {
  return async function authenticate(authorization: string | undefined): Promise<RequestIdentity> {
    if (!authorization) return { identity: null, assertion: null };
    const match = /^Bearer ([A-Za-z0-9_\-.]+)$/.exec(authorization.trim());
    if (!match) throw new AppError('UNAUTHENTICATED', 'The Authorization header must be "Bearer <access token>"', { reason: 'TOKEN_INVALID' });
    const identity = await verifyAccessToken(deps.accessTokenSecret, match[1]!);
    // Logout and password change revoke sessions before their access tokens expire. If Redis is
    // unreachable we accept the token (it still expires within 15 minutes) rather than fail everyone.
    const revoked = await bestEffort(deps.logger, 'revocation check', () => deps.redis.exists(revokedSessionKey(identity.sessionId)), 0);
    if (revoked) throw new AppError('UNAUTHENTICATED', 'This session has ended; sign in again', { reason: 'SESSION_REVOKED' });
    return { identity, assertion: await signIdentityAssertion(deps.internalSecret, identity) };
  };
}
