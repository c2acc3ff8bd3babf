import { z } from 'zod';
import { telemetryEnv } from './telemetry.js';

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
  if (!result.success) exitInvalid(result.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`));
  return result.data;
}

function exitInvalid(problems: string[]): never {
  process.stderr.write(`Invalid environment configuration:\n${problems.map((p) => `  ${p}`).join('\n')}\n`);
  process.exit(1);
}

/**
 * Exits like `loadEnv` (every problem listed, exit code 1) when `problems` (`NAME: what is wrong`)
 * is not empty. For the checks a service adds after parsing, such as settings refused in
 * production, so they fail the same way as a parse error.
 */
export function refuseEnvironment(problems: string[]): void {
  if (problems.length > 0) exitInvalid(problems);
}

const bool = z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => v === 'true' || v === '1' || v === 'yes');

/**
 * Every development-only default of a secret or key. They are public (in this repo and its
 * README), so `assertProductionSecrets` refuses them in production. Registered where each default
 * is written (`.default(devDefault('…'))`), so the list cannot drift from the defaults, whatever
 * their shape (a 32-character secret, a base64 AES key).
 */
const devDefaults = new Set<string>();

/** Marks `value` as a development-only default (refused in production) and returns it. */
export function devDefault<T extends string>(value: T): T {
  devDefaults.add(value);
  return value;
}

/** Development-only secret default of the `secret` fragments. */
const DEV_SECRET = devDefault('dev-only-secret-change-me-0123456789abcdef');

/** A secret of at least 32 characters; a local default exists only outside production. */
function secret(name: string) {
  return z.string().min(32, `${name} must be at least 32 characters`).default(DEV_SECRET);
}

export const envFragments = {
  base: {
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
    HOST: z.string().default('127.0.0.1'),
    // Development only (refused in production by `exposeInternalErrors`): answer unexpected errors
    // with their original message instead of "Internal server error". Never a stack trace.
    EXPOSE_INTERNAL_ERRORS: bool.optional(),
    // Read by the tracing preload before the service starts; listed here so every service checks them.
    ...telemetryEnv,
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

/** A comma-separated list with a default; blanks around items and empty items are dropped. */
function list(fallback: string) {
  return z
    .string()
    .default(fallback)
    .transform((value) =>
      value
        .split(',')
        .map((part) => part.trim())
        .filter((part) => part.length > 0),
    );
}

/** Comma-separated URLs (the replicas of one service, in turn and failover order); at least one. */
const urlList = (fallback: string) => list(fallback).pipe(z.array(z.url()).min(1, 'name at least one URL'));

export { bool as envBool, list as envList, urlList as envUrlList, DEV_SECRET, z };

/**
 * Refuses the development defaults in production: a deploy that forgot a secret or key must not
 * start. `names` are the variables to check; each is refused when it holds any value marked with
 * `devDefault` (DEV_SECRET included), whether it was left unset or copied from the docs.
 */
export function assertProductionSecrets(env: { NODE_ENV: string } & Record<string, unknown>, names: string[]): void {
  if (env.NODE_ENV !== 'production') return;
  const weak = names.filter((name) => {
    const value = env[name];
    return typeof value === 'string' && devDefaults.has(value);
  });
  refuseEnvironment(weak.map((name) => `${name}: must be set in production (the development default is public)`));
}

/**
 * Whether unexpected errors keep their original message (EXPOSE_INTERNAL_ERRORS). Off unless asked
 * for; refused in production, where a message such as `Failed query: select …` must never leave.
 */
export function exposeInternalErrors(env: { NODE_ENV: string; EXPOSE_INTERNAL_ERRORS?: boolean }): boolean {
  const asked = env.EXPOSE_INTERNAL_ERRORS === true;
  if (asked && env.NODE_ENV === 'production')
    refuseEnvironment(['EXPOSE_INTERNAL_ERRORS: not allowed in production (it would show internal error messages to clients)']);
  return asked;
}
