import { randomBytes, randomUUID } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';
import { Redis } from 'ioredis';
import { deleteAmqpTopology, graphql, waitFor, type GraphQLResponse } from '@bth/testkit';
import { DEV_SECRET } from '@bth/platform/env';
import { signAccessToken } from '@bth/platform/identity';
// The same launcher `npm start` uses, so the tests exercise the real start-up path.
import { ROOT, startStack as launch } from '../../scripts/stack.mjs';

const run = promisify(execFile);

export interface StackOptions {
  /** Environment for every service. */
  env?: Record<string, string>;
  /** Extra environment per service (`users`, `products`, `orders`, `wishlists`, `events`, `router`). */
  envFor?: Record<string, Record<string, string>>;
  productsReplicas?: number;
  only?: string[];
  /**
   * How long each service may take to become ready (default 90 s). Cold starts of six Node
   * processes at once took longer than that on a 2-core box shared with other test runs.
   */
  startTimeoutMs?: number;
  /**
   * Where `signUp` reads a verification code. Default: the users service's development mailbox,
   * which production does not have (there, codes go to an SMTP sink: tests/support/smtp-sink.ts).
   */
  mailbox?: (email: string) => Promise<string>;
}

/**
 * What production requires instead of the public development defaults: fresh random secrets and
 * keys for every service (refused otherwise by each `assertProductionSecrets`). Pass `env` and
 * `envFor` to `startStack`, adding the users service's SMTP_URL.
 */
export function productionEnv(): { env: Record<string, string>; envFor: Record<string, Record<string, string>> } {
  const secret = () => randomBytes(32).toString('base64url');
  const aesKey = () => randomBytes(32).toString('base64');
  return {
    env: { NODE_ENV: 'production', INTERNAL_JWT_SECRET: secret(), ACCESS_TOKEN_SECRET: secret() },
    envFor: { users: { DATA_ENCRYPTION_KEY: aesKey(), BLIND_INDEX_KEY: secret() }, orders: { DATA_ENCRYPTION_KEY: aesKey() } },
  };
}

export interface Member {
  userId: string;
  email: string;
  password: string;
  accessToken: string;
  refreshToken: string;
}

export interface ServiceHandle {
  name: string;
  index: number;
  url: string;
  base: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  kill(): Promise<void>;
  /** SIGSTOP: the process hangs (connections are accepted, nothing answers) until `resume()`. */
  pause(): void;
  resume(): void;
}

export const PASSWORD = 'Secr3t!pass';

/** A valid delivery address for orders and wishlist orders. */
export const SHIPPING = { postalCode: '06236', address: 'Teheran-ro 123', phone: '01012345678' } as const;

export interface OrderLineInput {
  productId: string;
  quantity: number;
  /** Buy in this live sale event. */
  saleEventId?: string;
}

export interface NewProduct {
  stock: number;
  price?: number;
  name?: string;
}

/** Every member of `PlaceOrderResult` with the fields the tests assert on. */
export const PLACE_ORDER = `mutation($input: PlaceOrderInput!) {
  placeOrder(input: $input) {
    __typename
    ... on Order { id status totalAmount paymentDueAt }
    ... on InsufficientStock { productId requested available }
    ... on ProductNotFound { productId }
    ... on SaleNotLive { productId saleEventId }
    ... on SaleSoldOut { productId saleEventId requested remaining }
    ... on PurchaseLimitExceeded { productId saleEventId limit alreadyPurchased }
    ... on InventoryUnavailable { message retryable retryAfterSeconds }
  }
}`;

/** An order as its owner reads it through the router (lines resolved by products). */
export const ORDER = `query($id: ID!) {
  order(id: $id) {
    id status totalAmount paymentDueAt
    lines { quantity unitPrice lineTotal product { id name stock } }
    payment { method amount }
    refund { amount reason }
    returnRequest { reason }
    history { status }
  }
}`;

