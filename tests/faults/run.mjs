#!/usr/bin/env node
// `npm run test:faults`: the fault matrix of issue 9 under order load, on this machine. Starts a
// supergraph on free ports whose MariaDB, Redis and RabbitMQ are private servers of this run
// (never the machine's shared ones), runs every scenario of lib/scenarios.mjs in turn and writes
// RELIABILITY.md (table and prose) and RELIABILITY.json at the repository root.
//
//   node tests/faults/run.mjs                       every scenario
//   node tests/faults/run.mjs kill-redis kill-orders   only these (the files are not written)
//
// Exit code 1 when an invariant breaks in any scenario (oversold or lost units, an order left
// PENDING, an order charged twice). Answers that break the error contract are reported, not fatal.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT } from '../../scripts/stack.mjs';
import { runScenario, startFaultStack } from './lib/harness.mjs';
import { renderReport } from './lib/report.mjs';
import { SCENARIOS } from './lib/scenarios.mjs';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { vus: { type: 'string', default: '12' } },
});
const unknown = positionals.filter((name) => !SCENARIOS.some((s) => s.name === name));
if (unknown.length) {
  process.stderr.write(`unknown scenario(s): ${unknown.join(', ')}\nscenarios: ${SCENARIOS.map((s) => s.name).join(', ')}\n`);
  process.exit(2);
}
const selected = positionals.length ? SCENARIOS.filter((s) => positionals.includes(s.name)) : SCENARIOS;
const log = (message) => process.stdout.write(`faults: ${message}\n`);

const startedAt = new Date();
const results = [];
const h = await startFaultStack({ log });
let failed = false;
try {
  for (const scenario of selected) {
    log(`── ${scenario.name}: ${scenario.title}`);
    const result = await runScenario(h, scenario, { vus: Number(values.vus), log });
    results.push(result);
    log(
      `${scenario.name}: ${result.offered.requests} requests, fault p50/p99 ${result.orderLatencyMs.faultP50}/${result.orderLatencyMs.faultP99} ms, ` +
        `recovery ${result.recoveryMs ?? 'none'} ms, invariants ${result.invariants.hold ? 'hold' : 'BROKEN'}`,
    );
    log(`${scenario.name}: fault window ${JSON.stringify(result.faultWindowOutcomes)}`);
    if (!result.invariants.hold) {
      failed = true;
      log(`${scenario.name}: ${JSON.stringify(result.invariants)}`);
    }
  }
} finally {
  await h.stop();
}

const mariadbVersion = /Ver (\S+)/.exec(execFileSync('mariadbd', ['--version'], { encoding: 'utf8' }))?.[1];
const run = {
  measuredAt: startedAt.toISOString(),
  machine: {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    ...(mariadbVersion ? { mariadb: mariadbVersion } : {}),
  },
  vus: Number(values.vus),
  scenarios: results,
};
if (positionals.length) {
  process.stdout.write(`${JSON.stringify(run, null, 2)}\n`);
} else {
  writeFileSync(join(ROOT, 'RELIABILITY.json'), `${JSON.stringify(run, null, 2)}\n`);
  writeFileSync(join(ROOT, 'RELIABILITY.md'), renderReport(run));
  log('wrote RELIABILITY.md and RELIABILITY.json');
}
process.exit(failed ? 1 : 0);
