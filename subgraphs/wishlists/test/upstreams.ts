import { fileURLToPath } from 'node:url';
import { createDatabase, ensureDatabase, migrate, type DatabaseClient } from '@bth/platform';
import { TEST_SECRETS, silentLogger, testDatabaseUrl, testMetrics } from '@bth/testkit';
import { createServer } from '../../orders/src/server.js';

/**
 * Starts the real orders subgraph in-process for the cross-service tests, on this run's own
 * orders database. Its scheduler is not started: these tests need placing only, and no timer
 * should outlive the test. A second instance on the same database (`database` passed in) is how
 * a test gets an orders it can stop, or one whose inventory is down.
 */
export async function startOrders(options: { inventoryUrls: string[]; database?: DatabaseClient }) {
  let database = options.database;
  if (!database) {
    const url = testDatabaseUrl('orders');
    await ensureDatabase(url);
    database = createDatabase({ url, poolSize: 10, logger: silentLogger, lockWaitTimeoutSeconds: 10 });
    await migrate(database, fileURLToPath(new URL('../../orders/drizzle', import.meta.url)), silentLogger);
  }
  const server = createServer({
    config: {
      internalSecret: TEST_SECRETS.internal,
      dataEncryptionKey: Buffer.alloc(32, 9).toString('base64'),
      exposeInternals: false,
      inventoryUrls: options.inventoryUrls,
      inventoryTimeoutMs: 5_000,
      inventoryBreakerResetMs: 5_000,
      paymentTimeoutSeconds: 900,
      shipAfterSeconds: 86_400,
      deliverAfterSeconds: 86_400,
      returnWindowSeconds: 86_400,
      returnCompleteAfterSeconds: 86_400,
      reconcilePendingAfterSeconds: 30,
      schedulerIntervalMs: 1_000,
      paymentDeclineMethods: [],
    },
    logger: silentLogger,
    metrics: testMetrics('orders'),
    database,
  });
  const running = await server.listen(0, '127.0.0.1');
  const owned = options.database === undefined;
  return {
    url: running.url,
    base: running.url.replace(/\/graphql$/, ''),
    database,
    async stop() {
      await running.close();
      server.inventory.shutdown();
      if (owned) await database.close();
    },
  };
}
