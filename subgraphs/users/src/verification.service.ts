import { createHmac, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { AppError, FieldErrors, errors } from '@bth/platform/errors';
import type { Logger } from '@bth/platform/logger';
import type { Redis } from '@bth/platform/redis';
import type { Mailer } from './mailer.js';
import { checkEmail, normaliseEmail } from './validation.js';

/** Why these numbers: the original's 180 s code lifetime; 5 guesses of 10^6 leave a 0.0005 % chance. */
export const CODE_TTL_SECONDS = 180;
export const MAX_CODE_ATTEMPTS = 5;
export const RESEND_AFTER_SECONDS = 60;
/** The proof of verification must outlive a slow sign-up form, not a day. */
export const PROOF_TTL_SECONDS = 30 * 60;

export interface VerificationDeps {
  redis: Redis;
  mailer: Mailer;
  logger: Logger;
  /** Keys the code hash, so a leaked Redis dump cannot be brute-forced offline. */
  hashKey: string;
  /**
   * The HMAC blind index of a normalised address (the one `users.email_index` holds). It names
   * the Redis keys and is the proof's value, so Redis, like the database, never holds an address.
   */
  emailIndex: (email: string) => string;
  isRegistered: (email: string) => Promise<boolean>;
}

const keys = {
  code: (emailIndex: string) => `users:verify:code:${emailIndex}`,
  throttle: (emailIndex: string) => `users:verify:throttle:${emailIndex}`,
  proof: (token: string) => `users:verify:proof:${token}`,
};

/** Verification needs Redis (codes live only there); without it the honest answer is "try later". */
async function withRedis<T>(logger: Logger, operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    if (error instanceof AppError) throw error;
    logger.warn('verification store unavailable', { error: (error as Error).message });
    throw errors.upstream('E-mail verification');
  }
}

export function createVerificationService(deps: VerificationDeps) {
  const { redis, logger } = deps;
  const hashCode = (email: string, code: string) => createHmac('sha256', deps.hashKey).update(`${email}:${code}`).digest('hex');

  return {
    async request(rawEmail: string) {
      const email = normaliseEmail(rawEmail);
      const fieldErrors = checkEmail(new FieldErrors(), 'email', email);
      fieldErrors.throwIfAny();
      if (await deps.isRegistered(email)) throw errors.badInput([{ field: 'email', message: 'This e-mail is already registered' }]);
      const index = deps.emailIndex(email);
      return withRedis(logger, async () => {
        // SET NX is the throttle: only one request per address per minute gets through.
        const allowed = await redis.set(keys.throttle(index), '1', 'EX', RESEND_AFTER_SECONDS, 'NX');
        if (allowed !== 'OK') {
          const ttl = await redis.ttl(keys.throttle(index));
          throw new AppError('RATE_LIMITED', 'A code was sent recently; wait before asking again', {
            retryAfterSeconds: Math.max(ttl, 1),
          });
        }
        const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
        await redis.hset(keys.code(index), { hash: hashCode(email, code), attempts: 0 });
        await redis.expire(keys.code(index), CODE_TTL_SECONDS);
        try {
          await deps.mailer.sendVerificationCode(email, code, CODE_TTL_SECONDS);
        } catch (error) {
          // Nobody got this code: drop it and the throttle before answering, or the address would
          // stay blocked for a minute waiting for a mail that never comes. Retrying is then free.
          await redis.del(keys.throttle(index), keys.code(index));
          logger.warn('verification mail could not be sent', { error: (error as Error).message });
          throw errors.upstream('E-mail delivery');
        }
        return { email, expiresInSeconds: CODE_TTL_SECONDS, resendAfterSeconds: RESEND_AFTER_SECONDS };
      });
    },

    async verify(rawEmail: string, code: string) {
      const email = normaliseEmail(rawEmail);
      const wrong = () => errors.badInput([{ field: 'code', message: 'The code is wrong or has expired' }]);
      if (!/^\d{6}$/.test(code)) throw wrong();
      const index = deps.emailIndex(email);
      return withRedis(logger, async () => {
        const key = keys.code(index);
        // Count the attempt before comparing, atomically, so parallel guesses cannot exceed the limit.
        const attempts = await redis.hincrby(key, 'attempts', 1);
        const stored = await redis.hget(key, 'hash');
        if (!stored) {
          await redis.del(key);
          throw wrong();
        }
        if (attempts > MAX_CODE_ATTEMPTS) {
          await redis.del(key);
          throw errors.badInput([{ field: 'code', message: 'Too many wrong codes; request a new one' }]);
        }
        const matches = timingSafeEqual(Buffer.from(stored, 'hex'), Buffer.from(hashCode(email, code), 'hex'));
        if (!matches) throw wrong();
        // Consumed on success: DEL returns 1 for exactly one of two racing correct submissions.
        if ((await redis.del(key)) !== 1) throw wrong();
        const token = randomBytes(32).toString('base64url');
        await redis.set(keys.proof(token), index, 'EX', PROOF_TTL_SECONDS);
        return { verificationToken: token, expiresAt: new Date(Date.now() + PROOF_TTL_SECONDS * 1000) };
      });
    },

    /** True when `token` proves `email` was verified. Does not consume it (see `consumeProof`). */
    async proves(token: string, rawEmail: string): Promise<boolean> {
      if (!/^[\w-]{43}$/.test(token)) return false;
      const index = deps.emailIndex(normaliseEmail(rawEmail));
      return withRedis(logger, async () => (await redis.get(keys.proof(token))) === index);
    },

    /**
     * Deletes a proof once its account is created. Best effort, never throws: the account is
     * committed and its address taken, so a proof left behind cannot create another account (a
     * sign-up with it is refused as a taken e-mail) and expires on its own.
     */
    async consumeProof(token: string): Promise<void> {
      try {
        await redis.del(keys.proof(token));
      } catch (error) {
        logger.warn('could not delete a used verification proof; it expires on its own', { error: (error as Error).message });
      }
    },
  };
}

export type VerificationService = ReturnType<typeof createVerificationService>;
