import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createAmqp, createDatabase, createLogger, createRedis, ensureDatabase, migrate, waitForRedis, type Identity } from '@bth/platform';
import {
  TEST_SECRETS,
  deleteAmqpTopology,
  graphql,
  identityHeaders,
  silentLogger,
  testDatabaseUrl,
  testExchange,
  testMetrics,
  testRedisPrefix,
} from '@bth/testkit';
import { migrateProducts } from '../../products/src/db/migrate.js';
import { createServer as createProductsServer } from '../../products/src/server.js';
import { HOLDS_STOCK } from '../src/order-status.js';
import { createServer, type OrdersDeps } from '../src/server.js';

const REDIS_URL = 'redis://127.0.0.1:6379';

/**
 * The real products subgraph in-process (its inventory API is what orders calls), on this run's
 * own database. `stop()` closes it for real; `start()` brings a new instance up on the same port
 * and database, as a restarted replica would.
 */
export async function startProducts() {
  const url = testDatabaseUrl('products');
  await ensureDatabase(url);
  const database = createDatabase({ url, poolSize: 20, logger: silentLogger, lockWaitTimeoutSeconds: 5 });
  await migrateProducts(database, silentLogger);
  const keyPrefix = testRedisPrefix('products');
  const redis = createRedis({ url: REDIS_URL, keyPrefix, logger: silentLogger });
  await waitForRedis(redis, 5_000);
  // Sale messages are not part of these tests; the client only satisfies products' wiring.
  const exchange = testExchange('orders-products');
  const amqp = createAmqp({ url: 'amqp://guest:guest@127.0.0.1:5672', exchange, logger: silentLogger });
  const listen = (port: number) =>
    createProductsServer({
      config: { internalSecret: TEST_SECRETS.internal, exposeInternals: false, productCacheTtlSeconds: 60, listingCacheTtlSeconds: 10 },
      logger: silentLogger,
      metrics: testMetrics('products'),
      database,
      redis,
      amqp,
    }).listen(port, '127.0.0.1');
  let running: Awaited<ReturnType<typeof listen>> | null = await listen(0);
  const port = running.port;
  const base = `http://127.0.0.1:${port}`;
  const admin: Identity = { userId: randomUUID(), role: 'ADMIN', sessionId: 'admin' };

  const products = {
    url: `${base}/graphql`,
    base,
    database,
    async stop() {
      await running?.close(100);
      running = null;
    },
    async start() {
      if (!running) running = await listen(port);
    },
    async createProduct(stock: number, price = 12_900): Promise<string> {
      const response = await graphql(
        products.url,
        `mutation($input: CreateProductInput!) { createProduct(input: $input) { __typename ... on Product { id } } }`,
        {
          input: {
            name: `Vitamin ${randomUUID().slice(0, 8)}`,
            producer: 'BooTakHae Labs',
            price,
            function: 'IMPROVE_FATIGUE',
            type: 'CAPSULE',
            stock,
          },
        },
        await identityHeaders(admin),
      );
      const id = response.data?.createProduct?.id;
      if (typeof id !== 'string') throw new Error(`createProduct failed: ${JSON.stringify(response.errors ?? response.data)}`);
      return id;
    },
    async stockOf(productId: string): Promise<number> {
      const [rows] = (await database.pool.query('SELECT stock FROM products WHERE id = ?', [productId])) as unknown as [{ stock: number }[]];
      return rows[0]!.stock;
    },
    /** Reservation ledger rows for one order (RESERVATION, RELEASE, RESTOCK). */
    async ledgerOf(orderId: string): Promise<{ kind: string; quantity_delta: number }[]> {
      const [rows] = (await database.pool.query('SELECT kind, quantity_delta FROM stock_ledger WHERE order_id = ? ORDER BY id', [orderId])) as unknown as [
        { kind: string; quantity_delta: number }[],
      ];
      return rows;
    },
    /** The admin inventory report of products (the invariant check load tests use). */
    async report(productIds: string[]) {
      const response = await graphql(
        products.url,
        `query($ids: [ID!]) { inventoryReport(productIds: $ids) { consistent totalDifference soldUnits totalStock products { productId stock sold } } }`,
        { ids: productIds },
        await identityHeaders(admin),
      );
      if (!response.data) throw new Error(`inventoryReport failed: ${JSON.stringify(response.errors)}`);
      return response.data.inventoryReport as {
        consistent: boolean;
        totalDifference: number;
        soldUnits: number;
        totalStock: number;
        products: { productId: string; stock: number; sold: number }[];
      };
    },
    async close() {
      await products.stop();
      await amqp.close();
      redis.disconnect();
      await database.close();
      await deleteAmqpTopology(exchange, []);
    },
  };
  return products;
}

export type Products = Awaited<ReturnType<typeof startProducts>>;

export type OrdersConfig = OrdersDeps['config'];

// ORDERS_TEST_LOG=debug shows the orders service's own log lines while a test runs.
const ordersLogger = process.env.ORDERS_TEST_LOG ? createLogger({ service: 'orders-test' }, 'debug') : silentLogger;

