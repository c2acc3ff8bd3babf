import { AsyncLocalStorage } from 'node:async_hooks';
import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import { webcrypto } from 'node:crypto';
import { AppError } from './errors.js';

/**
 * Identity, end to end:
 *
 *   client ──Authorization: Bearer <access token>──▶ router
 *   router ──x-bth-identity: <identity assertion>──▶ subgraph
 *   orders ──authorization: Bearer <service token>──▶ products (internal inventory API)
 *
 * The access token is signed by `users` with ACCESS_TOKEN_SECRET and verified by the router only.
 * The router then signs a short-lived identity assertion with INTERNAL_JWT_SECRET; subgraphs trust
 * nothing else. A request sent straight to a subgraph with a made-up `x-user-id` (or a user's own
 * access token in place of the assertion) therefore carries no identity at all.
 */
export type Role = 'USER' | 'ADMIN';
export interface Identity {
  userId: string;
  role: Role;
  sessionId: string;
}

const ISSUER_USERS = 'bth-users';
const AUDIENCE_API = 'bth-api';
const ISSUER_ROUTER = 'bth-router';
const AUDIENCE_SUBGRAPH = 'bth-subgraph';
const ISSUER_SERVICE = 'bth-service';
/** Only HMAC-SHA256 is ever accepted: `alg: none` and algorithm swaps fail verification. */
const ALGORITHMS = ['HS256'];

export const IDENTITY_HEADER = 'x-bth-identity';
export const REQUEST_ID_HEADER = 'x-request-id';

/**
 * The id of the request being served, for the calls it makes to other services: the replica
 * client sends it on as x-request-id by itself, and a plain fetch adds `requestIdHeader()`, so one
 * id names a request in every service's log lines (orders → inventory, wishlists → orders, events →
 * products), as it already did from the router. Set by platform http for each request it serves.
 */
const servedRequest = new AsyncLocalStorage<string>();
export const runWithRequestId = <T>(requestId: string, work: () => T): T => servedRequest.run(requestId, work);
export const currentRequestId = (): string | undefined => servedRequest.getStore();
/** `{ 'x-request-id': id }` while serving a request, else `{}`: for calls that do not go through the replica client. */
export const requestIdHeader = (): Record<string, string> => {
  const id = servedRequest.getStore();
  return id ? { [REQUEST_ID_HEADER]: id } : {};
};

/**
 * One imported HMAC key per secret. Handing jose the raw bytes makes it import a CryptoKey on every
 * sign and verify (a WebCrypto import per request, in every service); an imported key is reused.
 */
const keys = new Map<string, Promise<webcrypto.CryptoKey>>();
function key(secret: string): Promise<webcrypto.CryptoKey> {
  let k = keys.get(secret);
  if (!k) {
    k = webcrypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
    keys.set(secret, k);
  }
  return k;
}

function isRole(value: unknown): value is Role {
  return value === 'USER' || value === 'ADMIN';
}

export async function signAccessToken(secret: string, identity: Identity, ttlSeconds: number): Promise<string> {
  return new SignJWT({ role: identity.role, sid: identity.sessionId, token_use: 'access' })
    .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' })
    .setSubject(identity.userId)
    .setIssuer(ISSUER_USERS)
    .setAudience(AUDIENCE_API)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds)
    .sign(await key(secret));
}

/** Refresh tokens are JWTs too (so they carry session and family), but can never pass as access tokens. */
export async function signRefreshToken(
  secret: string,
  claims: { userId: string; sessionId: string; tokenId: string },
  ttlSeconds: number,
): Promise<string> {
  return new SignJWT({ sid: claims.sessionId, token_use: 'refresh' })
    .setProtectedHeader({ alg: 'HS256', typ: 'rt+jwt' })
    .setSubject(claims.userId)
    .setJti(claims.tokenId)
    .setIssuer(ISSUER_USERS)
    .setAudience(AUDIENCE_API)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds)
    .sign(await key(secret));
}

function invalidToken(error: unknown): AppError {
  const expired = error instanceof joseErrors.JWTExpired;
  return new AppError('UNAUTHENTICATED', expired ? 'The access token has expired' : 'The access token is invalid', {
    reason: expired ? 'TOKEN_EXPIRED' : 'TOKEN_INVALID',
  });
}

/** Verifies a user access token; throws UNAUTHENTICATED for anything else (expired, tampered, refresh token, `alg: none`). */
export async function verifyAccessToken(secret: string, token: string): Promise<Identity> {
  try {
    const { payload } = await jwtVerify(token, await key(secret), {
      algorithms: ALGORITHMS,
      issuer: ISSUER_USERS,
      audience: AUDIENCE_API,
      typ: 'at+jwt',
    });
    if (payload.token_use !== 'access' || !payload.sub || typeof payload.sid !== 'string' || !isRole(payload.role)) {
      throw new Error('not an access token');
    }
    return { userId: payload.sub, role: payload.role, sessionId: payload.sid };
  } catch (error) {
    throw invalidToken(error);
  }
}

