import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { deadUrl, dropTestDatabases, testDatabaseUrl, testRedisPrefix, waitFor } from '@bth/testkit';
import { deleteKeys } from '@bth/fixtures/products';

/** The built service (`npx tsc -p subgraphs/users/tsconfig.json`), started the way production starts it. */
const ENTRY = fileURLToPath(new URL('../dist/index.js', import.meta.url));

/** A production configuration with nothing missing: each test spoils one part of it. */
const PRODUCTION = {
  NODE_ENV: 'production',
  LOG_LEVEL: 'silent',
  HOST: '127.0.0.1',
  DATABASE_URL: testDatabaseUrl('users_env'),
  REDIS_KEY_PREFIX: testRedisPrefix('users-env'),
  INTERNAL_JWT_SECRET: randomBytes(32).toString('hex'),
  ACCESS_TOKEN_SECRET: randomBytes(32).toString('hex'),
  DATA_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
  BLIND_INDEX_KEY: randomBytes(32).toString('hex'),
  // Never dialled: nothing is sent while the service only starts.
  SMTP_URL: 'smtp://127.0.0.1:2525',
};

/** The public development defaults (env.ts, README), as a careless deploy might copy them. */
const DEV_KEYS = {
  DATA_ENCRYPTION_KEY: 'ZGV2LW9ubHktZGF0YS1rZXktMzItYnl0ZXMtbG9uZyE=',
  BLIND_INDEX_KEY: 'dev-only-blind-index-key-0123456789abcdef',
};

/**
 * Runs the service with `env` (unset names are removed with `undefined`) until it either exits
 * (refused: exit code and stderr) or answers `/health/live` (started: then it is stopped).
 */
async function launch(env: Record<string, string | undefined>): Promise<{ started: boolean; code: number | null; stderr: string }> {
  const port = new URL(await deadUrl()).port;
  const settings = Object.entries({ ...PRODUCTION, PORT: port, ...env }).filter((e): e is [string, string] => e[1] !== undefined);
  const child = spawn(process.execPath, [ENTRY], {
    env: { PATH: process.env.PATH ?? '', ...Object.fromEntries(settings) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let exited: number | null | undefined;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', (code) => {
      exited = code;
      resolve();
    }),
  );
  const live = async () =>
    fetch(`http://127.0.0.1:${port}/health/live`).then(
      (r) => r.ok,
      () => false,
    );
  await waitFor(async () => exited !== undefined || (await live()), 30_000, 100);
  const started = exited === undefined;
  if (started) child.kill('SIGTERM');
  await exit;
  return { started, code: started ? null : (exited ?? null), stderr };
}

afterAll(async () => {
  await dropTestDatabases();
  // A started users service writes its revocation-cache marker (no expiry: production keeps it).
  await deleteKeys(PRODUCTION.REDIS_KEY_PREFIX);
});

describe('users start-up configuration', () => {
  it('When production is configured completely, then the service starts', async () => {
    expect(await launch({})).toMatchObject({ started: true });
  });

  it('When production asks for the development mailbox, then the service refuses to start and names DEV_MAILBOX', async () => {
    const result = await launch({ DEV_MAILBOX: 'true' });
    expect(result).toMatchObject({ started: false, code: 1 });
    expect(result.stderr).toContain('Invalid environment configuration');
    expect(result.stderr).toMatch(/^\s+DEV_MAILBOX: /m);
  });

  it('When production has no SMTP_URL, then the service refuses to start', async () => {
    const result = await launch({ SMTP_URL: undefined });
    expect(result).toMatchObject({ started: false, code: 1 });
    expect(result.stderr).toMatch(/^\s+SMTP_URL: /m);
  });

  it('When production leaves the data keys unset, then the service refuses to start and names both', async () => {
    const result = await launch({ DATA_ENCRYPTION_KEY: undefined, BLIND_INDEX_KEY: undefined });
    expect(result).toMatchObject({ started: false, code: 1 });
    expect(result.stderr).toMatch(/^\s+DATA_ENCRYPTION_KEY: /m);
    expect(result.stderr).toMatch(/^\s+BLIND_INDEX_KEY: /m);
  });

  it('When production sets the data keys to the public development values, then the service refuses to start', async () => {
    const result = await launch(DEV_KEYS);
    expect(result).toMatchObject({ started: false, code: 1 });
    expect(result.stderr).toMatch(/^\s+DATA_ENCRYPTION_KEY: /m);
    expect(result.stderr).toMatch(/^\s+BLIND_INDEX_KEY: /m);
  });
});
