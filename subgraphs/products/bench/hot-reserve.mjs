#!/usr/bin/env node
// One hot product, N concurrent clients, a closed loop for a few seconds. Three ways to take one
// unit per order, measured the same way (completed orders/s; CPU per order read from
// /proc/<pid>/stat of every process involved, because wall-clock numbers are noise on a shared
// 2-core machine):
//   sql   — MariaDB alone: one `SELECT … FOR UPDATE` + `UPDATE` transaction per order (mysql2).
//   skip  — Shopify-style unit rows: claim one free unit row with `FOR UPDATE SKIP LOCKED` per order.
//   api   — POST /internal/inventory/reserve on two products replicas (service token), the real
//           thing: reservation row, ledger row, lines, per-order outcome. Checks the inventory
//           report is consistent and nothing was oversold afterwards.
// Usage: node subgraphs/products/bench/hot-reserve.mjs <sql|skip|api> [concurrency=50] [seconds=10]
// Needs a build (`npx turbo run build`) for `api`. Uses its own database, dropped at the end.
import { spawn, execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import mysql from 'mysql2/promise';
import { IDENTITY_HEADER, signIdentityAssertion, signServiceToken } from '@bth/platform/identity';

const [mode = 'api', concurrencyArg = '50', secondsArg = '10'] = process.argv.slice(2);
const concurrency = Number(concurrencyArg);
const seconds = Number(secondsArg);
// HOT_STOCK=100: the product sells out within the first moment, so the run measures refusals
// (the sold-out fast path) instead of reservations.
const initialStock = Number(process.env.HOT_STOCK ?? 1_000_000);
const SOCKET = '/run/mysqld/mysqld.sock';
const SECRET = 'bench-internal-secret-0123456789abcdef';
const database = `bth_bench_hot_${process.pid}`;
const root = fileURLToPath(new URL('../../../', import.meta.url));

/** utime + stime of a process, in ms (clock ticks are 100 Hz on Linux). */
function cpuMs(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}
const mariadbPid = () => Number(execFileSync('pidof', ['mariadbd']).toString().trim().split(' ')[0]);

async function status(conn) {
  const [rows] = await conn.query("SHOW GLOBAL STATUS WHERE Variable_name IN ('Questions', 'Com_commit')");
  return Object.fromEntries(rows.map((r) => [r.Variable_name, Number(r.Value)]));
}

/** Runs `once` in `concurrency` closed loops for `seconds`; returns completions and CPU per process. */
async function closedLoop(once, pids) {
  const admin = await mysql.createConnection({ socketPath: SOCKET, user: 'root' });
  const before = { cpu: pids.map(cpuMs), db: await status(admin), at: performance.now() };
  const end = Date.now() + seconds * 1000;
  const outcomes = {};
  let done = 0;
  const latencies = [];
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      while (Date.now() < end) {
        const started = performance.now();
        const outcome = await once(worker);
        latencies.push(performance.now() - started);
        outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
        done++;
      }
    }),
  );
  const elapsed = (performance.now() - before.at) / 1000;
  const after = { cpu: pids.map(cpuMs), db: await status(admin) };
  await admin.end();
  latencies.sort((a, b) => a - b);
  const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))].toFixed(1);
  return {
    done,
    outcomes,
    perSecond: Math.round(done / elapsed),
    p50: pct(50),
    p99: pct(99),
    cpuPerOp: pids.map((_, i) => ((after.cpu[i] - before.cpu[i]) / done).toFixed(3)),
    questionsPerOp: ((after.db.Questions - before.db.Questions) / done).toFixed(2),
    commitsPerOp: ((after.db.Com_commit - before.db.Com_commit) / done).toFixed(2),
  };
}

async function plainSql() {
  const setup = await mysql.createConnection({ socketPath: SOCKET, user: 'root' });
  await setup.query(`CREATE DATABASE ${database}`);
  await setup.query(`CREATE TABLE ${database}.hot (id INT PRIMARY KEY, stock INT NOT NULL) ENGINE=InnoDB`);
  await setup.query(`INSERT INTO ${database}.hot VALUES (1, 100000000)`);
  const pool = mysql.createPool({ socketPath: SOCKET, user: 'root', database, connectionLimit: concurrency });
  const conns = await Promise.all(Array.from({ length: concurrency }, () => pool.getConnection()));
  for (const c of conns) await c.query('SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED');
  const result = await closedLoop(
    async (worker) => {
      const c = conns[worker];
      await c.query('START TRANSACTION');
      await c.query('SELECT stock FROM hot WHERE id = 1 FOR UPDATE');
      await c.query('UPDATE hot SET stock = stock - 1 WHERE id = 1');
      await c.query('COMMIT');
      return 'TAKEN';
    },
    [process.pid, mariadbPid()],
  );
  for (const c of conns) c.release();
  await pool.end();
  await setup.query(`DROP DATABASE ${database}`);
  await setup.end();
  return result;
}

