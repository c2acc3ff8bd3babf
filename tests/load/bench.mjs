#!/usr/bin/env node
// `npm run bench`: starts the whole supergraph on free ports with its own databases, measures
// the scenarios below on this machine, and writes the numbers to tests/load/results/latest.{json,md}
// (the README quotes them). Correctness is checked on the way: a run whose flash sale breaks the
// inventory invariant or answers an unexpected error exits 1.
//
//   listing (cached)     anonymous product listing through the router, Redis cache warm
//   listing (uncached)   the same with the products replicas cut off from Redis (every read from MariaDB)
//   flash sale           members ordering one hot product at once, then the inventory report
//   memory               peak RSS of every service process during the runs
//
// BENCH_SECONDS (default 10) sets the length of each timed run.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';
import { Redis } from 'ioredis';
import { ROOT, startStack } from '../../scripts/stack.mjs';
import { CREATE_PRODUCT, LOGIN, PASSWORD, productInput } from './lib/operations.js';
import { must, peakRss, signUpMembers } from './lib/node.mjs';
import { flashSaleScenario, listingScenario } from './lib/scenarios.mjs';

const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const runId = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
const databasePrefix = `bth_bench_${runId}`;
const redisPrefix = `bth-bench:${runId}:`;
const exchange = `bth-bench.${runId}`;
const log = (msg) => process.stdout.write(`bench: ${msg}\n`);
const serviceErrors = [];

function launch(envFor = {}) {
  return startStack({
    databasePrefix,
    env: { NODE_ENV: 'development', LOG_LEVEL: 'warn', REDIS_KEY_PREFIX: redisPrefix, AMQP_EXCHANGE: exchange },
    envFor,
    onLog: (label, line) => {
      if (/"level":"error"/.test(line)) serviceErrors.push(`${label} ${line}`);
    },
  });
}

const pidsOf = (stack) => Object.fromEntries(stack.instances.map((i) => [i.label, i.child.pid]));

async function makeAdmin(stack) {
  const [admin] = await signUpMembers(stack.routerUrl, stack.service('users').base, 1, 1);
  await promisify(execFile)(process.execPath, [join(ROOT, 'subgraphs/users/dist/scripts/create-admin.js'), admin.email], {
    env: { ...process.env, DATABASE_URL: stack.databaseUrl('users'), LOG_LEVEL: 'warn' },
  });
  return (await must(stack.routerUrl, LOGIN, { e: admin.email, p: PASSWORD })).login.accessToken;
}

async function cleanUp() {
  const conn = await mysql.createConnection({ socketPath: '/run/mysqld/mysqld.sock', user: 'root' });
  const [rows] = await conn.query(`SHOW DATABASES LIKE '${databasePrefix.replace(/_/g, '\\_')}\\_%'`);
  for (const row of rows) await conn.query(`DROP DATABASE IF EXISTS \`${Object.values(row)[0]}\``);
  await conn.end();
  const redis = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 });
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${redisPrefix}*`, 'COUNT', 500);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== '0');
  redis.disconnect();
  const { deleteAmqpTopology } = await import('@bth/testkit');
  await deleteAmqpTopology(exchange, ['products.sales', 'events.sales']).catch(() => undefined);
}

const results = { measuredAt: new Date().toISOString(), machine: { cpus: cpus().length, memoryGb: Math.round(totalmem() / 2 ** 30), node: process.version }, seconds };
const peak = {};
const keepPeak = (rss) => {
  for (const [name, mb] of Object.entries(rss)) peak[name] = Math.max(peak[name] ?? 0, mb);
};

try {
  log('starting the supergraph (products ×2)…');
  let stack = await launch();
  const url = stack.routerUrl;
  const adminToken = await makeAdmin(stack);
  log('seeding 200 products…');
  for (let i = 0; i < 200; i++) await must(url, CREATE_PRODUCT, { input: productInput(`Bench product ${i} ${runId}`, 1_000, 10_000 + i * 100) }, adminToken);

  log(`listing, cache warm: 20 clients for ${seconds} s…`);
  const cached = await peakRss(pidsOf(stack), () => listingScenario({ url, vus: 20, durationMs: seconds * 1000 }));
  keepPeak(cached.peakRssMb);
  results.listingCached = cached.result;

  log('signing up 50 members for the flash sale…');
  const members = await signUpMembers(url, stack.service('users').base, 50);
  log(`flash sale: 50 members on one product with 1,000 units for ${seconds} s…`);
  const sale = await peakRss(pidsOf(stack), () => flashSaleScenario({ url, adminToken, members, stock: 1_000, durationMs: seconds * 1000 }));
  keepPeak(sale.peakRssMb);
  results.flashSale = sale.result;
  await stack.stop();

  log('restarting with products cut off from Redis…');
  stack = await launch({ products: { REDIS_URL: 'redis://127.0.0.1:1' } });
  log(`listing, no cache: 20 clients for ${seconds} s…`);
  const uncached = await peakRss(pidsOf(stack), () => listingScenario({ url: stack.routerUrl, vus: 20, durationMs: seconds * 1000 }));
  keepPeak(uncached.peakRssMb);
  results.listingUncached = uncached.result;
  await stack.stop();

  results.cacheImprovementPercent = Math.round((1 - results.listingCached.meanMs / results.listingUncached.meanMs) * 1000) / 10;
  results.peakRssMb = peak;
} finally {
  await cleanUp().catch((error) => log(`clean-up failed: ${error.message}`));
}

const dir = join(ROOT, 'tests', 'load', 'results');
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
const row = (name, r) => `| ${name} | ${r.requests} | ${r.throughputPerSecond} | ${r.meanMs} | ${r.p50Ms} | ${r.p95Ms} | ${r.p99Ms} |`;
const md = [
  `Measured ${results.measuredAt} on ${results.machine.cpus} cores, ${results.machine.memoryGb} GiB, Node ${results.machine.node}; ${seconds} s per run, all services and the load generator on this machine.`,
  '',
  '| Scenario | Requests | Per second | Mean ms | p50 ms | p95 ms | p99 ms |',
  '|---|---|---|---|---|---|---|',
  row('Listing, Redis cache warm (20 clients)', results.listingCached),
  row('Listing, no cache (20 clients)', results.listingUncached),
  row('Flash sale placeOrder (50 members, one product)', results.flashSale),
  '',
  `Cached listing is **${results.cacheImprovementPercent} %** faster than uncached (mean latency).`,
  `Flash sale: ${results.flashSale.ordersPlaced} orders placed, ${results.flashSale.soldUnits} units sold, ${results.flashSale.stockLeft} left; inventory invariant ${results.flashSale.invariantHolds ? 'holds' : 'BROKEN'}.`,
  `Peak RSS per process (MB): ${Object.entries(results.peakRssMb).map(([n, mb]) => `${n} ${mb}`).join(', ')}.`,
  '',
].join('\n');
writeFileSync(join(dir, 'latest.md'), md);
process.stdout.write(`\n${md}`);

const unexpected = Object.keys({ ...results.listingCached.outcomes, ...results.listingUncached.outcomes }).filter((l) => l !== 'ok');
const failed = !results.flashSale.invariantHolds || Object.keys(results.flashSale.unexpectedOutcomes).length > 0 || unexpected.length > 0;
if (serviceErrors.length) log(`${serviceErrors.length} error lines in service logs, first: ${serviceErrors[0]}`);
process.exit(failed ? 1 : 0);