/** Starts the orders subgraph in-process on a free port against this run's own database. */
export async function startOrders(config: Partial<OrdersConfig> & { inventoryUrls: string[] }) {
  const url = testDatabaseUrl('orders');
  await ensureDatabase(url);
  const database = createDatabase({ url, poolSize: 20, logger: silentLogger, lockWaitTimeoutSeconds: 10 });
  await migrate(database, fileURLToPath(new URL('../drizzle', import.meta.url)), silentLogger);
  const server = createServer({
    config: {
      internalSecret: TEST_SECRETS.internal,
      dataEncryptionKey: Buffer.alloc(32, 9).toString('base64'),
      exposeInternals: false,
      inventoryTimeoutMs: 7_000,
      inventoryBreakerResetMs: 1_000,
      paymentTimeoutSeconds: 900,
      shipAfterSeconds: 86_400,
      deliverAfterSeconds: 86_400,
      returnWindowSeconds: 86_400,
      returnCompleteAfterSeconds: 86_400,
      reconcilePendingAfterSeconds: 30,
      schedulerIntervalMs: 100,
      paymentDeclineMethods: ['MOBILE'],
      ...config,
    },
    logger: ordersLogger,
    metrics: testMetrics('orders'),
    database,
  });
  const running = await server.listen(0, '127.0.0.1');
  server.scheduler.start();
  return {
    url: running.url,
    base: running.url.replace(/\/graphql$/, ''),
    database,
    inventory: server.inventory,
    async query<T extends Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
      const [rows] = (await database.pool.query(sql, params)) as unknown as [T[]];
      return rows;
    },
    /** Units of `productId` held by orders in a status that holds stock, per the orders database. */
    async heldUnits(productId: string): Promise<number> {
      const statuses = [...HOLDS_STOCK];
      const [rows] = (await database.pool.query(
        `SELECT COALESCE(SUM(l.quantity), 0) AS n FROM order_lines l JOIN orders o ON o.id = l.order_id
         WHERE l.product_id = ? AND o.status IN (${statuses.map(() => '?').join(',')})`,
        [productId, ...statuses],
      )) as unknown as [{ n: number | string }[]];
      return Number(rows[0]!.n);
    },
    async stop() {
      await server.scheduler.stop();
      await running.close(100);
      server.inventory.shutdown();
      await database.close();
    },
  };
}

export type Orders = Awaited<ReturnType<typeof startOrders>>;

/** A signed-in shopper, as the router would present them to a subgraph. */
export async function newUser(role: Identity['role'] = 'USER') {
  const identity: Identity = { userId: randomUUID(), role, sessionId: randomUUID() };
  return { identity, headers: await identityHeaders(identity) };
}

export type User = Awaited<ReturnType<typeof newUser>>;

export const SHIPPING = { postalCode: '06236', address: 'Teheran-ro 123, Gangnam-gu', phone: '01012345678' };

export const ORDER_FIELDS = `id status totalAmount paymentDueAt createdAt
  lines { product { id } quantity unitPrice regularPrice lineTotal }
  shipping { postalCode address phone }
  payment { method amount paidAt } refund { amount reason refundedAt } returnRequest { reason requestedAt }
  history { status at }`;

export const PLACE = `mutation($input: PlaceOrderInput!) {
  placeOrder(input: $input) {
    __typename
    ... on Order { ${ORDER_FIELDS} }
    ... on InsufficientStock { productId requested available }
    ... on ProductNotFound { productId }
    ... on SaleNotLive { productId saleEventId }
    ... on SaleSoldOut { productId saleEventId requested remaining }
    ... on PurchaseLimitExceeded { productId saleEventId limit alreadyPurchased }
    ... on InventoryUnavailable { message retryable retryAfterSeconds }
  }
}`;

export const PAY = `mutation($id: ID!, $method: PaymentMethod!, $key: String!) {
  payOrder(orderId: $id, method: $method, idempotencyKey: $key) {
    __typename
    ... on Order { ${ORDER_FIELDS} }
    ... on PaymentDeclined { orderId method reason }
    ... on OrderNotPayable { orderId status }
  }
}`;

export const CANCEL = `mutation($id: ID!) {
  cancelOrder(orderId: $id) { __typename ... on Order { ${ORDER_FIELDS} } ... on OrderNotCancellable { orderId status } }
}`;

export const RETURN = `mutation($id: ID!, $reason: ReturnReason!) {
  requestReturn(orderId: $id, reason: $reason) { __typename ... on Order { ${ORDER_FIELDS} } ... on ReturnNotAllowed { orderId reason status } }
}`;

export const ORDER = `query($id: ID!) { order(id: $id) { ${ORDER_FIELDS} } }`;

export function placeInput(lines: { productId: string; quantity: number }[], overrides: Record<string, unknown> = {}) {
  return { lines, shipping: SHIPPING, idempotencyKey: randomUUID(), ...overrides };
}

/** Places an order and returns the GraphQL result object (`placeOrder`). */
export async function place(orders: Orders, user: User, lines: { productId: string; quantity: number }[], overrides: Record<string, unknown> = {}) {
  const response = await graphql(orders.url, PLACE, { input: placeInput(lines, overrides) }, user.headers);
  if (response.errors) throw new Error(`placeOrder failed: ${JSON.stringify(response.errors)}`);
  return response.data!.placeOrder as Record<string, any>;
}

export async function statusOf(orders: Orders, orderId: string): Promise<string | undefined> {
  const [row] = await orders.query<{ status: string }>('SELECT status FROM orders WHERE id = ?', [orderId]);
  return row?.status;
}