export const PAY_ORDER = `mutation($id: ID!, $method: PaymentMethod!, $key: String!) {
  payOrder(orderId: $id, method: $method, idempotencyKey: $key) {
    __typename
    ... on Order { id status payment { method amount } }
    ... on OrderNotPayable { orderId status }
    ... on PaymentDeclined { orderId reason }
  }
}`;

export const CANCEL_ORDER = `mutation($id: ID!) {
  cancelOrder(orderId: $id) {
    __typename
    ... on Order { id status refund { amount reason } }
    ... on OrderNotCancellable { orderId status }
  }
}`;

export const REQUEST_RETURN = `mutation($id: ID!, $reason: ReturnReason!) {
  requestReturn(orderId: $id, reason: $reason) {
    __typename
    ... on Order { id status returnRequest { reason } }
    ... on ReturnNotAllowed { orderId reason status }
  }
}`;

export interface OrderView {
  id: string;
  status: string;
  totalAmount: number | null;
  paymentDueAt: string | null;
  lines: Array<{
    quantity: number;
    unitPrice: number | null;
    lineTotal: number | null;
    product: { id: string; name: string; stock: number };
  }>;
  payment: { method: string; amount: number } | null;
  refund: { amount: number; reason: string } | null;
  returnRequest: { reason: string } | null;
  history: Array<{ status: string }>;
}

export const INVENTORY_REPORT = `query($ids: [ID!]) {
  inventoryReport(productIds: $ids) {
    consistent soldUnits totalStock totalDifference
    products { productId stock initialStock adjusted reserved released restocked sold difference }
    sales { eventId quantity perUserLimit sold heldByOrders maxPerMember consistent }
  }
}`;

export interface InventoryReport {
  consistent: boolean;
  soldUnits: number;
  totalStock: number;
  totalDifference: number;
  products: Array<{
    productId: string;
    stock: number;
    initialStock: number;
    adjusted: number;
    reserved: number;
    released: number;
    restocked: number;
    sold: number;
    difference: number;
  }>;
  sales: Array<{
    eventId: string;
    quantity: number;
    perUserLimit: number;
    sold: number;
    heldByOrders: number;
    maxPerMember: number;
    consistent: boolean;
  }>;
}

/**
 * Sum of the samples of one Prometheus metric whose labels include `labels`, read from the text
 * exposition format (`name{a="x",b="y"} 12`). 0 when there is no such sample yet.
 */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const sample = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([key, value]) => sample[key] === value)) total += Number(match[3]);
  }
  return total;
}

/**
 * A whole supergraph for one test file: every service as a child process on free ports, with
 * databases, Redis keys and an exchange of its own. Logs are kept and written to
 * `tests/.reports/logs/` when the stack stops, for reading after a failure.
 */
