import { randomUUID } from 'node:crypto';
import { createAmqp, createDatabase, createRedis, ensureDatabase, parseDatabaseUrl, waitForRedis, type Identity, type Redis } from '@bth/platform';
import {
  TEST_SECRETS,
  deleteAmqpTopology,
  graphql,
  identityHeaders,
  serviceToken,
  silentLogger,
  testDatabaseUrl,
  testExchange,
  testMetrics,
  testRedisPrefix,
  recordStatements,
} from '@bth/testkit';
import { migrateProducts } from '../src/db/migrate.js';
import { createServer } from '../src/server.js';

export const REDIS_URL = 'redis://127.0.0.1:6379';

export interface StartOptions {
  /** Instances started with the same name share one database (replicas). */
  name?: string;
  /** Defaults to this run's own prefix for `name`; replicas pass the same one. */
  keyPrefix?: string;
  redisUrl?: string;
  lockWaitTimeoutSeconds?: number;
  poolSize?: number;
  /** Sale messages come from here; replicas pass the same one. Defaults to this run's own for `name`. */
  exchange?: string;
  /** Group-commit queue bounds for this instance (defaults: the service's). */
  hotProduct?: { queueHighWater?: number; maxBatch?: number };
  /** Defaults to true: the sale consumer and the outbox relay. Off where a test only needs products' HTTP side. */
  messaging?: boolean;
}

/** The queue every products instance consumes sale messages from (see server.ts). */
export const PRODUCTS_QUEUES = ['products.sales'];

/**
 * Starts the products subgraph in-process on a free port against this run's own database and
 * Redis keys. Every SQL statement sent through the pool is recorded in `statements` (the real
 * queries still run), so tests can count round trips without mocking the database.
 * `stop()` is for replicas; the instance that owns `name` calls `close()`, which also removes its
 * Redis keys and RabbitMQ topology. `stopServer()` / `startServer()` take the server down and bring
 * a new one up on the same port, database, Redis and broker clients, as a restarted replica would.
 */
export async function startProducts(options: StartOptions = {}) {
  const name = options.name ?? 'products';
  const url = testDatabaseUrl(name);
  await ensureDatabase(url);
  const database = createDatabase({ url, poolSize: options.poolSize ?? 20, logger: silentLogger, lockWaitTimeoutSeconds: options.lockWaitTimeoutSeconds ?? 5 });
  await migrateProducts(database, silentLogger);
  const statements = recordStatements(database.pool);

  const keyPrefix = options.keyPrefix ?? testRedisPrefix(name);
  const redisUrl = options.redisUrl ?? REDIS_URL;
  const redis = createRedis({ url: redisUrl, keyPrefix, logger: silentLogger });
  if (redisUrl === REDIS_URL) await waitForRedis(redis, 5_000);
  const exchange = options.exchange ?? testExchange(name);
  const amqp = createAmqp({ url: 'amqp://guest:guest@127.0.0.1:5672', exchange, logger: silentLogger });
  await amqp.waitForConnection(5_000);
  const messaging = options.messaging !== false;

  // A new server each time: Apollo does not start again once stopped, and a server's metrics
  // register their names once per registry.
  const serve = async (port: number) => {
    const server = createServer({
      config: { internalSecret: TEST_SECRETS.internal, exposeInternals: false, productCacheTtlSeconds: 60, listingCacheTtlSeconds: 10, hotProduct: options.hotProduct },
      logger: silentLogger,
      metrics: testMetrics('products'),
      database,
      redis,
      amqp,
    });
    return { server, running: await server.listen(port, '127.0.0.1') };
  };
  let current: Awaited<ReturnType<typeof serve>> | null = await serve(0);
  if (messaging) await current.server.messaging.start();
  const { port, url: graphqlUrl } = current.running;
  const base = graphqlUrl.replace(/\/graphql$/, '');

  const stopServer = async (graceMs?: number) => {
    if (!current) return;
    const { server, running } = current;
    current = null;
    await running.close(graceMs);
    await server.messaging.stop();
  };
  const stop = async () => {
    await stopServer();
    await amqp.close();
    redis.disconnect();
    await database.close();
  };
  /** Removes this run's queues and exchange from RabbitMQ (once, after the last replica stopped). */
  const deleteTopology = () => deleteAmqpTopology(exchange, messaging ? PRODUCTS_QUEUES : []);

  return {
    url: graphqlUrl,
    base,
    database,
    databaseName: parseDatabaseUrl(url).database,
    redis,
    keyPrefix,
    exchange,
    amqp,
    statements,
    /** Counter value from this instance's own /metrics endpoint. */
    async metric(name: string, labels: Record<string, string> = {}): Promise<number> {
      const text = await (await fetch(`${base}/metrics`)).text();
      const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
      const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && wanted.every((w) => l.includes(w)));
      return line ? Number(line.split(' ').at(-1)) : 0;
    },
    /** Closes the server for real (in-flight requests get 100 ms); the clients stay open. */
    stopServer: () => stopServer(100),
    /**
     * A new server on the same port and clients. The sale consumer stays registered on the kept
     * amqp client (consumers are never cancelled); the relay is the new server's.
     */
    async startServer() {
      if (current) return;
      current = await serve(port);
      if (messaging) current.server.messaging.relay.start();
    },
    stop,
    deleteTopology,
    /** `stop()`, then removes this instance's Redis keys and RabbitMQ topology (databases: `dropTestDatabases`). */
    async close() {
      await stop();
      await deleteKeys(keyPrefix);
      await deleteTopology();
    },
  };
}

