// The fault harness: a whole supergraph on free ports whose MariaDB (and, for the full matrix,
// Redis and RabbitMQ) are private servers the scenarios may kill, a closed-loop order load that
// records every answer with its time, and the invariant checks that must hold after any fault.
// Used by run.mjs (`npm run test:faults`, the whole matrix) and tests/e2e/faults-smoke.test.ts.
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';
import { Redis } from 'ioredis';
import { DEV_SECRET } from '@bth/platform/env';
import { signAccessToken } from '@bth/platform/identity';
import { deleteAmqpTopology, startPrivateMariadb, startPrivateRabbitMq, startPrivateRedis } from '@bth/testkit';
import { ROOT, startStack } from '../../../scripts/stack.mjs';
import { CREATE_PRODUCT, INVENTORY_REPORT, LISTING, LOGIN, PASSWORD, orderInput, productInput } from '../../load/lib/operations.js';
import { must, signUpMembers } from '../../load/lib/node.mjs';

const SERVICES = ['users', 'products', 'wishlists', 'orders', 'events'];
// A client that gives up later than any deadline the product sets, so a hang shows as latency.
const CLIENT_TIMEOUT_MS = 30_000;
// Statuses in which an order holds its units in inventory (what `soldUnits` counts).
const STANDING = ['AWAITING_PAYMENT', 'PAID', 'SHIPPING', 'DELIVERED', 'RETURN_REQUESTED'];
/** Text that must never reach a client: addresses, socket paths, SQL, stacks, the gateway's raw response. */
const INTERNAL_TEXT =
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|socketPath|\.sock\b|\/run\/|127\.0\.0\.1|localhost:\d|https?:\/\/|Failed query|\bselect\b.+\bfrom\b|\binsert into\b|\bat [\w.<>]+ \(|\.m?js:\d+|"response":\{/i;

export const PLACE_ORDER = `mutation PlaceOrder($input: PlaceOrderInput!) {
  placeOrder(input: $input) {
    __typename
    ... on Order { id status }
    ... on InventoryUnavailable { retryable retryAfterSeconds }
  }
}`;
const PAY_ORDER = `mutation Pay($id: ID!, $key: String!) {
  payOrder(orderId: $id, method: CARD, idempotencyKey: $key) { __typename }
}`;
const CREATE_SALE = `mutation Sale($input: CreateSaleEventInput!) { createSaleEvent(input: $input) { id } }`;

export const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** POSTs one operation and classifies the answer; never throws. */
async function post(url, query, variables, token) {
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query, variables }),
      signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS),
    });
    const text = await response.text();
    const leak = INTERNAL_TEXT.exec(text)?.[0];
    try {
      return { status: response.status, body: JSON.parse(text), leak };
    } catch {
      return { status: response.status, label: `HTTP ${response.status} (not JSON)`, leak };
    }
  } catch (error) {
    return { label: error.name === 'TimeoutError' ? 'no answer in 30 s' : 'connection failed' };
  }
}

/** "Order", "InsufficientStock", … for a typed result; the error code (and whether retryable) otherwise. */
function labelOf(answer, field) {
  if (answer.label) return answer.label;
  const typename = answer.body?.data?.[field]?.__typename;
  if (typename) return typename;
  const error = answer.body?.errors?.[0];
  if (!error) return field === 'products' && answer.body?.data?.products ? 'ok' : `HTTP ${answer.status} (no data)`;
  const code = error.extensions?.code ?? 'no code';
  return error.extensions?.retryable === true ? `${code} (retryable)` : code;
}

/**
 * A supergraph for fault runs. MariaDB is always private (scenarios kill -9 it); Redis and
 * RabbitMQ are private when asked for, otherwise the shared ones under a key prefix / exchange of
 * this run.
 */
