import { randomUUID } from 'node:crypto';
import type { FieldCipher } from '@bth/platform/crypto';
import { AppError, FieldErrors, errors } from '@bth/platform/errors';
import { ACCESS_TOKEN_TTL_SECONDS, signAccessToken, signRefreshToken, verifyRefreshToken, type Identity } from '@bth/platform/identity';
import type { Logger } from '@bth/platform/logger';
import type { Redis } from '@bth/platform/redis';
import { DUMMY_PASSWORD_HASH, hashPassword, sha256, verifyPassword } from './crypto.js';
import type { RevocationCache } from './revocations.js';
import type { UsersRepository } from './users.repository.js';
import type { VerificationService } from './verification.service.js';
import { checkPassword, normaliseEmail, validateSignUp, type SignUpInput } from './validation.js';
import type { UserRow } from './db/schema.js';

export { ACCESS_TOKEN_TTL_SECONDS };
export const REFRESH_TOKEN_TTL_SECONDS = 14 * 24 * 60 * 60;
/** 5 wrong passwords per e-mail in 15 minutes, then wait: slows guessing, barely bothers a person. */
export const LOGIN_MAX_FAILURES = 5;
export const LOGIN_WINDOW_SECONDS = 15 * 60;

export interface AuthDeps {
  repository: UsersRepository;
  verification: VerificationService;
  cipher: FieldCipher;
  redis: Redis;
  logger: Logger;
  revocations: RevocationCache;
  accessTokenSecret: string;
  now?: () => Date;
}

export interface AuthTokens {
  accessToken: string;
  accessTokenExpiresAt: Date;
  refreshToken: string;
  refreshTokenExpiresAt: Date;
  user: UserRow;
}

