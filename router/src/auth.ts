import { AppError, signIdentityAssertion, verifyAccessToken, type Identity } from '@bth/platform';
import type { Verdict } from './revocation.js';

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

export function createAuthenticator(deps: {
  accessTokenSecret: string;
  internalSecret: string;
  /** Logout and password change revoke sessions before their access tokens expire (see revocation.ts). */
  sessionVerdict: (sessionId: string, requestId: string) => Promise<Verdict>;
}) {
  return async function authenticate(authorization: string | undefined, requestId: string): Promise<RequestIdentity> {
    if (!authorization) return { identity: null, assertion: null };
    const match = /^Bearer ([A-Za-z0-9_\-.]+)$/.exec(authorization.trim());
    if (!match) throw new AppError('UNAUTHENTICATED', 'The Authorization header must be "Bearer <access token>"', { reason: 'TOKEN_INVALID' });
    const identity = await verifyAccessToken(deps.accessTokenSecret, match[1]!);
    if ((await deps.sessionVerdict(identity.sessionId, requestId)) === 'REVOKED') {
      throw new AppError('UNAUTHENTICATED', 'This session has ended; sign in again', { reason: 'SESSION_REVOKED' });
    }
    return { identity, assertion: await signIdentityAssertion(deps.internalSecret, identity) };
  };
}