async function skipLocked() {
  const setup = await mysql.createConnection({ socketPath: SOCKET, user: 'root' });
  await setup.query(`CREATE DATABASE ${database}`);
  await setup.query(
    `CREATE TABLE ${database}.units (id INT AUTO_INCREMENT PRIMARY KEY, product_id INT NOT NULL, order_id CHAR(36) NULL, KEY free_units (product_id, order_id)) ENGINE=InnoDB`,
  );
  // Enough free units for the whole run (the technique needs one row per unit of stock).
  await setup.query(`USE ${database}`);
  await setup.query(`INSERT INTO units (product_id) SELECT 1 FROM seq_1_to_300000`);
  const pool = mysql.createPool({ socketPath: SOCKET, user: 'root', database, connectionLimit: concurrency });
  const conns = await Promise.all(Array.from({ length: concurrency }, () => pool.getConnection()));
  for (const c of conns) await c.query('SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED');
  const result = await closedLoop(
    async (worker) => {
      const c = conns[worker];
      await c.query('START TRANSACTION');
      const [rows] = await c.query('SELECT id FROM units WHERE product_id = 1 AND order_id IS NULL LIMIT 1 FOR UPDATE SKIP LOCKED');
      if (rows.length === 0) {
        await c.query('ROLLBACK');
        return 'NONE_FREE';
      }
      await c.query('UPDATE units SET order_id = ? WHERE id = ?', [randomUUID(), rows[0].id]);
      await c.query('COMMIT');
      return 'TAKEN';
    },
    [process.pid, mariadbPid()],
  );
  for (const c of conns) c.release();
  await pool.end();
  await setup.query(`DROP DATABASE ${database}`);
  await setup.end();
  return result;
}

async function freePort() {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function viaApi() {
  const url = `mysql://root@localhost/${database}?socketPath=${SOCKET}`;
  const ports = [await freePort(), await freePort()];
  const children = ports.map((port) =>
    // HOT_PROFILE_DIR=<dir>: a .cpuprofile per replica, for reading where the CPU goes.
    spawn(
      process.execPath,
      [
        ...(process.env.HOT_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.HOT_PROFILE_DIR}`] : []),
        'subgraphs/products/dist/index.js',
      ],
      {
        cwd: root,
        stdio: ['ignore', 'ignore', 'inherit'],
        env: {
          ...process.env,
          NODE_ENV: 'production',
          LOG_LEVEL: 'warn',
          PORT: String(port),
          HOST: '127.0.0.1',
          DATABASE_URL: url,
          REDIS_KEY_PREFIX: `bth-bench-hot:${process.pid}:`,
          AMQP_EXCHANGE: `bth-bench-hot.${process.pid}`,
          INTERNAL_JWT_SECRET: SECRET,
        },
      },
    ),
  );
  try {
    // The second replica waits for the first's migrations to be ready.
    for (const port of ports) {
      for (let i = 0; ; i++) {
        const ok = await fetch(`http://127.0.0.1:${port}/health/ready`).then(
          (r) => r.ok,
          () => false,
        );
        if (ok) break;
        if (i > 300) throw new Error(`products on ${port} never became ready`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const admin = { [IDENTITY_HEADER]: await signIdentityAssertion(SECRET, { userId: randomUUID(), role: 'ADMIN', sessionId: 'bench' }) };
    const gql = async (query, variables) => {
      const response = await fetch(`http://127.0.0.1:${ports[0]}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...admin },
        body: JSON.stringify({ query, variables }),
      });
      return response.json();
    };
    const created = await gql(`mutation($input: CreateProductInput!) { createProduct(input: $input) { ... on Product { id } } }`, {
      input: {
        name: `Hot ${randomUUID().slice(0, 8)}`,
        producer: 'Bench',
        price: 9900,
        function: 'IMPROVE_FATIGUE',
        type: 'CAPSULE',
        nutritionFacts: 'n/a',
        stock: initialStock,
      },
    });
    const productId = created.data.createProduct.id;
    const token = `Bearer ${await signServiceToken(SECRET, 'orders', 'inventory')}`;
    const result = await closedLoop(
      async (worker) => {
        const response = await fetch(`http://127.0.0.1:${ports[worker % 2]}/internal/inventory/reserve`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: token },
          body: JSON.stringify({ orderId: randomUUID(), userId: randomUUID(), lines: [{ productId, quantity: 1 }] }),
        });
        const body = await response.json();
        return body.outcome ?? body.error?.code ?? String(response.status);
      },
      [process.pid, ...children.map((c) => c.pid), mariadbPid()],
    );
    const report = await gql(`query($ids: [ID!]) { inventoryReport(productIds: $ids) { consistent products { stock reserved } } }`, {
      ids: [productId],
    });
    const numbers = report.data.inventoryReport;
    result.check = {
      consistent: numbers.consistent,
      stock: numbers.products[0].stock,
      reserved: numbers.products[0].reserved,
      oversold:
        numbers.products[0].stock < 0 ||
        numbers.products[0].reserved !== (result.outcomes.RESERVED ?? 0) ||
        numbers.products[0].stock + numbers.products[0].reserved !== initialStock,
    };
    const metrics = await Promise.all(ports.map((port) => fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text())));
    const sum = (kind) =>
      metrics
        .flatMap((text) => text.split('\n'))
        .filter((line) => line.startsWith('inventory_hot_path_total{') && line.includes(`kind="${kind}"`))
        .reduce((total, line) => total + Number(line.split(' ').at(-1)), 0);
    result.meanBatch = sum('batches') ? (sum('batched') / sum('batches')).toFixed(1) : 'n/a';
    return result;
  } finally {
    for (const child of children) child.kill('SIGTERM');
    await Promise.all(
      children.map((child) => new Promise((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', resolve)))),
    );
    const setup = await mysql.createConnection({ socketPath: SOCKET, user: 'root' });
    await setup.query(`DROP DATABASE IF EXISTS ${database}`);
    await setup.end();
  }
}

const run = { sql: plainSql, skip: skipLocked, api: viaApi }[mode];
if (!run) throw new Error(`unknown mode ${mode}: sql, skip or api`);
const result = await run();
const labels = mode === 'api' ? ['loadgen', 'products-1', 'products-2', 'mariadb'] : ['loadgen', 'mariadb'];
console.log(
  JSON.stringify({
    mode,
    concurrency,
    seconds,
    ...result,
    cpuPerOp: Object.fromEntries(labels.map((label, i) => [label, result.cpuPerOp[i]])),
  }),
);
