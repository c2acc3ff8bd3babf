import { createDatabase, ensureDatabase } from '@bth/platform/db';
import { exposeInternalErrors } from '@bth/platform/env';
import { createLogger } from '@bth/platform/logger';
import { createMetrics } from '@bth/platform/metrics';
import { onShutdown, requireDependency, runMain } from '@bth/platform/service';
import { migrateWishlists } from './db/migrate.js';
import { readEnv } from './env.js';
import { createServer } from './server.js';

runMain(async () => {
  const env = readEnv();
  const logger = createLogger({ service: 'wishlists' }, env.LOG_LEVEL);

  await requireDependency('mariadb', env.DATABASE_URL, () => ensureDatabase(env.DATABASE_URL));
  // Only one member's own requests ever wait on a wishlist lock; 5 s stuck means something is wrong.
  const database = createDatabase({ url: env.DATABASE_URL, poolSize: env.DATABASE_POOL_SIZE, logger, lockWaitTimeoutSeconds: 5 });
  await migrateWishlists(database, logger);

  const server = createServer({
    config: {
      internalSecret: env.INTERNAL_JWT_SECRET,
      productsUrls: env.PRODUCTS_URL,
      ordersInternalUrl: env.ORDERS_INTERNAL_URL,
      exposeInternals: env.NODE_ENV !== 'production',
      exposeInternalErrors: exposeInternalErrors(env),
    },
    logger,
    metrics: createMetrics('wishlists'),
    database,
  });
  const running = await server.listen(env.PORT, env.HOST);

  onShutdown(logger, [
    ['http', () => running.close()],
    ['mariadb', () => database.close()],
  ]);
});
