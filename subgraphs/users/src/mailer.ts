import nodemailer from 'nodemailer';
import type { Logger, Redis } from '@bth/platform';

/** Sends the e-mail verification code. SMTP in production; a readable dev mailbox locally. */
export interface Mailer {
  sendVerificationCode(email: string, code: string, ttlSeconds: number): Promise<void>;
  /** Development only: the last code sent to an address (null when none or not a dev mailbox). */
  lastCode?(email: string): Promise<string | null>;
}

export function createSmtpMailer(smtpUrl: string, from: string): Mailer {
  const transport = nodemailer.createTransport(smtpUrl);
  return {
    async sendVerificationCode(email, code, ttlSeconds) {
      await transport.sendMail({
        from,
        to: email,
        subject: 'Your BooTakHae verification code',
        text: `Your verification code is ${code}. It expires in ${Math.round(ttlSeconds / 60)} minutes.`,
      });
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
