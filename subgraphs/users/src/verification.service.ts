import { createHmac, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { AppError, FieldErrors, errors, type Logger, type Redis } from '@bth/platform';
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
  isRegistered: (email: string) => Promise<boolean>;
}

const keys = {
  code: (email: string) => `users:verify:code:${email}`,
  throttle: (email: string) => `users:verify:throttle:${email}`,
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
      return withRedis(logger, async () => {
        // SET NX is the throttle: only one request per address per minute gets through.
        const allowed = await redis.set(keys.throttle(email), '1', 'EX', RESEND_AFTER_SECONDS, 'NX');
        if (allowed !== 'OK') {
          const ttl = await redis.ttl(keys.throttle(email));
          throw new AppError('RATE_LIMITED', 'A code was sent recently; wait before asking again', {
            retryAfterSeconds: Math.max(ttl, 1),
          });
        }
        const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
        await redis.hset(keys.code(email), { hash: hashCode(email, code), attempts: 0 });
        await redis.expire(keys.code(email), CODE_TTL_SECONDS);
        await deps.mailer.sendVerificationCode(email, code, CODE_TTL_SECONDS);
        return { email, expiresInSeconds: CODE_TTL_SECONDS, resendAfterSeconds: RESEND_AFTER_SECONDS };
      });
    },

    async verify(rawEmail: string, code: string) {
      const email = normaliseEmail(rawEmail);
      const wrong = () => errors.badInput([{ field: 'code', message: 'The code is wrong or has expired' }]);
      if (!/^\d{6}$/.test(code)) throw wrong();
      return withRedis(logger, async () => {
        const key = keys.code(email);
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
        await redis.set(keys.proof(token), email, 'EX', PROOF_TTL_SECONDS);
        return { verificationToken: token, expiresAt: new Date(Date.now() + PROOF_TTL_SECONDS * 1000) };
      });
    },

    /** True when `token` proves `email` was verified. Does not consume it (see `consumeProof`). */
    async proves(token: string, rawEmail: string): Promise<boolean> {
      if (!/^[\w-]{43}$/.test(token)) return false;
      return withRedis(logger, async () => (await redis.get(keys.proof(token))) === normaliseEmail(rawEmail));
    },

    async consumeProof(token: string): Promise<void> {
      await withRedis(logger, () => redis.del(keys.proof(token)));
    },
  };
}

export type VerificationService = ReturnType<typeof createVerificationService>;