export type Products = Awaited<ReturnType<typeof startProducts>>;

/** A Redis client without a key prefix, for MONITOR and for removing a run's keys. */
export function rawRedis(): Redis {
  return createRedis({ url: REDIS_URL, keyPrefix: '', logger: silentLogger });
}

export async function deleteKeys(prefix: string): Promise<void> {
  const redis = rawRedis();
  try {
    await waitForRedis(redis, 5_000);
    const stream = redis.scanStream({ match: `${prefix}*`, count: 500 });
    for await (const keys of stream as AsyncIterable<string[]>) if (keys.length) await redis.del(...keys);
  } finally {
    redis.disconnect();
  }
}

export const ADMIN: Identity = { userId: randomUUID(), role: 'ADMIN', sessionId: 'admin-session' };
export const USER: Identity = { userId: randomUUID(), role: 'USER', sessionId: 'user-session' };
export const asAdmin = () => identityHeaders(ADMIN);
export const asUser = () => identityHeaders(USER);

export const PRODUCT_FIELDS = 'id name producer price function type nutritionFacts stock salePrice saleEndsAt createdAt updatedAt';

export const CREATE = `mutation($input: CreateProductInput!) {
  createProduct(input: $input) {
    __typename
    ... on Product { ${PRODUCT_FIELDS} }
    ... on DuplicateProduct { message name producer existingProductId }
  }
}`;

export function productInput(overrides: Record<string, unknown> = {}) {
  return {
    name: `Vitamin ${randomUUID().slice(0, 8)}`,
    producer: 'BooTakHae Labs',
    price: 12_900,
    function: 'IMPROVE_FATIGUE',
    type: 'CAPSULE',
    nutritionFacts: 'Vitamin C 1000 mg',
    stock: 10,
    ...overrides,
  };
}

/** Creates a product as an admin and returns its id. */
export async function createProduct(products: Products, overrides: Record<string, unknown> = {}): Promise<string> {
  const response = await graphql(products.url, CREATE, { input: productInput(overrides) }, await asAdmin());
  if (response.errors || response.data?.createProduct.__typename !== 'Product') {
    throw new Error(`createProduct failed: ${JSON.stringify(response.errors ?? response.data)}`);
  }
  return response.data.createProduct.id as string;
}

export interface InventoryReply {
  status: number;
  body: Record<string, any>;
}

/** Calls the internal inventory API, by default with a valid service token from `orders`. */
export async function inventory(
  products: Products,
  operation: 'reserve' | 'release' | 'restock',
  body: unknown,
  headers?: Record<string, string>,
): Promise<InventoryReply> {
  const auth = headers ?? { authorization: `Bearer ${await serviceToken('orders', 'inventory')}` };
  const response = await fetch(`${products.base}/internal/inventory/${operation}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...auth },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

/** Current stock straight from MariaDB (never the cache). */
export async function stockOf(products: Products, productId: string): Promise<number> {
  const [rows] = (await products.database.pool.execute('SELECT stock FROM products WHERE id = ?', [productId])) as unknown as [{ stock: number }[]];
  return rows[0]!.stock;
}
