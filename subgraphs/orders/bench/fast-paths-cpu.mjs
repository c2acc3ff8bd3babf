#!/usr/bin/env node
// Issue 10, what orders' two early answers buy, A/B in one sitting on the same build: users, one
// products replica, orders and the router on free ports (production mode, LOG_LEVEL=warn).
//
//   MODE=sold-out  one product, sold out first; then VUS members order it back to back for SECS
//                  seconds. FAST=1: orders reads products' sold-out markers (same REDIS_KEY_PREFIX);
//                  FAST=0: orders looks under another prefix, so every refusal takes the order path
//                  to products (whose own lock-free fast path answers it) — the state before.
//   MODE=overload  one product with ample stock, VUS members at once (e.g. 400). FAST=1: admission
//                  at its defaults; FAST=0: ORDER_ADMISSION_PER_PRODUCT/TOTAL so high it never refuses.
//
// CPU = utime+stime from /proc/<pid>/stat before and after the timed run, divided by the answers.
//   MODE=sold-out FAST=1 VUS=20 SECS=10 node subgraphs/orders/bench/fast-paths-cpu.mjs
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import mysql from 'mysql2/promise';
import { signAccessToken } from '@bth/platform/identity';
import { startStack } from '../../../scripts/stack.mjs';
import { CREATE_PRODUCT, PLACE_ORDER, orderInput, productInput } from '../../../tests/load/lib/operations.js';
import { gql, must, runLoad, summarise } from '../../../tests/load/lib/node.mjs';

const mode = process.env.MODE ?? 'sold-out';
const fast = process.env.FAST !== '0';
const seconds = Number(process.env.SECS ?? 10);
const vus = Number(process.env.VUS ?? (mode === 'overload' ? 400 : 20));
const runId = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
const databasePrefix = `bth_fp_${runId}`;
const prefix = `bth-fp:${runId}:`;
const accessSecret = `bench-access-${runId}-${randomBytes(16).toString('hex')}`;
// Members are minted (signed access tokens), as the bench does: sign-ups would cost scrypt, not orders.
const mint = (role) => signAccessToken(accessSecret, { userId: randomUUID(), role, sessionId: randomUUID() }, 3600);

const ordersEnv = { DATA_ENCRYPTION_KEY: randomBytes(32).toString('base64') };
if (mode === 'sold-out' && !fast) ordersEnv.REDIS_KEY_PREFIX = `${prefix}elsewhere:`;
if (mode === 'overload' && !fast) Object.assign(ordersEnv, { ORDER_ADMISSION_PER_PRODUCT: '100000', ORDER_ADMISSION_TOTAL: '1000000' });

