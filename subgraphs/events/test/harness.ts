import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createAmqp, createDatabase, createLogger, ensureDatabase, messagingMigrations, migrate, type AmqpClient, type AmqpMessage, type Identity } from '@bth/platform';
import { TEST_SECRETS, deleteAmqpTopology, graphql, identityHeaders, silentLogger, testDatabaseUrl, testMetrics, recordStatements, type GraphQLResponse } from '@bth/testkit';
import type { SaleMessageV1 } from '../src/sale.messages.js';
import { createServer, type EventsDeps } from '../src/server.js';

export const AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672';
const MIGRATIONS = fileURLToPath(new URL('../drizzle', import.meta.url));

/** The queues a run declares on its exchange (removed again by `deleteTopology`). */
export const QUEUES = ['events.sales', 'probe'];

export const ADMIN: Identity = { userId: randomUUID(), role: 'ADMIN', sessionId: 'admin-session' };
export const MEMBER: Identity = { userId: randomUUID(), role: 'USER', sessionId: 'member-session' };
export const asAdmin = () => identityHeaders(ADMIN);
export const asMember = () => identityHeaders(MEMBER);

// EVENTS_TEST_LOG=debug shows the events service's own log lines while a test runs.
const eventsLogger = process.env.EVENTS_TEST_LOG ? createLogger({ service: 'events-test' }, 'debug') : silentLogger;

export interface EventsOptions {
  /** Instances started with the same name share one database (several instances of the service). */
  name: string;
  exchange: string;
  productsUrls: string[];
  /** Defaults to the broker itself; a TCP proxy's URL for outage tests. */
  amqpUrl?: string;
  /** Defaults to true. */
  scheduler?: boolean;
  /** Defaults to true: the relay and the `sale.sold_out` consumer. */
  messaging?: boolean;
  config?: Partial<EventsDeps['config']>;
}

/**
 * Starts the events subgraph in-process on a free port against this run's database `name`. Every
 * statement sent through the pool outside a transaction is recorded in `statements` (the real
 * queries still run), so tests can count round trips without mocking the database.
 */
export async function startEvents(options: EventsOptions) {
  const url = testDatabaseUrl(options.name);
  await ensureDatabase(url);
  const database = createDatabase({ url, poolSize: 10, logger: silentLogger, lockWaitTimeoutSeconds: 5 });
  await migrate(database, MIGRATIONS, silentLogger, messagingMigrations);
  // The harness's own reads go around the recorder, so `statements` holds only the service's.
  const query = database.pool.query.bind(database.pool);
  const statements = recordStatements(database.pool);

  const amqp = createAmqp({ url: options.amqpUrl ?? AMQP_URL, exchange: options.exchange, logger: silentLogger });
  await amqp.waitForConnection(5_000);
  const server = createServer({
    config: {
      internalSecret: TEST_SECRETS.internal,
      exposeInternals: false,
      productsUrls: options.productsUrls,
      productsTimeoutMs: 2_000,
      schedulerTickMs: 250,
      outboxPollMs: 500,
      ...options.config,
    },
    logger: eventsLogger,
    metrics: testMetrics('events'),
    database,
    amqp,
  });
  const running = await server.listen(0, '127.0.0.1');
  if (options.scheduler !== false) server.scheduler.start();
  if (options.messaging !== false) await server.messaging.start();

  const rows = async <T>(sql: string, params: unknown[] = []): Promise<T[]> => {
    const [result] = (await query(sql, params)) as unknown as [T[]];
    return result;
  };
  const count = async (sql: string, params: unknown[] = []): Promise<number> => {
    const [row] = await rows<{ n: number | string }>(sql, params);
    return Number(row!.n);
  };

  return {
    url: running.url,
    base: running.url.replace(/\/graphql$/, ''),
    amqp,
    scheduler: server.scheduler,
    relay: server.messaging.relay,
    statements,
    /** Plain SQL against this instance's database (not recorded in `statements`). */
    rows,
    count,
    async event(id: string): Promise<EventRow> {
      const [row] = await rows<EventRow>('SELECT * FROM sale_events WHERE id = ?', [id]);
      if (!row) throw new Error(`no sale event ${id}`);
      return row;
    },
    /** Everything written so far: events, product lock rows, outbox rows. */
    async footprint() {
      const [events, locks, outbox] = await Promise.all([
        count('SELECT COUNT(*) AS n FROM sale_events'),
        count('SELECT COUNT(*) AS n FROM sale_event_product_locks'),
        count('SELECT COUNT(*) AS n FROM outbox'),
      ]);
      return { events, locks, outbox };
    },
    async stop() {
      await running.close();
      await server.scheduler.stop();
      await server.messaging.stop();
      await amqp.close();
      await database.close();
    },
  };
}