export async function startFaultStack({
  privateRedis = true,
  privateRabbitmq = true,
  productsReplicas = 2,
  envFor = {},
  log = () => undefined,
} = {}) {
  const runId = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  const redisPrefix = `bth-faults:${runId}:`;
  const exchange = `bth-faults.${runId}`;
  const logs = [];
  const errorLines = [];
  const cleanups = [];
  const cleanUp = async () => {
    for (const fn of cleanups.reverse()) await fn().catch((error) => log(`clean-up: ${error.message}`));
  };
  try {
    log('starting a private MariaDB…');
    const mariadb = await startPrivateMariadb();
    cleanups.push(() => mariadb.destroy());
    const redis = privateRedis ? await startPrivateRedis() : undefined;
    if (redis) cleanups.push(() => redis.dispose());
    else cleanups.push(() => dropRedisKeys(redisPrefix));
    if (privateRabbitmq) log('starting a private RabbitMQ node…');
    const rabbitmq = privateRabbitmq ? await startPrivateRabbitMq('bthfault') : undefined;
    if (rabbitmq) cleanups.push(() => rabbitmq.close());
    else cleanups.push(() => deleteAmqpTopology(exchange, ['products.sales', 'events.sales']));

    const env = { NODE_ENV: 'development', LOG_LEVEL: 'warn', REDIS_KEY_PREFIX: redisPrefix, AMQP_EXCHANGE: exchange };
    if (redis) env.REDIS_URL = redis.url;
    if (rabbitmq) env.AMQP_URL = rabbitmq.url;
    const databaseName = (service) => `bth_faults_${service}`;
    for (const service of SERVICES) env[`${service.toUpperCase()}_DATABASE_URL`] = mariadb.url(databaseName(service));

    log('starting the supergraph…');
    const stack = await startStack({
      productsReplicas,
      env,
      envFor,
      onLog: (label, line) => {
        const stamped = `${new Date().toISOString()} ${label} ${line}`;
        logs.push(stamped);
        if (/"level":(50|60|"error"|"fatal")/.test(line)) errorLines.push(stamped);
      },
    });
    cleanups.push(async () => {
      await stack.stop();
      const dir = join(ROOT, 'tests', '.reports', 'logs');
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `faults-${runId}.log`), `${logs.join('\n')}\n`);
    });
    const url = stack.routerUrl;
    const ordersDb = mysql.createPool({ socketPath: mariadb.socket, user: 'root', database: databaseName('orders'), connectionLimit: 2 });
    cleanups.push(() => ordersDb.end());

    log('signing up an admin…');
    const [admin] = await signUpMembers(url, stack.service('users').base, 1, 1);
    await promisify(execFile)(process.execPath, [join(ROOT, 'subgraphs/users/dist/scripts/create-admin.js'), admin.email], {
      env: { ...process.env, DATABASE_URL: mariadb.url(databaseName('users')), LOG_LEVEL: 'warn' },
    });
    const adminToken = (await must(url, LOGIN, { e: admin.email, p: PASSWORD })).login.accessToken;

    return {
      runId,
      url,
      stack,
      mariadb,
      redis,
      rabbitmq,
      adminToken,
      errorLines,
      /** Shoppers with access tokens signed as users signs them (the sign-up journey is tested elsewhere). */
      async members(count) {
        return Promise.all(
          Array.from({ length: count }, async () => {
            const userId = randomUUID();
            return { userId, token: await signAccessToken(DEV_SECRET, { userId, role: 'USER', sessionId: randomUUID() }, 3_600) };
          }),
        );
      },
      async createProducts(stocks, price = 19_900) {
        const ids = [];
        for (const stock of stocks) {
          const created = await must(
            url,
            CREATE_PRODUCT,
            { input: productInput(`Fault ${randomUUID().slice(0, 8)}`, stock, price) },
            adminToken,
          );
          ids.push(created.createProduct.id);
        }
        return ids;
      },
      async createSale(productId, startsAt, endsAt) {
        const input = {
          name: 'Fault-run sale',
          productId,
          salePrice: 9_900,
          quantity: 50_000,
          perUserLimit: 50_000,
          startsAt: startsAt.toISOString(),
          endsAt: endsAt.toISOString(),
        };
        return (await must(url, CREATE_SALE, { input }, adminToken)).createSaleEvent.id;
      },
      /** The invariants every fault must leave intact; see checkInvariants. */
      checkInvariants: (productIds, records, options) => checkInvariants({ url, adminToken, ordersDb }, productIds, records, options),
      stop: cleanUp,
    };
  } catch (error) {
    await cleanUp();
    throw error;
  }
}

