import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createDatabase, ensureDatabase, migrate, type DatabaseClient, type Role } from '@bth/platform';
import { TEST_SECRETS, dropTestDatabases, identityHeaders, silentLogger, testDatabaseUrl, testMetrics } from '@bth/testkit';
import { createServer } from '../src/server.js';

export interface WishlistsOptions {
  productsUrls: string[];
  ordersInternalUrl: string;
}

/** Starts the wishlists subgraph in-process on a free port against this run's own database. */
export async function startWishlists(options: WishlistsOptions) {
  const url = testDatabaseUrl('wishlists');
  await ensureDatabase(url);
  const database = createDatabase({ url, poolSize: 10, logger: silentLogger, lockWaitTimeoutSeconds: 5 });
  await migrate(database, fileURLToPath(new URL('../drizzle', import.meta.url)), silentLogger);
  const running = await listen(database, options);
  return {
    url: running.url,
    database,
    /** Another server on the same database with other upstreams (e.g. all of them down). */
    withUpstreams: (other: WishlistsOptions) => listen(database, other),
    async count(sql: string, params: unknown[] = []): Promise<number> {
      const [[row]] = (await database.pool.query(sql, params)) as unknown as [[{ n: number }]];
      return Number(row!.n);
    },
    async stop() {
      await running.close();
      await database.close();
      await dropTestDatabases();
    },
  };
}

function listen(database: DatabaseClient, options: WishlistsOptions) {
  const server = createServer({
    config: {
      internalSecret: TEST_SECRETS.internal,
      productsUrls: options.productsUrls,
      ordersInternalUrl: options.ordersInternalUrl,
      exposeInternals: false,
    },
    logger: silentLogger,
    metrics: testMetrics('wishlists'),
    database,
  });
  return server.listen(0, '127.0.0.1');
}

/** A fresh member and the headers the router would send for them. */
export async function newMember(role: Role = 'USER') {
  const userId = randomUUID();
  return { userId, headers: await identityHeaders({ userId, role, sessionId: randomUUID() }) };
}