export function createAuthService(deps: AuthDeps) {
  const { repository, cipher, redis, logger } = deps;
  const now = deps.now ?? (() => new Date());
  const failureKey = (emailIndex: string) => `users:login-failures:${emailIndex}`;

  async function issueTokens(user: UserRow, sessionId: string, tokenId: string): Promise<Omit<AuthTokens, 'user'>> {
    const issued = now().getTime();
    const identity: Identity = { userId: user.id, role: user.role, sessionId };
    return {
      accessToken: await signAccessToken(deps.accessTokenSecret, identity, ACCESS_TOKEN_TTL_SECONDS),
      accessTokenExpiresAt: new Date(issued + ACCESS_TOKEN_TTL_SECONDS * 1000),
      refreshToken: await signRefreshToken(deps.accessTokenSecret, { userId: user.id, sessionId, tokenId }, REFRESH_TOKEN_TTL_SECONDS),
      refreshTokenExpiresAt: new Date(issued + REFRESH_TOKEN_TTL_SECONDS * 1000),
    };
  }

  /**
   * Counts a login attempt *before* its password is checked; returns the count and the seconds
   * left in the window. INCR is atomic, so of N parallel guesses only LOGIN_MAX_FAILURES get a
   * count within the limit (a check-then-count lets every parallel guess through). The expiry is
   * set in the same MULTI, so no failure between two calls can leave a counter that never expires
   * (a permanent lock-out); NX makes the window start at the first attempt, not extend with later
   * ones, and gives an expiry to a counter found without one. Best effort: with Redis down we
   * still log people in (and log it).
   */
  async function countAttempt(emailIndex: string): Promise<{ count: number; ttl: number }> {
    const key = failureKey(emailIndex);
    try {
      const replies = await redis.multi().incr(key).expire(key, LOGIN_WINDOW_SECONDS, 'NX').ttl(key).exec();
      const [count, , ttl] = (replies ?? []).map(([error, value]) => {
        if (error) throw error;
        return Number(value);
      });
      if (count === undefined || ttl === undefined) throw new Error('login throttle transaction was aborted');
      return { count, ttl };
    } catch (error) {
      logger.warn('login throttle unavailable', { error: (error as Error).message });
      return { count: 0, ttl: -1 };
    }
  }

  /**
   * Tells the router that access tokens of these sessions are dead, so logout and a password
   * change take effect at once rather than when the 15-minute access token expires. Called after
   * the MariaDB revocation (the truth, which also stops refresh) has committed; see revocations.ts.
   */
  const announceRevoked = (sessionIds: string[]) => deps.revocations.announce(sessionIds);

  return {
    async signUp(input: SignUpInput): Promise<UserRow> {
      const fieldErrors = validateSignUp(input);
      const email = normaliseEmail(input.email);
      if (fieldErrors.list.length === 0 && !(await deps.verification.proves(input.verificationToken, email))) {
        fieldErrors.add('verificationToken', 'Verify this e-mail address first');
      }
      fieldErrors.throwIfAny();
      const at = now();
      const row: UserRow = {
        id: randomUUID(),
        emailIndex: cipher.blindIndex(email),
        emailEnc: cipher.encrypt(email),
        passwordHash: await hashPassword(input.password),
        nameEnc: cipher.encrypt(input.name.trim()),
        nickname: input.nickname.trim(),
        phoneEnc: cipher.encrypt(input.phone),
        postalCodeEnc: cipher.encrypt(input.postalCode),
        addressEnc: cipher.encrypt(input.address.trim()),
        role: 'USER',
        createdAt: at,
        updatedAt: at,
      };
      const result = await repository.insertUser(row);
      if (!result.ok) throw errors.badInput([{ field: 'email', message: 'This e-mail is already registered' }]);
      // Never throws: the account is committed, so an error now would report a failure for it.
      await deps.verification.consumeProof(input.verificationToken);
      logger.info('user signed up', { userId: row.id });
      return row;
    },

    async login(rawEmail: string, password: string): Promise<AuthTokens> {
      const email = normaliseEmail(rawEmail);
      const emailIndex = cipher.blindIndex(email);
      const attempt = await countAttempt(emailIndex);
      if (attempt.count > LOGIN_MAX_FAILURES) {
        throw new AppError('LOGIN_THROTTLED', 'Too many failed logins; try again later', {
          retryAfterSeconds: Math.max(attempt.ttl, 1),
        });
      }
      const user = await repository.findByEmailIndex(emailIndex);
      // Hash even when the user does not exist, so response time does not reveal registered e-mails.
      const valid = await verifyPassword(password, user?.passwordHash ?? DUMMY_PASSWORD_HASH);
      // A failure keeps its count; a success clears the count, its own attempt included.
      if (!user || !valid) throw new AppError('UNAUTHENTICATED', 'The e-mail or password is wrong', { reason: 'BAD_CREDENTIALS' });
      await redis.del(failureKey(emailIndex)).catch(() => undefined);
      const sessionId = randomUUID();
      const tokenId = randomUUID();
      const tokens = await issueTokens(user, sessionId, tokenId);
      const at = now();
      await repository.createSession(
        { id: sessionId, userId: user.id, createdAt: at, expiresAt: tokens.refreshTokenExpiresAt },
        { id: tokenId, sessionId, tokenHash: sha256(tokens.refreshToken), createdAt: at },
      );
      return { ...tokens, user };
    },

    /**
     * Rotating refresh. Presenting a token that was already rotated means it leaked (or the
     * client replayed it): the whole session family is revoked, so the thief's copy dies too.
     */
    async refresh(refreshToken: string): Promise<AuthTokens> {
      const claims = await verifyRefreshToken(deps.accessTokenSecret, refreshToken);
      const refused = () => new AppError('UNAUTHENTICATED', 'The refresh token is invalid or has been used', { reason: 'REFRESH_INVALID' });
      const [session, stored] = await Promise.all([repository.findSession(claims.sessionId), repository.findRefreshToken(claims.tokenId)]);
      const at = now();
      if (!session || session.revokedAt || session.expiresAt <= at || session.userId !== claims.userId) throw refused();
      if (!stored || stored.sessionId !== session.id || stored.tokenHash !== sha256(refreshToken)) throw refused();
      if (stored.usedAt) {
        await repository.revokeSession(session.id, at);
        await announceRevoked([session.id]);
        logger.warn('refresh token reuse detected; session revoked', { userId: session.userId, sessionId: session.id });
        throw refused();
      }
      const user = await repository.findById(session.userId);
      if (!user) throw refused();
      const nextId = randomUUID();
      const tokens = await issueTokens(user, session.id, nextId);
      // The session slides to the successor's expiry, so it lives 14 days from its last refresh
      // and never ends before the refresh token it has just been promised.
      const rotated = await repository.rotateRefreshToken(
        stored.id,
        { id: nextId, sessionId: session.id, tokenHash: sha256(tokens.refreshToken), createdAt: at },
        at,
        tokens.refreshTokenExpiresAt,
      );
      if (!rotated) {
        // Lost a race with another refresh of the same token: that is reuse too.
        await repository.revokeSession(session.id, at);
        await announceRevoked([session.id]);
        throw refused();
      }
      return { ...tokens, user };
    },

    async logout(identity: Identity): Promise<void> {
      await repository.revokeSession(identity.sessionId, now());
      await announceRevoked([identity.sessionId]);
    },

    async changePassword(identity: Identity, oldPassword: string, newPassword: string): Promise<void> {
      const fieldErrors = checkPassword(new FieldErrors(), 'newPassword', newPassword);
      fieldErrors.check(newPassword !== oldPassword, 'newPassword', 'The new password must differ from the old one');
      const user = await repository.findById(identity.userId);
      if (!user) throw errors.unauthenticated();
      if (!(await verifyPassword(oldPassword, user.passwordHash))) fieldErrors.add('oldPassword', 'The current password is wrong');
      fieldErrors.throwIfAny();
      const revoked = await repository.changePasswordAndRevokeSessions(user.id, await hashPassword(newPassword), now());
      await announceRevoked(revoked);
    },
  };
}

export type AuthService = ReturnType<typeof createAuthService>;