async function dropRedisKeys(prefix) {
  const redis = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/**
 * Closed-loop load until `stop()`: each member places 1-unit orders back to back on the products
 * (a fresh idempotency key each), every fourth request is the anonymous listing, and every fifth
 * order is paid twice at once under two keys (a double click) to probe double charges. Members
 * with an even index buy in `saleEventId` on `saleProductId` when one is given.
 */
export function startLoad({ url, members, productIds, saleEventId, saleProductId }) {
  const records = [];
  let running = true;
  let placed = 0;
  const one = async (kind, query, variables, token, field) => {
    const start = Date.now();
    const t0 = performance.now();
    const answer = await post(url, query, variables, token);
    const record = { kind, start, end: Date.now(), ms: performance.now() - t0, label: labelOf(answer, field), leak: answer.leak };
    records.push(record);
    // A refused connection fails in microseconds; a real client pauses before reconnecting, and
    // without it a closed loop would count thousands of refusals while the router restarts.
    if (answer.label === 'connection failed') await delay(200);
    return { record, answer };
  };
  const loops = members.map(async (member, vu) => {
    for (let i = 0; running; i++) {
      if (i % 4 === 3) {
        await one('listing', LISTING, { first: 20 }, undefined, 'products');
        continue;
      }
      const sale = saleEventId && vu % 2 === 0;
      const productId = sale ? saleProductId : productIds[(vu + i) % productIds.length];
      const { record, answer } = await one(
        sale ? 'sale order' : 'order',
        PLACE_ORDER,
        { input: orderInput(productId, randomUUID(), sale ? saleEventId : undefined) },
        member.token,
        'placeOrder',
      );
      const orderId = answer.body?.data?.placeOrder?.id;
      if (record.label === 'Order' && orderId) {
        record.orderId = orderId;
        placed += 1;
        if (placed % 5 === 0) {
          await Promise.all(
            [randomUUID(), randomUUID()].map((key) => one('payment', PAY_ORDER, { id: orderId, key }, member.token, 'payOrder')),
          );
        }
      }
    }
  });
  return {
    records,
    /** Stops issuing requests and waits for those in flight. */
    async stop() {
      running = false;
      await Promise.all(loops);
      return records;
    },
  };
}

/**
 * After a fault: no order of these products left PENDING (waited for, up to `pendingTimeoutMs`),
 * the admin inventory report consistent, its sold units equal to the units of standing orders,
 * every order a client was told it placed standing, and no order with two successful payments.
 */
async function checkInvariants({ url, adminToken, ordersDb }, productIds, records, { pendingTimeoutMs = 60_000 } = {}) {
  const ids = productIds;
  const marks = ids.map(() => '?').join(',');
  const pendingCount = async () => {
    const [rows] = await ordersDb.query(
      `SELECT COUNT(DISTINCT o.id) AS n FROM orders o JOIN order_lines l ON l.order_id = o.id WHERE o.status = 'PENDING' AND l.product_id IN (${marks})`,
      ids,
    );
    return Number(rows[0].n);
  };
  const waitStarted = Date.now();
  let pendingLeft = -1;
  while (Date.now() - waitStarted < pendingTimeoutMs) {
    pendingLeft = await pendingCount().catch(() => -1);
    if (pendingLeft === 0) break;
    await delay(250);
  }
  const pendingClearedMs = pendingLeft === 0 ? Date.now() - waitStarted : null;

  let report;
  for (let attempt = 0; attempt < 20 && !report; attempt++) {
    report = await must(url, INVENTORY_REPORT, { ids }, adminToken).then(
      (d) => d.inventoryReport,
      () => undefined,
    );
    if (!report) await delay(500);
  }
  const [standingRows] = await ordersDb.query(
    `SELECT COALESCE(SUM(l.quantity), 0) AS units FROM orders o JOIN order_lines l ON l.order_id = o.id
     WHERE o.status IN (${STANDING.map(() => '?').join(',')}) AND l.product_id IN (${marks})`,
    [...STANDING, ...ids],
  );
  const standingUnits = Number(standingRows[0].units);
  const told = records.filter((r) => r.orderId).map((r) => r.orderId);
  let notStanding = 0;
  for (let i = 0; i < told.length; i += 500) {
    const chunk = told.slice(i, i + 500);
    const [rows] = await ordersDb.query(
      `SELECT COUNT(*) AS n FROM orders WHERE id IN (${chunk.map(() => '?').join(',')}) AND status IN (${STANDING.map(() => '?').join(',')})`,
      [...chunk, ...STANDING],
    );
    notStanding += chunk.length - Number(rows[0].n);
  }
  const [charged] = await ordersDb.query(
    `SELECT COUNT(*) AS n FROM (SELECT order_id FROM payments WHERE status = 'SUCCEEDED' GROUP BY order_id HAVING COUNT(*) > 1) twice`,
  );
  const doubleCharged = Number(charged[0].n);
  const invariants = {
    inventoryConsistent: report?.consistent ?? false,
    soldUnits: report?.soldUnits ?? null,
    standingUnits,
    soldEqualsStanding: report?.soldUnits === standingUnits,
    pendingLeft,
    pendingClearedMs,
    clientOrdersNotStanding: notStanding,
    doubleCharged,
  };
  invariants.hold =
    invariants.inventoryConsistent && invariants.soldEqualsStanding && pendingLeft === 0 && notStanding === 0 && doubleCharged === 0;
  return invariants;
}

const percentile = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : null);
const round = (v) => (v === null ? null : Math.round(v));

