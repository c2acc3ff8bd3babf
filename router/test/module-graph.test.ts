import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

/**
 * The router talks to no database and no broker, so it must not load their libraries: with
 * platform's subpath exports it imports only the platform modules it uses. This loads every
 * module of the built router (`npm test` builds first) in a fresh Node process that records each
 * module resolved, and checks that mysql2, drizzle-orm and amqplib are not among them. The entry
 * point (index.js) starts a server, so its own imports are loaded instead of it.
 */
const dist = fileURLToPath(new URL('../dist/', import.meta.url));
const FORBIDDEN = ['mysql2', 'drizzle-orm', 'amqplib'];

// Runs in the child: a resolve hook (Node ≥ 22.15, in-thread) records every module's URL.
const PROBE = `
import { registerHooks } from 'node:module';
const seen = new Set();
registerHooks({
  resolve(specifier, context, nextResolve) {
    const resolved = nextResolve(specifier, context);
    seen.add(resolved.url);
    return resolved;
  },
});
for (const target of JSON.parse(process.argv[1])) await import(target);
process.stdout.write(JSON.stringify([...seen]));
`;

async function loadedBy(targets: string[]): Promise<string[]> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', PROBE, JSON.stringify(targets)], {
    cwd: dist,
    maxBuffer: 64 * 1024 * 1024,
  });
  return JSON.parse(stdout) as string[];
}

const packageOf = (url: string) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1];

describe('router module graph', () => {
  it('loads no database or messaging library', async () => {
    const modules = readdirSync(dist).filter((file) => file.endsWith('.js') && file !== 'index.js');
    // index.js's imports (its platform subpaths and its own modules), without running it.
    const entryImports = [...readFileSync(`${dist}index.js`, 'utf8').matchAll(/^import .* from '([^']+)';$/gm)].map((m) => m[1]!);
    const targets = [...modules.map((file) => new URL(file, `file://${dist}`).href), ...entryImports.filter((s) => !s.startsWith('.'))];
    const loaded = await loadedBy(targets);
    // The probe itself works: the router's gateway library is in the graph.
    expect(loaded.some((url) => packageOf(url) === '@apollo/gateway')).toBe(true);
    const packages = new Set(loaded.map(packageOf).filter(Boolean));
    expect(FORBIDDEN.filter((name) => packages.has(name))).toEqual([]);
  }, 120_000);

  it('would see them if a module pulled them in (the check can fail)', async () => {
    const loaded = await loadedBy([new URL('server.js', `file://${dist}`).href, '@bth/platform']);
    const packages = new Set(loaded.map(packageOf).filter(Boolean));
    expect(FORBIDDEN.filter((name) => packages.has(name))).toEqual(FORBIDDEN);
  }, 120_000);
});
