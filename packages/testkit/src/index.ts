import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import {
  DEV_SECRET,
  IDENTITY_HEADER,
  createLogger,
  createMetrics,
  signIdentityAssertion,
  signServiceToken,
  type Identity,
  type Logger,
} from '@bth/platform';

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
export async function waitFor<T>(check: () => Promise<T> | T, timeoutMs = 10_000, intervalMs = 50): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      lastError = error;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`waitFor timed out after ${timeoutMs} ms${lastError ? `: ${(lastError as Error).message}` : ''}`);
}

export function errorCodes(response: GraphQLResponse): string[] {
  return (response.errors ?? []).map((e) => String(e.extensions?.code));
}
export * from './tcp-proxy.js';
