import { assertProductionSecrets, envBool, envFragments, loadEnv, z } from '@bth/platform';

/** Parsed once in `index.ts`; everything else receives the typed `UsersEnv`. */
export function readEnv() {
  const env = loadEnv({
    ...envFragments.base,
    ...envFragments.port(4001),
    ...envFragments.mysql('bth_users'),
    ...envFragments.redis,
    ...envFragments.internalAuth,
    ...envFragments.accessToken,
    // AES-256-GCM key for personal data at rest: 32 bytes, base64. The default is for local use only.
    DATA_ENCRYPTION_KEY: z.base64().default('ZGV2LW9ubHktZGF0YS1rZXktMzItYnl0ZXMtbG9uZyE='),
    // HMAC key for the e-mail blind index (lookup without decrypting every row).
    BLIND_INDEX_KEY: z.string().min(32).default('dev-only-blind-index-key-0123456789abcdef'),
    SMTP_URL: z.url().optional(),
    MAIL_FROM: z.string().default('BooTakHae <no-reply@bootakhae.local>'),
    // Development mailbox: logs codes and lets a developer read the last one. Refused in production.
    DEV_MAILBOX: envBool.optional(),
  });
  assertProductionSecrets(env, ['INTERNAL_JWT_SECRET', 'ACCESS_TOKEN_SECRET']);
  return env;
}

export type UsersEnv = ReturnType<typeof readEnv>;
