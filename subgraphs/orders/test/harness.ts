import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createDatabase, createLogger, ensureDatabase, migrate, type DatabaseClient, type Identity, type Redis } from '@bth/platform';
import { TEST_SECRETS, graphql, identityHeaders, silentLogger, testDatabaseUrl, testMetrics } from '@bth/testkit';
import type { Products } from '../../products/test/harness.js';
import { HOLDS_STOCK } from '../src/order-status.js';
import { createServer, type OrdersDeps } from '../src/server.js';

export type OrdersConfig = OrdersDeps['config'];

// ORDERS_TEST_LOG=debug shows the orders service's own log lines while a test runs.
const ordersLogger = process.env.ORDERS_TEST_LOG ? createLogger({ service: 'orders-test' }, 'debug') : silentLogger;

export interface OrdersOptions {
  /** Another instance's database: this one then neither migrates nor closes it (a second instance of the service). */
  database?: DatabaseClient;
  /** Defaults to true; off where a test only places orders and no timer should outlive it. */
  scheduler?: boolean;
  /** Products' Redis client (same key prefix): turns the sold-out fast path on. */
  redis?: Redis;
}

/**
 * Starts the orders subgraph in-process on a free port against this run's own database, or on
 * `options.database` as a second instance of the service.
 */
export async function startOrders(config: Partial<OrdersConfig> & { inventoryUrls: string[] }, options: OrdersOptions = {}) {
  const owned = options.database === undefined;
  const database = options.database ?? (await ordersDatabase());
  const server = createServer({
    config: {
      internalSecret: TEST_SECRETS.internal,
      dataEncryptionKey: Buffer.alloc(32, 9).toString('base64'),
      exposeInternals: false,
      inventoryTimeoutMs: 7_000,
      inventoryHangMs: 1_000,
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
    redis: options.redis,
  });
  const running = await server.listen(0, '127.0.0.1');
  if (options.scheduler !== false) server.scheduler.start();
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
      if (owned) await database.close();
    },
  };
}

export type Orders = Awaited<ReturnType<typeof startOrders>>;

async function ordersDatabase(): Promise<DatabaseClient> {
  const url = testDatabaseUrl('orders');
  await ensureDatabase(url);
  const database = createDatabase({ url, poolSize: 20, logger: silentLogger, lockWaitTimeoutSeconds: 10 });
  await migrate(database, fileURLToPath(new URL('../drizzle', import.meta.url)), silentLogger);
  return database;
}

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

/** Reservation ledger rows in products for one order (RESERVATION, RELEASE, RESTOCK). */
export async function ledgerOf(products: Products, orderId: string): Promise<{ kind: string; quantity_delta: number }[]> {
  const [rows] = (await products.database.pool.query('SELECT kind, quantity_delta FROM stock_ledger WHERE order_id = ? ORDER BY id', [orderId])) as unknown as [
    { kind: string; quantity_delta: number }[],
  ];
  return rows;
}
