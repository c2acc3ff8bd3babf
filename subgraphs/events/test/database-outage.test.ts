import { randomBytes, randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAmqp, type AmqpClient } from '@bth/platform/amqp';
import { createDatabase, ensureDatabase, migrate, parseDatabaseUrl, type DatabaseClient } from '@bth/platform/db';
import type { Logger } from '@bth/platform/logger';
import { messagingMigrations } from '@bth/platform/outbox';
import {
  SOCKET,
  TEST_SECRETS,
  deadUrl,
  dropTestDatabases,
  silentLogger,
  startTcpProxy,
  testDatabaseUrl,
  testExchange,
  testMetrics,
  waitFor,
  type TcpProxy,
} from '@bth/testkit';
import { createServer } from '../src/server.js';
import { AMQP_URL } from '@bth/fixtures/events';

/**
 * A real MariaDB outage as the events subgraph sees it: its pool talks to MariaDB through a TCP
 * proxy (root logs in over the socket only, so a throw-away user with a random name is granted
 * this run's database), and blocking the proxy is the outage. The client must get a retryable
 * SERVICE_UNAVAILABLE without internals, the service must log it once with the request id and the
 * cause, and the same request must succeed once MariaDB is reachable again.
 */
const MIGRATIONS = fileURLToPath(new URL('../drizzle', import.meta.url));

interface LogLine {
  level: string;
  msg: string;
  fields: Record<string, unknown>;
}

/** A logger that keeps its lines (with the child bindings, such as the request id) for assertions. */
function recordingLogger(lines: LogLine[], bindings: Record<string, unknown> = {}): Logger {
  // Errors as the real logger writes them: name, message and code (JSON.stringify would drop them).
  const plain = (value: unknown) =>
    value instanceof Error ? { name: value.name, message: value.message, code: (value as { code?: unknown }).code } : value;
  const write =
    (level: string) =>
    (msg: string, fields: Record<string, unknown> = {}) =>
      void lines.push({
        level,
        msg,
        fields: { ...bindings, ...Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, plain(v)])) },
      });
  return {
    debug: write('debug'),
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
    child: (more) => recordingLogger(lines, { ...bindings, ...more }),
  };
}

const rootUrl = testDatabaseUrl('outage');
const { database: databaseName } = parseDatabaseUrl(rootUrl);
const user = `bth_t_${randomBytes(4).toString('hex')}`;
const password = randomBytes(12).toString('hex');
const hosts = ['127.0.0.1', 'localhost'];
const lines: LogLine[] = [];
let proxy: TcpProxy;
let database: DatabaseClient;
let amqp: AmqpClient;
let url: string;
let close: () => Promise<void>;

async function asRoot<T>(work: (conn: mysql.Connection) => Promise<T>): Promise<T> {
  const conn = await mysql.createConnection({ socketPath: SOCKET, user: 'root' });
  try {
    return await work(conn);
  } finally {
    await conn.end();
  }
}

beforeAll(async () => {
  await ensureDatabase(rootUrl);
  const migrator = createDatabase({ url: rootUrl, poolSize: 2, logger: silentLogger });
  await migrate(migrator, MIGRATIONS, silentLogger, messagingMigrations);
  await migrator.close();
  await asRoot(async (conn) => {
    for (const host of hosts) {
      await conn.query(`CREATE USER ?@? IDENTIFIED BY ?`, [user, host, password]);
      await conn.query(`GRANT ALL PRIVILEGES ON \`${databaseName}\`.* TO ?@?`, [user, host]);
    }
  });
  proxy = await startTcpProxy({ port: 3306 });
  database = createDatabase({
    url: `${proxy.url('mysql', `${user}:${password}`)}/${databaseName}`,
    poolSize: 4,
    logger: silentLogger,
    lockWaitTimeoutSeconds: 5,
  });
  amqp = createAmqp({ url: AMQP_URL, exchange: testExchange('outage'), logger: silentLogger });
  const server = createServer({
    config: {
      internalSecret: TEST_SECRETS.internal,
      exposeInternals: false,
      productsUrls: [await deadUrl('/graphql')],
      productsTimeoutMs: 500,
      schedulerTickMs: 250,
      outboxPollMs: 500,
    },
    logger: recordingLogger(lines),
    metrics: testMetrics('events'),
    database,
    amqp,
  });
  const running = await server.listen(0, '127.0.0.1');
  url = running.url;
  close = () => running.close(100);
});

afterAll(async () => {
  await close?.();
  await database?.close().catch(() => undefined);
  await amqp?.close().catch(() => undefined);
  await proxy?.close();
  await asRoot(async (conn) => {
    for (const host of hosts) await conn.query(`DROP USER IF EXISTS ?@?`, [user, host]);
  });
  await dropTestDatabases();
});

const LIST = `{ saleEvents(first: 5) { nodes { id } } }`;

async function list(requestId: string) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-request-id': requestId },
    body: JSON.stringify({ query: LIST }),
  });
  return { status: response.status, text: await response.text() };
}

describe('events with MariaDB unreachable', () => {
  it('When MariaDB goes away, then the answer is a retryable SERVICE_UNAVAILABLE (503) logged once, and the same request works once it is back', async () => {
    const before = await list(`before-${randomUUID()}`);
    expect(before.status).toBe(200);
    expect(JSON.parse(before.text)).toEqual({ data: { saleEvents: { nodes: [] } } });

    proxy.block();
    const requestId = `outage-${randomUUID()}`;
    const during = await list(requestId);
    expect(during.status).toBe(503);
    const body = JSON.parse(during.text) as { data: unknown; errors: Array<{ message: string; extensions: Record<string, unknown> }> };
    expect(body.data).toBeNull();
    expect(body.errors).toEqual([
      {
        message: 'The service is temporarily unavailable; try again shortly',
        path: ['saleEvents'],
        locations: expect.any(Array),
        extensions: { code: 'SERVICE_UNAVAILABLE', retryable: true, retryAfterSeconds: expect.any(Number) },
      },
    ]);
    expect(during.text).not.toMatch(/127\.0\.0\.1|select|ECONN|PROTOCOL|Connection lost|sale_events|\bat \w/i);
    const logged = lines.filter((line) => line.level === 'error' && line.fields.requestId === requestId);
    expect(logged).toHaveLength(1);
    expect(logged[0]!.msg).toBe('dependency unavailable');
    expect(JSON.stringify(logged[0]!.fields)).toMatch(/PROTOCOL_CONNECTION_LOST|ECONNRESET|Connection lost|closed state/);

    proxy.unblock();
    const after = await waitFor(async () => {
      const answer = await list(`after-${randomUUID()}`);
      return answer.status === 200 ? answer : null;
    }, 10_000);
    expect(JSON.parse(after.text)).toEqual({ data: { saleEvents: { nodes: [] } } });
  });
});
