#!/usr/bin/env node
// CPU per placeOrder, per service: users, one products replica and orders behind the router on
// free ports with their own databases (production mode, LOG_LEVEL=warn), VUS members placing
// one-unit orders of one product with ample stock back to back for SECS seconds after a 2 s
// warm-up. CPU = utime+stime from /proc/<pid>/stat before and after, divided by the answers.
// MariaDB's Questions/Com_commit deltas are global: other clients of the server count too.
//
//   node subgraphs/orders/bench/place-order-cpu.mjs            (SECS=15 VUS=20 by default)
//   PROF=/tmp/dir node …  also writes orders' .cpuprofile there (inspector, on exit)
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';
import { ROOT, startStack } from '../../../scripts/stack.mjs';
import { CREATE_PRODUCT, LOGIN, PASSWORD, PLACE_ORDER, orderInput, productInput } from '../../../tests/load/lib/operations.js';
import { gql, must, runLoad, signUpMembers, summarise } from '../../../tests/load/lib/node.mjs';

const seconds = Number(process.env.SECS ?? 15);
const vus = Number(process.env.VUS ?? 20);
const prof = process.env.PROF;
const runId = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
const databasePrefix = `bth_ob_${runId}`;

// --cpu-prof is refused in NODE_OPTIONS, so a preload starts the inspector's profiler instead.
const hook = join(tmpdir(), `orders-prof-${runId}.cjs`);
if (prof) {
  writeFileSync(
    hook,
    `const { Session } = require('node:inspector'); const { writeFileSync } = require('node:fs');
const s = new Session(); s.connect(); s.post('Profiler.enable'); s.post('Profiler.start');
process.on('exit', () => s.post('Profiler.stop', (e, r) => { if (!e) writeFileSync(${JSON.stringify(prof)} + '/orders-' + process.pid + '.cpuprofile', JSON.stringify(r.profile)); }));\n`,
  );
}

const stack = await startStack({
  databasePrefix,
  only: ['users', 'products', 'orders'],
  productsReplicas: 1,
  env: {
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    REDIS_KEY_PREFIX: `bth-ob:${runId}:`,
    AMQP_EXCHANGE: `bth-ob.${runId}`,
    INTERNAL_JWT_SECRET: `bench-internal-${runId}-${randomBytes(16).toString('hex')}`,
    ACCESS_TOKEN_SECRET: `bench-access-${runId}-${randomBytes(16).toString('hex')}`,
  },
  envFor: {
    // The development mailbox (sign-up codes) exists only outside production.
    users: { NODE_ENV: 'development' },
    orders: { DATA_ENCRYPTION_KEY: randomBytes(32).toString('base64'), ...(prof ? { NODE_OPTIONS: `--require ${hook}` } : {}) },
  },
  onLog: (label, line) => {
    if (!/"level":"(info|debug)"/.test(line)) console.error(label, line.slice(0, 300));
  },
});
const url = stack.routerUrl;
const conn = await mysql.createConnection({ socketPath: '/run/mysqld/mysqld.sock', user: 'root' });
try {
  const [admin] = await signUpMembers(url, stack.service('users').base, 1, 1);
  await promisify(execFile)(process.execPath, [join(ROOT, 'subgraphs/users/dist/scripts/create-admin.js'), admin.email], {
    env: { ...process.env, DATABASE_URL: stack.databaseUrl('users'), LOG_LEVEL: 'warn' },
  });
  const adminToken = (await must(url, LOGIN, { e: admin.email, p: PASSWORD })).login.accessToken;
  const members = await signUpMembers(url, stack.service('users').base, vus);
  const productId = (await must(url, CREATE_PRODUCT, { input: productInput(`Hot ${runId}`, 1_000_000) }, adminToken)).createProduct.id;
  const iteration = async (vu) => {
    const r = await gql(url, PLACE_ORDER, { input: orderInput(productId, randomUUID()) }, members[vu].token);
    return r.errors ? `error: ${r.errors[0]?.extensions?.code}` : r.data.placeOrder.__typename;
  };
  // Warm-up: JIT, pools and caches, so the timed run measures the steady state.
  await runLoad({ vus, durationMs: 2_000, iteration });
  const pids = Object.fromEntries(stack.instances.map((i) => [i.label, i.child.pid]));
  const ticks = () =>
    Object.fromEntries(
      Object.entries(pids).map(([name, pid]) => {
        const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
        return [name, Number(fields[11]) + Number(fields[12])];
      }),
    );
  const status = async () =>
    Object.fromEntries(
      (await conn.query("SHOW GLOBAL STATUS WHERE Variable_name IN ('Questions','Com_commit')"))[0].map((r) => [
        r.Variable_name,
        Number(r.Value),
      ]),
    );
  const [c0, s0] = [ticks(), await status()];
  const run = await runLoad({ vus, durationMs: seconds * 1000, iteration });
  const [c1, s1] = [ticks(), await status()];
  const n = run.latencies.length;
  // /proc counts in clock ticks of 1/100 s (USER_HZ on Linux).
  const msPerOp = Object.fromEntries(Object.keys(c0).map((k) => [k, Math.round(((c1[k] - c0[k]) * 10 * 100) / n) / 100]));
  console.log(
    JSON.stringify({
      ...summarise(run.latencies, run.elapsedMs, { outcomes: run.outcomes }),
      cpuMsPerOp: msPerOp,
      globalQuestionsPerOp: Math.round(((s1.Questions - s0.Questions) / n) * 100) / 100,
      globalCommitsPerOp: Math.round(((s1.Com_commit - s0.Com_commit) / n) * 100) / 100,
    }),
  );
} finally {
  await stack.stop();
  const [rows] = await conn.query(`SHOW DATABASES LIKE '${databasePrefix.replace(/_/g, '\\_')}\\_%'`);
  for (const row of rows) await conn.query(`DROP DATABASE IF EXISTS \`${Object.values(row)[0]}\``);
  await conn.end();
}
