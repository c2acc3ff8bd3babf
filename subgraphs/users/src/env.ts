import { assertProductionSecrets, devDefault, envBool, envFragments, loadEnv, refuseEnvironment, z } from '@bth/platform/env';

/**
 * Every variable the users service reads, with its default. Exported (not read at import) so the
 * compose and Kubernetes manifest tests check what a deployment sets against this one list.
 */
export const envSchema = {
  ...envFragments.base,
  ...envFragments.port(4001),
  ...envFragments.mysql('bth_users'),
  ...envFragments.redis,
  ...envFragments.internalAuth,
  ...envFragments.accessToken,
  // AES-256-GCM key for personal data at rest: 32 bytes, base64. The default is for local use only.
  DATA_ENCRYPTION_KEY: z.base64().default(devDefault('ZGV2LW9ubHktZGF0YS1rZXktMzItYnl0ZXMtbG9uZyE=')),
  // HMAC key for the e-mail blind index (lookup without decrypting every row). Local default only.
  BLIND_INDEX_KEY: z.string().min(32).default(devDefault('dev-only-blind-index-key-0123456789abcdef')),
  SMTP_URL: z.url().optional(),
  // A relay answers each step of the dialogue in well under a second; 5 s bounds how long a member
  // waits for "code sent" (and holds a request) when the relay hangs, then the answer is retryable.
  SMTP_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5_000),
  MAIL_FROM: z.string().default('BooTakHae <no-reply@bootakhae.local>'),
  // Development mailbox: logs codes and lets a developer read the last one. Refused in production.
  DEV_MAILBOX: envBool.optional(),
};

/** Refused in production while unset or holding a public development default. */
export const productionSecrets = ['INTERNAL_JWT_SECRET', 'ACCESS_TOKEN_SECRET', 'DATA_ENCRYPTION_KEY', 'BLIND_INDEX_KEY'] as const;

/** Parsed once in `index.ts`; everything else receives the typed `UsersEnv`. */
export function readEnv() {
  const env = loadEnv(envSchema);
  assertProductionSecrets(env, [...productionSecrets]);
  if (env.NODE_ENV === 'production') {
    // The dev mailbox hands every code to anyone who asks (`GET /dev/mailbox`, no sign-in) and logs
    // it: in production anyone could verify any address. Codes must leave by SMTP there.
    refuseEnvironment([
      ...(env.DEV_MAILBOX === true ? ['DEV_MAILBOX: the development mailbox is refused in production'] : []),
      ...(env.SMTP_URL ? [] : ['SMTP_URL: must be set in production (verification codes are sent by SMTP)']),
    ]);
  }
  return env;
}

export type UsersEnv = ReturnType<typeof readEnv>;
