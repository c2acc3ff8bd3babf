import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const PRELOAD = fileURLToPath(new URL('../dist/preload.js', import.meta.url));

// Registered before the preload: prints every module URL the process resolves.
const dir = mkdtempSync(join(tmpdir(), 'bth-preload-'));
const LISTER = join(dir, 'list-modules.mjs');
writeFileSync(
  LISTER,
  `import { registerHooks } from 'node:module';
registerHooks({ resolve(specifier, context, next) { const found = next(specifier, context); process.stderr.write('resolved ' + found.url + '\\n'); return found; } });
`,
);

/** The module URLs a process started like a service (preload first) resolves before it exits. */
async function modulesLoaded(env: Record<string, string>): Promise<string[]> {
  const { OTEL_EXPORTER_OTLP_ENDPOINT: _ignored, ...base } = process.env;
  const { stderr } = await run(process.execPath, ['--import', LISTER, '--import', PRELOAD, '-e', 'import("node:http")'], {
    env: { ...base, ...env },
    timeout: 110_000,
  });
  return stderr
    .split('\n')
    .filter((line) => line.startsWith('resolved '))
    .map((line) => line.slice('resolved '.length));
}

const isTelemetry = (url: string) => url.includes('/@opentelemetry/') || url.includes('/import-in-the-middle/');

describe('the tracing preload', () => {
  it('When OTEL_EXPORTER_OTLP_ENDPOINT is unset, then no OpenTelemetry module is loaded', async () => {
    const loaded = await modulesLoaded({});
    expect(loaded.some((url) => url.endsWith('/preload.js'))).toBe(true);
    expect(loaded.filter(isTelemetry)).toEqual([]);
  }, 120_000);

  it('When it is set, then the SDK and the instrumentations are loaded before the service', async () => {
    // Nothing listens there: spans would fail to leave, which is not what this checks.
    const loaded = await modulesLoaded({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9', OTEL_TRACES_EXPORTER: 'none' });
    for (const name of [
      'sdk-node',
      'instrumentation-http',
      'instrumentation-mysql2',
      'instrumentation-ioredis',
      'instrumentation-amqplib',
      'instrumentation-undici',
    ]) {
      expect(
        loaded.some((url) => url.includes(`/@opentelemetry/${name}/`)),
        name,
      ).toBe(true);
    }
  }, 120_000);
});