export async function verifyRefreshToken(secret: string, token: string): Promise<{ userId: string; sessionId: string; tokenId: string }> {
  try {
    const { payload } = await jwtVerify(token, await key(secret), {
      algorithms: ALGORITHMS,
      issuer: ISSUER_USERS,
      audience: AUDIENCE_API,
      typ: 'rt+jwt',
    });
    if (payload.token_use !== 'refresh' || !payload.sub || typeof payload.sid !== 'string' || !payload.jti) {
      throw new Error('not a refresh token');
    }
    return { userId: payload.sub, sessionId: payload.sid, tokenId: payload.jti };
  } catch {
    throw new AppError('UNAUTHENTICATED', 'The refresh token is invalid or has been used', { reason: 'REFRESH_INVALID' });
  }
}

/** Router → subgraph. Short-lived: it only has to survive one subgraph fetch. */
export async function signIdentityAssertion(secret: string, identity: Identity): Promise<string> {
  return new SignJWT({ role: identity.role, sid: identity.sessionId })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(identity.userId)
    .setIssuer(ISSUER_ROUTER)
    .setAudience(AUDIENCE_SUBGRAPH)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + 60)
    .sign(await key(secret));
}

/** Subgraph side: a missing or invalid assertion means "anonymous", never an error. */
export async function readIdentityAssertion(secret: string, header: string | undefined): Promise<Identity | null> {
  if (!header) return null;
  try {
    const { payload } = await jwtVerify(header, await key(secret), {
      algorithms: ALGORITHMS,
      issuer: ISSUER_ROUTER,
      audience: AUDIENCE_SUBGRAPH,
    });
    if (!payload.sub || typeof payload.sid !== 'string' || !isRole(payload.role)) return null;
    return { userId: payload.sub, role: payload.role, sessionId: payload.sid };
  } catch {
    return null;
  }
}

/** Service-to-service credentials for internal endpoints (e.g. orders → inventory). */
export async function signServiceToken(secret: string, service: string, audience: string): Promise<string> {
  return new SignJWT({ svc: service })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(`service:${service}`)
    .setIssuer(ISSUER_SERVICE)
    .setAudience(audience)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + 300)
    .sign(await key(secret));
}

/** Returns the calling service's name, or null when the token is missing or not valid for `audience`. */
export async function verifyServiceToken(secret: string, authorization: string | undefined, audience: string): Promise<string | null> {
  const token = authorization?.startsWith('Bearer ') ? authorization.slice(7) : undefined;
  if (!token) return null;
  try {
    const { payload } = await jwtVerify(token, await key(secret), { algorithms: ALGORITHMS, issuer: ISSUER_SERVICE, audience });
    return typeof payload.svc === 'string' ? payload.svc : null;
  } catch {
    return null;
  }
}

/** Caches a service token and renews it well before it expires (signing per call is wasted work). */
export function serviceTokenSource(secret: string, service: string, audience: string): () => Promise<string> {
  let token: string | undefined;
  let renewAt = 0;
  return async () => {
    if (!token || Date.now() > renewAt) {
      token = await signServiceToken(secret, service, audience);
      renewAt = Date.now() + 240_000;
    }
    return token;
  };
}

/** Resolver guards. Admin checks live in the subgraph that owns the operation (principle 5). */
export function requireUser(identity: Identity | null): Identity {
  if (!identity) throw new AppError('UNAUTHENTICATED', 'Sign in to do this');
  return identity;
}

export function requireAdmin(identity: Identity | null): Identity {
  const user = requireUser(identity);
  if (user.role !== 'ADMIN') throw new AppError('FORBIDDEN', 'Only an administrator can do this');
  return user;
}

/**
 * Revoked sessions. Their source of truth is `users`' MariaDB (`sessions.revoked_at`); Redis only
 * caches them for the router. `users` writes one key per revoked session on logout, password
 * change and token reuse, kept only as long as an access token can live (after that the token has
 * expired anyway).
 */
export const revokedSessionKey = (sessionId: string) => `session-revoked:${sessionId}`;

/** How long an access token lives: short, because only revocation ends it sooner. Also how long a revocation matters. */
export const ACCESS_TOKEN_TTL_SECONDS = 15 * 60;

/**
 * The "cache is complete" marker. `users` writes it (value: epoch ms when the cache became
 * complete) only after it has copied every revocation still relevant from MariaDB into Redis, on
 * start and after every Redis reconnect. An empty Redis (restarted, flushed) has no marker, so the
 * router can tell "not revoked" from "Redis does not know" and asks `users` in the second case.
 */
export const REVOCATIONS_COMPLETE_KEY = 'session-revoked:complete-since';

/** The internal session-status API of `users` (docs/internal-apis.md): service-token audience and path. */
export const SESSIONS_AUDIENCE = 'sessions';
export const SESSIONS_STATUS_PATH = '/internal/sessions/status';
/** What `users` answers per session id: UNKNOWN means no such session was ever stored. */
export type SessionStatus = 'LIVE' | 'REVOKED' | 'UNKNOWN';