export async function startStack(options: StackOptions = {}) {
  const runId = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  const databasePrefix = `bth_e2e_${runId}`;
  const redisPrefix = `bth-e2e:${runId}:`;
  const logs: string[] = [];
  const exchange = `bth-e2e.${runId}`;
  const pools = new Map<string, mysql.Pool>();

  async function cleanUp() {
    await Promise.all([...pools.values()].map((p) => p.end().catch(() => undefined)));
    pools.clear();
    const conn = await mysql.createConnection({ socketPath: '/run/mysqld/mysqld.sock', user: 'root' });
    try {
      const [rows] = (await conn.query(`SHOW DATABASES LIKE '${databasePrefix.replace(/_/g, '\\_')}\\_%'`)) as unknown as [
        Record<string, string>[],
      ];
      for (const row of rows) await conn.query(`DROP DATABASE IF EXISTS \`${Object.values(row)[0]}\``);
    } finally {
      await conn.end();
    }
    const redis = new Redis('redis://127.0.0.1:6379', { lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await redis.connect();
      let cursor = '0';
      do {
        const [nextCursor, keys] = await redis.scan(cursor, 'MATCH', `${redisPrefix}*`, 'COUNT', 500);
        cursor = nextCursor;
        if (keys.length) await redis.del(...keys);
      } while (cursor !== '0');
    } catch {
      // Redis may be stopped by a fault test; leftover keys of a test run are harmless.
    } finally {
      redis.disconnect();
    }
    // Quorum queues are durable: without this every run would leave its queues on the broker.
    // Deleting one that was never declared (a partial stack) is a no-op.
    await deleteAmqpTopology(exchange, ['products.sales', 'events.sales']).catch(() => undefined);
  }

  function writeLogs() {
    const dir = join(ROOT, 'tests', '.reports', 'logs');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `${runId}.log`), `${logs.join('\n')}\n`);
  }

  const stack = await launch({
    databasePrefix,
    productsReplicas: options.productsReplicas,
    only: options.only,
    // A ready service answers in well under 30 s on a quiet machine; 90 s only matters when the
    // machine is shared, where a failed start would fail the whole file for no fault of the code.
    startTimeoutMs: options.startTimeoutMs ?? 90_000,
    env: {
      NODE_ENV: 'development',
      LOG_LEVEL: 'info',
      REDIS_KEY_PREFIX: redisPrefix,
      AMQP_EXCHANGE: exchange,
      ...options.env,
    },
    envFor: options.envFor,
    onLog: (label: string, line: string) => {
      logs.push(`${label} ${line}`);
    },
  }).catch(async (error: unknown) => {
    // The launcher already stopped what it started; keep the logs that say why and drop the data.
    writeLogs();
    await cleanUp();
    throw error;
  });

  const gql = <T = Record<string, any>>(
    query: string,
    variables: Record<string, unknown> = {},
    accessToken?: string,
  ): Promise<GraphQLResponse<T>> =>
    graphql<T>(stack.routerUrl, query, variables, accessToken ? { authorization: `Bearer ${accessToken}` } : {});

  async function lastCode(email: string): Promise<string> {
    if (options.mailbox) return options.mailbox(email);
    const response = await fetch(`${stack.service('users').base}/dev/mailbox?email=${encodeURIComponent(email)}`);
    const body = (await response.json()) as { code?: string };
    if (!body.code) throw new Error(`no verification code for ${email}`);
    return body.code;
  }

  async function login(email: string, password = PASSWORD) {
    const response = await gql(
      `mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken refreshToken user { id } } }`,
      {
        e: email,
        p: password,
      },
    );
    if (response.errors) throw new Error(`login failed: ${JSON.stringify(response.errors)}`);
    return response.data!.login as { accessToken: string; refreshToken: string; user: { id: string } };
  }

  /** The whole verified sign-up journey through the router, then a login. */
  async function signUp(overrides: Partial<{ email: string; nickname: string }> = {}): Promise<Member> {
    const email = overrides.email ?? `e2e-${randomUUID().slice(0, 12)}@example.com`;
    const requested = await gql(`mutation($e: String!) { requestEmailVerification(email: $e) { email } }`, { e: email });
    if (requested.errors) throw new Error(`requestEmailVerification failed: ${JSON.stringify(requested.errors)}`);
    const verified = await gql(`mutation($e: String!, $c: String!) { verifyEmail(email: $e, code: $c) { verificationToken } }`, {
      e: email,
      c: await lastCode(email),
    });
    if (verified.errors) throw new Error(`verifyEmail failed: ${JSON.stringify(verified.errors)}`);
    const created = await gql(`mutation($input: SignUpInput!) { signUp(input: $input) { id } }`, {
      input: {
        verificationToken: verified.data!.verifyEmail.verificationToken,
        email,
        password: PASSWORD,
        name: 'Test Member',
        nickname: overrides.nickname ?? 'tester',
        phone: '01012345678',
        postalCode: '06236',
        address: 'Teheran-ro 123',
      },
    });
    if (created.errors) throw new Error(`signUp failed: ${JSON.stringify(created.errors)}`);
    const tokens = await login(email);
    return {
      userId: created.data!.signUp.id,
      email,
      password: PASSWORD,
      accessToken: tokens.accessToken,
      refreshToken: tokens.refreshToken,
    };
  }

  /** Signs up `count` members, a few at a time (scrypt makes each sign-up cost ~100 ms of CPU). */
  async function signUpMany(count: number, concurrency = 8): Promise<Member[]> {
    const members: Member[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < count) {
          next += 1;
          members.push(await signUp());
        }
      }),
    );
    return members;
  }

  /** A member made admin with the documented `create-admin` script, then logged in again. */
  async function signUpAdmin(): Promise<Member> {
    const member = await signUp({ nickname: 'admin' });
    await run(process.execPath, [join(ROOT, 'subgraphs/users/dist/scripts/create-admin.js'), member.email], {
      // The users service's own settings: the script must derive the same blind index of the e-mail.
      env: { ...process.env, ...options.env, ...options.envFor?.users, DATABASE_URL: stack.databaseUrl('users'), LOG_LEVEL: 'warn' },
    });
    const tokens = await login(member.email);
    return { ...member, accessToken: tokens.accessToken, refreshToken: tokens.refreshToken };
  }

  /**
   * Signed-in shoppers without the sign-up journey: access tokens signed with the stack's
   * ACCESS_TOKEN_SECRET (the development one unless given), exactly as users signs them, so the router verifies them as
   * any other. For load-shaped tests where hundreds of scrypt sign-ups would only cost time; the
   * sign-up journey itself is tested in users-journey.test.ts.
   */
  async function mintMembers(count: number): Promise<Array<Pick<Member, 'userId' | 'accessToken'>>> {
    return Promise.all(
      Array.from({ length: count }, async () => {
        const userId = randomUUID();
        return {
          userId,
          accessToken: await signAccessToken(
            options.env?.ACCESS_TOKEN_SECRET ?? DEV_SECRET,
            { userId, role: 'USER', sessionId: randomUUID() },
            900,
          ),
        };
      }),
    );
  }

  /** One pool per service database, for assertions on raw rows; closed when the stack stops. */
  function pool(service: string): mysql.Pool {
    let found = pools.get(service);
    if (!found) {
      found = mysql.createPool({
        socketPath: '/run/mysqld/mysqld.sock',
        user: 'root',
        database: `${databasePrefix}_${service}`,
        connectionLimit: 4,
      });
      pools.set(service, found);
    }
    return found;
  }

  async function query<T = Record<string, any>>(service: string, sql: string, params: unknown[] = []): Promise<T[]> {
    const [rows] = await pool(service).query(sql, params);
    return rows as T[];
  }

  const expectData = <T>(response: GraphQLResponse<T>, what: string): T => {
    if (response.errors || !response.data) throw new Error(`${what} failed: ${JSON.stringify(response.errors ?? response)}`);
    return response.data;
  };

  /** An admin creates a product through the router; returns its id. */
  async function createProduct(admin: Member, product: NewProduct): Promise<string> {
    const response = await gql(
      `mutation($input: CreateProductInput!) { createProduct(input: $input) { __typename ... on Product { id } } }`,
      {
        input: {
          name: product.name ?? `Vitamin ${randomUUID().slice(0, 8)}`,
          producer: 'BooTakHae Labs',
          price: product.price ?? 12_900,
          function: 'IMPROVE_FATIGUE',
          type: 'CAPSULE',
          stock: product.stock,
        },
      },
      admin.accessToken,
    );
    const created = expectData(response, 'createProduct').createProduct;
    if (created.__typename !== 'Product') throw new Error(`createProduct answered ${JSON.stringify(created)}`);
    return created.id as string;
  }

  /** `placeOrder` through the router; a fresh idempotency key unless one is given. */
  function placeOrder(
    member: Pick<Member, 'accessToken'>,
    lines: OrderLineInput[],
    options: { idempotencyKey?: string; shipping?: Record<string, string> } = {},
  ) {
    return gql(
      PLACE_ORDER,
      { input: { lines, shipping: options.shipping ?? SHIPPING, idempotencyKey: options.idempotencyKey ?? randomUUID() } },
      member.accessToken,
    );
  }

  /**
   * `placeOrder` as a well-behaved buyer: a retryable `InventoryUnavailable` (orders' admission
   * control, a breaker) or the router's `RATE_LIMITED` is tried again after the `retryAfterSeconds`
   * it names (with jitter, so a crowd does not come back in one wave) and the same idempotency key.
   * A rush test then counts what every buyer finally got, not the shedding on the way there.
   */
  async function buy(member: Pick<Member, 'accessToken'>, lines: OrderLineInput[], options: { idempotencyKey?: string } = {}) {
    const idempotencyKey = options.idempotencyKey ?? randomUUID();
    for (let attempt = 1; ; attempt++) {
      const answer = await placeOrder(member, lines, { idempotencyKey });
      const result = answer.data?.placeOrder as { __typename?: string; retryable?: boolean; retryAfterSeconds?: number } | undefined;
      const limited = answer.errors?.find((e) => e.extensions?.code === 'RATE_LIMITED');
      const retryAfter =
        result?.__typename === 'InventoryUnavailable' && result.retryable
          ? (result.retryAfterSeconds ?? 1)
          : limited
            ? Number(limited.extensions?.retryAfterSeconds ?? 1)
            : null;
      if (retryAfter === null || attempt === 10) return answer;
      await new Promise((resolve) => setTimeout(resolve, retryAfter * 1000 * (0.5 + Math.random())));
    }
  }

  /** The product's stock as any client sees it through the router. */
  async function stockOf(productId: string): Promise<number> {
    const product = expectData(await gql(`query($id: ID!) { product(id: $id) { stock } }`, { id: productId }), 'product').product;
    if (!product) throw new Error(`product ${productId} not found`);
    return product.stock as number;
  }

  async function inventoryReport(admin: Member, productIds: string[]): Promise<InventoryReport> {
    return expectData(await gql(INVENTORY_REPORT, { ids: productIds }, admin.accessToken), 'inventoryReport')
      .inventoryReport as InventoryReport;
  }

  /** The member's own order through the router. */
  async function order(member: Member, id: string): Promise<OrderView> {
    return expectData(await gql(ORDER, { id }, member.accessToken), 'order').order as OrderView;
  }

  /** Waits until the scheduler (or anything else) has moved the order to `status`. */
  async function waitForStatus(member: Member, id: string, status: string, timeoutMs = 15_000): Promise<OrderView> {
    let last: OrderView | undefined;
    try {
      return await waitFor(
        async () => {
          last = await order(member, id);
          return last.status === status ? last : null;
        },
        timeoutMs,
        100,
      );
    } catch (error) {
      throw new Error(`order ${id} did not reach ${status}; last seen ${last?.status ?? 'nothing'}: ${(error as Error).message}`);
    }
  }

  /** The Prometheus text of one instance (`/metrics`). */
  async function metrics(service: string, index = 0): Promise<string> {
    const response = await fetch(`${stack.service(service, index).base}/metrics`);
    if (!response.ok) throw new Error(`${service}#${index} /metrics answered ${response.status}`);
    return response.text();
  }

  return {
    runId,
    redisPrefix,
    routerUrl: stack.routerUrl as string,
    logs,
    gql,
    login,
    signUp,
    signUpMany,
    signUpAdmin,
    mintMembers,
    lastCode,
    createProduct,
    placeOrder,
    buy,
    order,
    waitForStatus,
    stockOf,
    inventoryReport,
    metrics,
    query,
    databaseUrl: stack.databaseUrl as (service: string) => string,
    service: stack.service as (name: string, index?: number) => ServiceHandle,
    instances: stack.instances as ServiceHandle[],
    /** Opens a connection to one service's database (for assertions on raw rows). */
    async database(service: string) {
      return mysql.createConnection({ socketPath: '/run/mysqld/mysqld.sock', user: 'root', database: `${databasePrefix}_${service}` });
    },
    async stop() {
      await stack.stop();
      writeLogs();
      await cleanUp();
    },
  };
}

export type Stack = Awaited<ReturnType<typeof startStack>>;
