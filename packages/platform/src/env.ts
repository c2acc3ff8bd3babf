import { z } from 'zod';

/**
 * Environment parsing. This is the only file in the repo that reads `process.env`.
 *
 * Every service declares one zod object built from the fragments below, calls `loadEnv` once in
 * its `index.ts`, and passes the typed result down. Empty strings count as unset (a blank line in
 * a `.env` file must not silently become a value), every problem is printed at once, and the
 * process exits non-zero instead of running with a half-valid configuration.
 */
export function loadEnv<S extends z.ZodRawShape>(
  shape: S,
  source: Record<string, string | undefined> = process.env,
): z.infer<z.ZodObject<S>> {
  const cleaned: Record<string, string> = {};
  for (const [key, value] of Object.entries(source)) {
    if (value !== undefined && value.trim() !== '') cleaned[key] = value;
  }
  const result = z.object(shape).safeParse(cleaned);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => `  ${issue.path.join('.') || '(root)'}: ${issue.message}`);
    process.stderr.write(`Invalid environment configuration:\n${lines.join('\n')}\n`);
    process.exit(1);
  }
  return result.data;
}


const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

/** Development-only secret default: refused when NODE_ENV=production (see `secret`). */
const DEV_SECRET = 'dev-only-secret-change-me-0123456789abcdef';

/** A secret of at least 32 characters; a local default exists only outside production. */
function secret(name: string) {
  return z.string().min(32, `${name} must be at least 32 characters`).default(DEV_SECRET);
}

export const envFragments = {
  base: {
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
    HOST: z.string().default('127.0.0.1'),
  },
  port: (fallback: number) => ({ PORT: z.coerce.number().int().min(0).max(65535).default(fallback) }),
  mysql: (database: string) => ({
    // Local default: MariaDB root over the unix socket (root has no TCP login on these machines).
    DATABASE_URL: z.url().default(`mysql://root@localhost/${database}?socketPath=/run/mysqld/mysqld.sock`),
    DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(20),
  }),
  redis: {
    REDIS_URL: z.url().default('redis://127.0.0.1:6379'),
    // Lets several stacks (test runs, developers) share one Redis without touching each other's keys.
    REDIS_KEY_PREFIX: z.string().default('bth:'),
  },
  amqp: {
    AMQP_URL: z.url().default('amqp://guest:guest@127.0.0.1:5672'),
    // Test runs use their own exchange so parallel runs never see each other's events.
    AMQP_EXCHANGE: z.string().default('bth.events'),
  },
  internalAuth: {
    // Signs the identity assertion the router passes to subgraphs and service-to-service tokens.
    INTERNAL_JWT_SECRET: secret('INTERNAL_JWT_SECRET'),
  },
  accessToken: {
    // Signs user access and refresh tokens (users subgraph signs, router verifies).
    ACCESS_TOKEN_SECRET: secret('ACCESS_TOKEN_SECRET'),
  },
} as const;

export { bool as envBool, DEV_SECRET, z };

/** Refuses the development secrets in production: a deploy that forgot them must not start. */
export function assertProductionSecrets(env: { NODE_ENV: string } & Record<string, unknown>, names: string[]): void {
  if (env.NODE_ENV !== 'production') return;
  const weak = names.filter((name) => env[name] === DEV_SECRET);
  if (weak.length > 0) {
    process.stderr.write(`Invalid environment configuration:\n${weak.map((n) => `  ${n}: must be set in production`).join('\n')}\n`);
    process.exit(1);
  }
}
