import { randomBytes } from 'node:crypto';
import { freePort } from './ports.js';
import { connect as connectAmqp } from 'amqplib';
import mysql from 'mysql2/promise';
import { deadLetterQueueName, queueName } from '@bth/platform/amqp';
import { DEV_SECRET } from '@bth/platform/env';
import { IDENTITY_HEADER, signIdentityAssertion, signServiceToken, type Identity } from '@bth/platform/identity';
import { createLogger, type Logger } from '@bth/platform/logger';
import { createMetrics } from '@bth/platform/metrics';

/**
 * Helpers for tests that run against the real MariaDB, Redis and RabbitMQ. Every run gets its own
 * id, and from it its own databases, Redis key prefix and exchange, so runs never collide.
 */
export const runId = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
export const SOCKET = '/run/mysqld/mysqld.sock';
export const TEST_SECRETS = {
  internal: DEV_SECRET,
  accessToken: DEV_SECRET,
} as const;

/** A database URL unique to this run and `name`. */
export function testDatabaseUrl(name: string): string {
  return `mysql://root@localhost/bth_t_${runId}_${name}?socketPath=${SOCKET}`;
}
export const testRedisPrefix = (name = 'it') => `bth-test:${runId}:${name}:`;
export const testExchange = (name = 'it') => `bth-test.${runId}.${name}`;

/**
 * Records every SQL statement sent through `pool.query` (the real queries still run), so tests can
 * count round trips without mocking the database. Statements inside drizzle transactions go
 * through pooled connections and are not recorded.
 */
export function recordStatements(pool: { query: (...args: never[]) => unknown }): string[] {
  const statements: string[] = [];
  const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
  (pool as { query: (...args: unknown[]) => unknown }).query = (sql: unknown, ...rest: unknown[]) => {
    statements.push(typeof sql === 'string' ? sql : String((sql as { sql?: unknown }).sql));
    return query(sql, ...rest);
  };
  return statements;
}

/** Drops every database this run created (call in afterAll). */
export async function dropTestDatabases(): Promise<void> {
  const conn = await mysql.createConnection({ socketPath: SOCKET, user: 'root' });
  try {
    const [rows] = (await conn.query(`SHOW DATABASES LIKE 'bth\\_t\\_${runId}\\_%'`)) as unknown as [Record<string, string>[]];
    for (const row of rows) {
      const name = Object.values(row)[0];
      if (name) await conn.query(`DROP DATABASE IF EXISTS \`${name}\``);
    }
  } finally {
    await conn.end();
  }
}

/**
 * Deletes what a test run declared on RabbitMQ: the consumers' queues (with their dead-letter
 * queues) and the exchange pair. Quorum queues are durable, so without this every run would
 * leave its queues on the broker for good.
 */
export async function deleteAmqpTopology(exchange: string, queues: string[], url = 'amqp://guest:guest@127.0.0.1:5672'): Promise<void> {
  const conn = await connectAmqp(url);
  try {
    const channel = await conn.createChannel();
    for (const queue of queues) {
      await channel.deleteQueue(queueName(exchange, queue));
      await channel.deleteQueue(deadLetterQueueName(exchange, queue));
    }
    await channel.deleteExchange(exchange);
    await channel.deleteExchange(`${exchange}.dlx`);
    await channel.close();
  } finally {
    await conn.close();
  }
}

export const silentLogger: Logger = createLogger({ service: 'test' }, 'silent');
export const testMetrics = (service: string) => createMetrics(service);

/** Headers a router would send for `identity` (for calling a subgraph directly in integration tests). */
export async function identityHeaders(identity: Identity): Promise<Record<string, string>> {
  return { [IDENTITY_HEADER]: await signIdentityAssertion(TEST_SECRETS.internal, identity) };
}

export const serviceToken = (service: string, audience: string) => signServiceToken(TEST_SECRETS.internal, service, audience);

export interface GraphQLResponse<T = Record<string, any>> {
  status: number;
  data?: T;
  errors?: Array<{ message: string; path?: (string | number)[]; extensions?: Record<string, any> }>;
}

/** POSTs a GraphQL operation; never throws on GraphQL errors (tests assert on them). */
export async function graphql<T = Record<string, any>>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<GraphQLResponse<T>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const text = await response.text();
  let body: { data?: T; errors?: GraphQLResponse['errors'] } = {};
  try {
    body = JSON.parse(text);
  } catch {
    body = { errors: [{ message: `non-JSON response: ${text.slice(0, 200)}` }] };
  }
  return { status: response.status, ...body };
}

/** Polls `check` until it returns a truthy value or `timeoutMs` passes. Never a blind sleep. */
/** What `waitFor` resolves with: the checked value, never one of the falsy ones it waits past. */
export type Truthy<T> = Exclude<T, false | null | undefined | 0 | ''>;

export async function waitFor<T>(check: () => Promise<T> | T, timeoutMs = 10_000, intervalMs = 50): Promise<Truthy<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value as Truthy<T>;
    } catch (error) {
      lastError = error;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`waitFor timed out after ${timeoutMs} ms${lastError ? `: ${(lastError as Error).message}` : ''}`);
}

/**
 * The URL of a port nothing listens on (bound, then released), so connections are refused at
 * once: a dead replica for failover tests. Not a fixed low port: fetch refuses ports such as 1 as
 * "bad port" before connecting, which is a different failure from a refused connection.
 */
export async function deadUrl(path = ''): Promise<string> {
  return `http://127.0.0.1:${await freePort()}${path}`;
}

export function errorCodes(response: GraphQLResponse): string[] {
  return (response.errors ?? []).map((e) => String(e.extensions?.code));
}
export * from './tcp-proxy.js';
export * from './ports.js';
export * from './private-redis.js';
export * from './private-rabbitmq.js';
export * from './private-mariadb.js';
