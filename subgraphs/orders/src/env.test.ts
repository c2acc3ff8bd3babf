import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * How long a PENDING order may hold stock follows from the inventory deadline. `loadEnv` exits
 * the process on bad input, so each case runs in a child process of its own.
 */
// The built module, as the service runs it (tests run after the build).
const envModule = new URL('../dist/env.js', import.meta.url);

function reconcileAfter(env: Record<string, string>): string {
  const script = `
    const { readEnv } = await import(${JSON.stringify(fileURLToPath(envModule))});
    process.stdout.write(String(readEnv().RECONCILE_PENDING_AFTER_SECONDS));
  `;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'development', ...env },
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(result.stderr);
  return result.stdout;
}

// Each case starts a Node process (~0.3 s idle, seconds on a busy 2-core machine): 30 s, not 5.
describe('RECONCILE_PENDING_AFTER_SECONDS', { timeout: 30_000 }, () => {
  it('When it is not set, then it is one inventory deadline plus 3 s, so a lost order holds its stock seconds, not half a minute', () => {
    expect(reconcileAfter({})).toBe('10');
    expect(reconcileAfter({ INVENTORY_TIMEOUT_MS: '2000' })).toBe('5');
    expect(reconcileAfter({ INVENTORY_TIMEOUT_MS: '2500' })).toBe('6');
  });

  it('When it is set, then the value given is kept', () => {
    expect(reconcileAfter({ RECONCILE_PENDING_AFTER_SECONDS: '45' })).toBe('45');
  });
});