export type Events = Awaited<ReturnType<typeof startEvents>>;

export interface EventRow {
  id: string;
  product_id: string;
  status: string;
  starts_at: Date;
  ends_at: Date;
  opened_at: Date | null;
  closed_at: Date | null;
  sold_out_at: Date | null;
}

/**
 * Stands where products stands: a queue bound to the exchange that records every `sale.started`
 * and `sale.ended` (and can publish what products would send).
 */
export async function startProbe(exchange: string) {
  const client: AmqpClient = createAmqp({ url: AMQP_URL, exchange, logger: silentLogger });
  await client.waitForConnection(5_000);
  const messages: Array<AmqpMessage<SaleMessageV1>> = [];
  await client.consume({
    queue: 'probe',
    bindings: ['sale.started', 'sale.ended'],
    handler: async (message) => void messages.push(message as AmqpMessage<SaleMessageV1>),
  });
  return {
    messages,
    /** Messages about one event, in arrival order. */
    about: (eventId: string, routingKey?: string) => messages.filter((m) => m.payload.eventId === eventId && (!routingKey || m.routingKey === routingKey)),
    publish: (routingKey: string, payload: unknown, messageId = randomUUID()) => client.publish(routingKey, payload, { messageId }).then(() => messageId),
    close: () => client.close(),
  };
}

export type Probe = Awaited<ReturnType<typeof startProbe>>;

/** Removes what one test file declared on RabbitMQ (after every client closed). */
export const deleteTopology = (exchange: string) => deleteAmqpTopology(exchange, QUEUES);

export const EVENT_FIELDS = 'id name product { id } salePrice quantity perUserLimit startsAt endsAt status openedAt closedAt soldOutAt createdAt';

export const CREATE = `mutation($input: CreateSaleEventInput!) { createSaleEvent(input: $input) { ${EVENT_FIELDS} } }`;

export const UPDATE = `mutation($id: ID!, $input: UpdateSaleEventInput!) {
  updateSaleEvent(id: $id, input: $input) {
    __typename
    ... on SaleEvent { ${EVENT_FIELDS} }
    ... on SaleEventNotEditable { message eventId status }
  }
}`;

export const CANCEL = `mutation($id: ID!) {
  cancelSaleEvent(id: $id) {
    __typename
    ... on SaleEvent { ${EVENT_FIELDS} }
    ... on SaleEventNotEditable { message eventId status }
  }
}`;

export const EVENT = `query($id: ID!) { saleEvent(id: $id) { ${EVENT_FIELDS} } }`;

/** A valid create input for `productId`, starting `startInMs` from now and lasting `lengthMs`. */
export function eventInput(productId: string, startInMs: number, lengthMs: number, overrides: Record<string, unknown> = {}) {
  const startsAt = new Date(Date.now() + startInMs);
  return {
    name: `Flash sale ${randomUUID().slice(0, 8)}`,
    productId,
    salePrice: 4_900,
    quantity: 100,
    perUserLimit: 2,
    startsAt: startsAt.toISOString(),
    endsAt: new Date(startsAt.getTime() + lengthMs).toISOString(),
    ...overrides,
  };
}

export interface SaleEventJson {
  id: string;
  name: string;
  status: string;
  salePrice: number;
  quantity: number;
  perUserLimit: number;
  startsAt: string;
  endsAt: string;
  openedAt: string | null;
  closedAt: string | null;
  soldOutAt: string | null;
  product: { id: string };
}

/** Creates an event as an admin and returns it; throws on any error. */
export async function createEvent(events: Events, input: Record<string, unknown>): Promise<SaleEventJson> {
  const response = await graphql(events.url, CREATE, { input }, await asAdmin());
  if (response.errors || !response.data) throw new Error(`createSaleEvent failed: ${JSON.stringify(response.errors)}`);
  return response.data.createSaleEvent as SaleEventJson;
}

/** The fields named in a BAD_USER_INPUT answer, sorted. */
export function fieldsOf(response: GraphQLResponse): string[] {
  const list = (response.errors?.[0]?.extensions?.fieldErrors ?? []) as Array<{ field: string }>;
  return list.map((e) => e.field).sort();
}

/** Waits until the event reaches `status` in the database. */
export async function statusIs(events: Events, id: string, status: string): Promise<boolean> {
  return (await events.event(id)).status === status;
}
