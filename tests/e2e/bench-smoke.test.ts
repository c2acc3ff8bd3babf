import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../scripts/stack.mjs';

/**
 * The CI smoke of `npm run bench`: the whole bench at a few seconds per scenario (no peer install,
 * no 100k catalogue), written to a temporary directory so the committed BENCHMARKS.md is never
 * touched. It proves the bench still runs end to end and writes every part of the report.
 */
const out = mkdtempSync(join(tmpdir(), 'bth-bench-smoke-'));
// Rows other changes add below the generated part: a bench run must keep them word for word.
const KEPT =
  '## What each change bought\n\n| Change | Before → after | How measured |\n|---|---|---|\n| smoke row | 1 → 2 | kept by the generator |\n';

afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('npm run bench -- --smoke', () => {
  it('When the bench runs in smoke mode, then it writes BENCHMARKS.md with every target, the scenario and CPU tables, a dated JSON and three SVG charts, and keeps the rows below its marker', async () => {
    writeFileSync(join(out, 'BENCHMARKS.md'), `# old generated part\n\n${KEPT}`);
    // The whole bench in smoke mode takes one to three minutes on a busy 2-core machine.
    await promisify(execFile)(process.execPath, [join(ROOT, 'tests', 'load', 'bench.mjs'), '--smoke', '--out', out], {
      timeout: 540_000,
      maxBuffer: 16 * 2 ** 20,
    });

    const md = readFileSync(join(out, 'BENCHMARKS.md'), 'utf8');
    expect(md).not.toContain('# old generated part');
    expect(md.endsWith(KEPT)).toBe(true);
    for (const heading of ['## Targets (issue 10)', '## Scenarios', '## CPU per operation', '## Peak memory', '## Charts'])
      expect(md).toContain(heading);
    for (const target of [
      '1. CPU per cached listing',
      '1. CPU per authenticated `me`',
      '1. CPU per hot `placeOrder`',
      '3. Hot ÷ spread orders/s',
      '4. Overload',
      '6. Storm: last buyer answered',
      '7. Read storm',
      '8. Peak RSS',
    ]) {
      expect(md).toContain(target);
    }
    expect(md).not.toContain('## The run failed');

    const files = readdirSync(join(out, 'results')).filter((f) => f.endsWith('.json'));
    expect(files).toHaveLength(1);
    const results = JSON.parse(readFileSync(join(out, 'results', files[0]!), 'utf8'));
    expect(Object.keys(results.scenarios)).toEqual(
      expect.arrayContaining(['listing', 'me', 'order-hot', 'order-spread', 'overload', 'storm', 'sold-out', 'read-storm']),
    );
    // CPU per operation came from /proc for every service process, and MariaDB beside them.
    expect(results.scenarios.listing.cpuPerOpMs.router).toBeGreaterThan(0);
    expect(results.scenarios.listing.cpuPerOpMs.products).toBeGreaterThan(0);
    expect(results.scenarios['order-hot'].cpuPerOpMs.orders).toBeGreaterThan(0);
    expect(results.scenarios['order-hot'].cpuPerOpMs).toHaveProperty('mariadb');
    expect(results.scenarios.storm.inventoryConsistent).toBe(true);
    expect(results.scenarios.storm.saleSold).toBe(results.scenarios.storm.units);
    for (const chart of ['throughput', 'latency', 'cpu']) {
      const file = join(out, 'results', 'charts', `${chart}.svg`);
      expect(existsSync(file)).toBe(true);
      expect(readFileSync(file, 'utf8')).toMatch(/^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    }
  }, 600_000);
});
