#!/usr/bin/env node
// CPU per refusal of a sold-out product, orders + products in ONE process (no router, no stack to
// boot: usable on a machine too loaded for fast-paths-cpu.mjs), A/B on the same build in the same
// run: FAST=off gives orders no Redis (every refusal takes the order path to products, whose own
// lock-free fast path answers it — the state before issue 10's orders fast path); FAST=on gives it
// products' Redis client, so it reads the sold-out marker. process.cpuUsage() before and after N
// refusals from VUS concurrent members, sent straight to orders' /graphql.
//
//   N=2000 VUS=20 node subgraphs/orders/bench/sold-out-inprocess.mjs
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createAmqp } from '@bth/platform/amqp';
import { createDatabase, ensureDatabase, migrate } from '@bth/platform/db';
import { createRedis, waitForRedis } from '@bth/platform/redis';
import {
  TEST_SECRETS,
  dropTestDatabases,
  graphql,
  identityHeaders,
  silentLogger,
  testDatabaseUrl,
  testMetrics,
  testRedisPrefix,
} from '@bth/testkit';
import { migrateProducts } from '../../products/dist/db/migrate.js';
import { createServer as createProducts } from '../../products/dist/server.js';
import { createServer as createOrders } from '../dist/server.js';
import { CREATE_PRODUCT, PLACE_ORDER, orderInput, productInput } from '../../../tests/load/lib/operations.js';

const total = Number(process.env.N ?? 2000);
const vus = Number(process.env.VUS ?? 20);

const productsDb = createDatabase({ url: testDatabaseUrl('fp_products'), poolSize: 20, logger: silentLogger, lockWaitTimeoutSeconds: 5 });
await ensureDatabase(testDatabaseUrl('fp_products'));
await migrateProducts(productsDb, silentLogger);
const ordersUrl = testDatabaseUrl('fp_orders');
await ensureDatabase(ordersUrl);
const ordersDb = createDatabase({ url: ordersUrl, poolSize: 20, logger: silentLogger, lockWaitTimeoutSeconds: 10 });
await migrate(ordersDb, fileURLToPath(new URL('../drizzle', import.meta.url)), silentLogger);
const redis = createRedis({ url: 'redis://127.0.0.1:6379', keyPrefix: testRedisPrefix('fp'), logger: silentLogger });
await waitForRedis(redis, 5_000);
const amqp = createAmqp({ url: 'amqp://guest:guest@127.0.0.1:5672', exchange: `bth-fp-${randomUUID()}`, logger: silentLogger });

const products = createProducts({
  config: { internalSecret: TEST_SECRETS.internal, exposeInternals: false, productCacheTtlSeconds: 60, listingCacheTtlSeconds: 10 },
  logger: silentLogger,
  metrics: testMetrics('products'),
  database: productsDb,
  redis,
  amqp,
});
const productsRunning = await products.listen(0, '127.0.0.1');
const ordersConfig = (fast) => ({
  config: {
    internalSecret: TEST_SECRETS.internal,
    dataEncryptionKey: Buffer.alloc(32, 9).toString('base64'),
    exposeInternals: false,
    inventoryUrls: [productsRunning.url.replace(/\/graphql$/, '')],
    inventoryTimeoutMs: 7_000,
    inventoryHangMs: 1_000,
    inventoryBreakerResetMs: 1_000,
    paymentTimeoutSeconds: 900,
    shipAfterSeconds: 86_400,
    deliverAfterSeconds: 86_400,
    returnWindowSeconds: 86_400,
    returnCompleteAfterSeconds: 86_400,
    reconcilePendingAfterSeconds: 30,
    schedulerIntervalMs: 1_000,
    paymentDeclineMethods: [],
  },
  logger: silentLogger,
  metrics: testMetrics(`orders-${fast}`),
  database: ordersDb,
  redis: fast ? redis : undefined,
});

const admin = await identityHeaders({ userId: randomUUID(), role: 'ADMIN', sessionId: randomUUID() });
const identities = Array.from({ length: vus }, () => ({ userId: randomUUID(), role: 'USER', sessionId: randomUUID() }));
// Identity assertions live seconds (as the router's do): signed again every 5 s, in both modes alike.
const members = await Promise.all(identities.map((identity) => identityHeaders(identity)));
const resign = setInterval(() => {
  identities.forEach((identity, i) => void identityHeaders(identity).then((headers) => (members[i] = headers)));
}, 5_000);
const created = await graphql(
  productsRunning.url,
  CREATE_PRODUCT,
  { input: productInput(`Sold out ${randomUUID().slice(0, 8)}`, 1) },
  admin,
);
const productId = created.data.createProduct.id;

async function measure(fast) {
  const orders = createOrders(ordersConfig(fast));
  const running = await orders.listen(0, '127.0.0.1');
  const place = async (vu) => {
    const r = await graphql(running.url, PLACE_ORDER, { input: orderInput(productId, randomUUID()) }, members[vu]);
    return r.errors ? `error: ${r.errors[0]?.extensions?.code}` : r.data.placeOrder.__typename;
  };
  const loop = async (count) => {
    const outcomes = {};
    let next = 0;
    await Promise.all(
      Array.from({ length: vus }, async (_, vu) => {
        while (next++ < count) {
          const label = await place(vu);
          outcomes[label] = (outcomes[label] ?? 0) + 1;
        }
      }),
    );
    return outcomes;
  };
  await loop(200); // warm-up (and, the first time, the sale of the one unit and the marker)
  await new Promise((resolve) => setTimeout(resolve, 500));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const outcomes = await loop(total);
  const elapsedMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  await running.close(100);
  orders.inventory.shutdown();
  return {
    fast,
    outcomes,
    perSecond: Math.round((total / elapsedMs) * 1000),
    cpuMsPerRefusal: Math.round(((cpu.user + cpu.system) / 1000 / total) * 1000) / 1000,
  };
}

try {
  for (const fast of [false, true, false, true]) console.log(JSON.stringify(await measure(fast)));
} finally {
  clearInterval(resign);
  await productsRunning.close(100);
  await products.messaging.stop();
  await amqp.close();
  redis.disconnect();
  await productsDb.close();
  await ordersDb.close();
  await dropTestDatabases();
}
