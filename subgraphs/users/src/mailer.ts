import nodemailer from 'nodemailer';
import type { Logger } from '@bth/platform/logger';
import type { Redis } from '@bth/platform/redis';

/** Sends the e-mail verification code. SMTP in production; a readable dev mailbox locally. */
export interface Mailer {
  sendVerificationCode(email: string, code: string, ttlSeconds: number): Promise<void>;
  /** Development only: the last code sent to an address (null when none or not a dev mailbox). */
  lastCode?(email: string): Promise<string | null>;
}

/**
 * Sends by SMTP. Each phase of the SMTP dialogue (connect, greeting, every later reply) and the
 * whole send are bounded by `timeoutMs`: nodemailer's defaults (2 min to connect, 30 s for the
 * greeting, 10 min of socket silence) would hold a member's request, and a router worker, for
 * minutes when the relay hangs. A send cut off this way is an ordinary failure: the caller drops
 * the code and answers a retryable UPSTREAM_UNAVAILABLE.
 */
export function createSmtpMailer(smtpUrl: string, from: string, timeoutMs: number): Mailer {
  const transport = nodemailer.createTransport(smtpUrl, {
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
  });
  return {
    async sendVerificationCode(email, code, ttlSeconds) {
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`SMTP send took longer than ${timeoutMs} ms`)), timeoutMs);
      });
      try {
        await Promise.race([
          transport.sendMail({
            from,
            to: email,
            subject: 'Your BooTakHae verification code',
            text: `Your verification code is ${code}. It expires in ${Math.round(ttlSeconds / 60)} minutes.`,
          }),
          deadline,
        ]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/**
 * Development mailbox: nothing is sent. The code is logged and kept in Redis (so any replica can
 * answer `GET /dev/mailbox?email=`). Never used when NODE_ENV=production (env.ts refuses it).
 */
export function createDevMailbox(redis: Redis, logger: Logger): Mailer {
  const key = (email: string) => `users:dev-mailbox:${email}`;
  return {
    async sendVerificationCode(email, code, ttlSeconds) {
      await redis.set(key(email), code, 'EX', ttlSeconds);
      logger.info('dev mailbox: verification code', { email, code });
    },
    async lastCode(email) {
      return redis.get(key(email));
    },
  };
}
