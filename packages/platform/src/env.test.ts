import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * EXPOSE_INTERNAL_ERRORS is a development aid that must never reach production. `loadEnv` and the
 * refusal exit the process, so each case runs in a child process of its own.
 */
// The built module, as the service runs it (tests run after the build).
const platform = new URL('../dist/env.js', import.meta.url);

function run(env: Record<string, string>) {
  const script = `
    const { loadEnv, envFragments, exposeInternalErrors } = await import(${JSON.stringify(fileURLToPath(platform))});
    const env = loadEnv(envFragments.base);
    process.stdout.write(String(exposeInternalErrors(env)));
  `;
  return spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
  });
}

// Each case starts a Node process (~0.3 s idle, seconds on a busy 2-core machine): 30 s, not 5.
describe('EXPOSE_INTERNAL_ERRORS', { timeout: 30_000 }, () => {
  it('is off unless asked for, in every mode', () => {
    expect(run({ NODE_ENV: 'development' }).stdout).toBe('false');
    expect(run({ NODE_ENV: 'production' }).stdout).toBe('false');
  });

  it('is on in development when asked for', () => {
    expect(run({ NODE_ENV: 'development', EXPOSE_INTERNAL_ERRORS: 'true' }).stdout).toBe('true');
  });

  it('is refused in production: the process exits non-zero naming the variable', () => {
    const refused = run({ NODE_ENV: 'production', EXPOSE_INTERNAL_ERRORS: 'true' });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/EXPOSE_INTERNAL_ERRORS: not allowed in production/);
  });
});