function countLabels(records) {
  const counts = {};
  for (const r of records) {
    const key = `${r.kind}: ${r.label}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return Object.fromEntries(Object.entries(counts).sort((a, b) => b[1] - a[1]));
}

/** Numbers of one scenario run from its records and the fault's start and end. */
export function summarise(records, { loadStart, loadEnd, faultStart, faultEnd, recoveryKind }) {
  // In flight at some moment of the fault: a request stuck on a frozen peer since before the
  // fault began is as much a casualty as one sent during it.
  const inFault = records.filter((r) => r.start < faultEnd && r.end > faultStart);
  const before = records.filter((r) => r.end <= faultStart);
  const orderLatencies = (list) =>
    list
      .filter((r) => r.kind.endsWith('order'))
      .map((r) => r.ms)
      .sort((a, b) => a - b);
  const faultLat = orderLatencies(inFault);
  const baseLat = orderLatencies(before);
  const firstSuccess = records
    .filter((r) => (recoveryKind ? r.kind === recoveryKind : r.kind.endsWith('order')) && r.label === 'Order' && r.start >= faultEnd)
    .reduce((min, r) => Math.min(min, r.end), Infinity);
  const leaks = records.filter((r) => r.leak);
  const loadSeconds = (loadEnd - loadStart) / 1000;
  return {
    offered: {
      requests: records.length,
      perSecond: Math.round((records.length / loadSeconds) * 10) / 10,
      orderAttempts: records.filter((r) => r.kind.endsWith('order')).length,
      seconds: Math.round(loadSeconds * 10) / 10,
    },
    faultSeconds: Math.round((faultEnd - faultStart) / 100) / 10,
    faultWindowOutcomes: countLabels(inFault),
    /** What clients got once the fault was over: refusals here mean a slow or false recovery. */
    afterFaultOutcomes: countLabels(records.filter((r) => r.start >= faultEnd)),
    allOutcomes: countLabels(records),
    orderLatencyMs: {
      baselineP50: round(percentile(baseLat, 50)),
      baselineP99: round(percentile(baseLat, 99)),
      faultP50: round(percentile(faultLat, 50)),
      faultP99: round(percentile(faultLat, 99)),
      faultMax: round(faultLat.at(-1) ?? null),
    },
    /** The longest any request started in the fault window waited, listing and payments included. */
    slowestInFaultMs: round(inFault.reduce((max, r) => Math.max(max, r.ms), 0)),
    recoveryMs: Number.isFinite(firstSuccess) ? Math.max(0, firstSuccess - faultEnd) : null,
    internalTextLeaks: leaks.length,
    leakSample: leaks[0] ? `${leaks[0].kind}: ${leaks[0].label} (${leaks[0].leak})` : null,
  };
}

/**
 * One scenario: load for `warmupMs`, the fault (`inject` returns once the fault is over and the
 * broken part is back), load for `afterMs` more (longer, up to `recoveryCapMs`, until an order
 * succeeds again), then the invariants.
 */
export async function runScenario(
  h,
  scenario,
  { vus = 16, warmupMs = 3_000, afterMs = 6_000, recoveryCapMs = 30_000, pendingTimeoutMs = 60_000, log = () => undefined } = {},
) {
  const productIds = await h.createProducts([1_000_000, 1_000_000, 120]);
  const members = await h.members(vus);
  const context = { productIds, log };
  const setup = scenario.setup ? await scenario.setup(h, context) : {};
  const loadStart = Date.now();
  const load = startLoad({
    url: h.url,
    members,
    productIds: [...productIds, ...(setup.saleProductId ? [setup.saleProductId] : [])],
    ...setup,
  });
  const errorLinesBefore = h.errorLines.length;
  await delay(warmupMs);
  let faultStart = Date.now();
  log(`${scenario.name}: fault on`);
  // A scenario that first waits for its moment (a sale's start) marks when the fault really begins.
  const faultBegins = () => {
    faultStart = Date.now();
  };
  const notes = (await scenario.inject(h, { ...context, ...setup, faultBegins })) ?? {};
  const faultEnd = Date.now();
  log(`${scenario.name}: fault over after ${((faultEnd - faultStart) / 1000).toFixed(1)} s`);
  // Recovery is judged on the requests the fault is about (sale orders for a sale's start).
  const recoveryKind = scenario.recoveryKind;
  const recovered = () =>
    load.records.some(
      (r) => (recoveryKind ? r.kind === recoveryKind : r.kind.endsWith('order')) && r.label === 'Order' && r.start >= faultEnd,
    );
  await delay(afterMs);
  const cap = Date.now() + recoveryCapMs;
  while (!recovered() && Date.now() < cap) await delay(100);
  const records = await load.stop();
  const loadEnd = Date.now();
  const summary = summarise(records, { loadStart, loadEnd, faultStart, faultEnd, recoveryKind });
  const invariants = await h.checkInvariants([...productIds, ...(setup.saleProductId ? [setup.saleProductId] : [])], records, {
    pendingTimeoutMs,
  });
  const extra = scenario.extra ? scenario.extra(records, { ...setup, faultStart, faultEnd }) : undefined;
  return {
    name: scenario.name,
    title: scenario.title,
    vus,
    ...(recoveryKind ? { recoveryKind } : {}),
    ...summary,
    ...(extra ? { extra } : {}),
    notes,
    invariants,
    serviceErrorLines: h.errorLines.length - errorLinesBefore,
  };
}