const stack = await startStack({
  databasePrefix,
  only: ['users', 'products', 'orders'],
  productsReplicas: 1,
  env: {
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    REDIS_KEY_PREFIX: prefix,
    AMQP_EXCHANGE: `bth-fp.${runId}`,
    INTERNAL_JWT_SECRET: `bench-internal-${runId}-${randomBytes(16).toString('hex')}`,
    ACCESS_TOKEN_SECRET: accessSecret,
  },
  envFor: { orders: ordersEnv },
  onLog: (label, line) => {
    if (!/"level":"(info|debug|warn)"/.test(line)) console.error(label, line.slice(0, 300));
  },
});
const url = stack.routerUrl;
const conn = await mysql.createConnection({ socketPath: '/run/mysqld/mysqld.sock', user: 'root' });
try {
  const adminToken = await mint('ADMIN');
  const members = await Promise.all(Array.from({ length: Math.min(vus, 50) }, async () => ({ token: await mint('USER') })));
  const stock = mode === 'sold-out' ? 1 : 1_000_000;
  const productId = (await must(url, CREATE_PRODUCT, { input: productInput(`Fast ${runId}`, stock) }, adminToken)).createProduct.id;
  const latencyBy = { accepted: [], refused: [] };
  const iteration = async (vu) => {
    const t0 = performance.now();
    const r = await gql(url, PLACE_ORDER, { input: orderInput(productId, randomUUID()) }, members[vu % members.length].token);
    const label = r.errors ? `error: ${r.errors[0]?.extensions?.code}` : r.data.placeOrder.__typename;
    const ms = performance.now() - t0;
    if (label === 'Order') latencyBy.accepted.push(ms);
    else if (label === 'InventoryUnavailable') latencyBy.refused.push(ms);
    if (label === 'InventoryUnavailable' && mode === 'overload') {
      // A client that honours retryAfterSeconds (1 s) before its next order.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
    return label;
  };
  if (mode === 'sold-out') {
    await must(url, PLACE_ORDER, { input: orderInput(productId, randomUUID()) }, members[0].token);
  }
  // Warm-up: JIT, pools, caches (and, sold out, products' marker), then the timed run.
  await runLoad({ vus, durationMs: 2_000, iteration });
  latencyBy.accepted.length = 0;
  latencyBy.refused.length = 0;
  const pids = Object.fromEntries(stack.instances.map((i) => [i.label, i.child.pid]));
  const ticks = () =>
    Object.fromEntries(
      Object.entries(pids).map(([name, pid]) => {
        const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
        return [name, Number(fields[11]) + Number(fields[12])];
      }),
    );
  const busy = () => readFileSync('/proc/stat', 'utf8').split('\n')[0].split(/\s+/).slice(1, 8).map(Number);
  const status = async () =>
    Object.fromEntries(
      (await conn.query("SHOW GLOBAL STATUS WHERE Variable_name IN ('Questions','Com_commit')"))[0].map((r) => [
        r.Variable_name,
        Number(r.Value),
      ]),
    );
  const [c0, s0, b0] = [ticks(), await status(), busy()];
  const run = await runLoad({ vus, durationMs: seconds * 1000, iteration });
  const [c1, s1, b1] = [ticks(), await status(), busy()];
  const n = run.latencies.length;
  // /proc counts in clock ticks of 1/100 s (USER_HZ on Linux).
  const msPerOp = Object.fromEntries(Object.keys(c0).map((k) => [k, Math.round(((c1[k] - c0[k]) * 10 * 100) / n) / 100]));
  const behindRouter = Object.entries(msPerOp)
    .filter(([k]) => k !== 'router')
    .reduce((sum, [, v]) => sum + v, 0);
  const machineBusyCores =
    (b1.slice(0, 3).reduce((a, b) => a + b, 0) + b1[5] + b1[6] - (b0.slice(0, 3).reduce((a, b) => a + b, 0) + b0[5] + b0[6])) /
    100 /
    (run.elapsedMs / 1000);
  const ours = Object.keys(c0).reduce((sum, k) => sum + (c1[k] - c0[k]), 0) / 100 / (run.elapsedMs / 1000);
  console.log(
    JSON.stringify({
      mode,
      fast,
      vus,
      ...summarise(run.latencies, run.elapsedMs, { outcomes: run.outcomes }),
      accepted: summarise(latencyBy.accepted, run.elapsedMs),
      refused: summarise(latencyBy.refused, run.elapsedMs),
      cpuMsPerOp: msPerOp,
      behindRouterMsPerOp: Math.round(behindRouter * 1000) / 1000,
      globalQuestionsPerOp: Math.round(((s1.Questions - s0.Questions) / n) * 100) / 100,
      globalCommitsPerOp: Math.round(((s1.Com_commit - s0.Com_commit) / n) * 100) / 100,
      otherProgramsCores: Math.round((machineBusyCores - ours) * 100) / 100,
    }),
  );
} finally {
  await stack.stop();
  const [rows] = await conn.query(`SHOW DATABASES LIKE '${databasePrefix.replace(/_/g, '\\_')}\\_%'`);
  for (const row of rows) await conn.query(`DROP DATABASE IF EXISTS \`${Object.values(row)[0]}\``);
  await conn.end();
}
