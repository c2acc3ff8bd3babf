import { fileURLToPath } from 'node:url';
import {
  createDatabase,
  createLogger,
  createMetrics,
  createRedis,
  ensureDatabase,
  migrate,
  onShutdown,
  requireDependency,
  runMain,
  waitForRedis,
} from '@bth/platform';
import { readEnv } from './env.js';
import { createServer } from './server.js';

const MIGRATIONS = fileURLToPath(new URL('../drizzle', import.meta.url));

runMain(async () => {
  const env = readEnv();
  const logger = createLogger({ service: 'products' }, env.LOG_LEVEL);

  // Replicas may start together: CREATE DATABASE IF NOT EXISTS is idempotent and `migrate` holds a lock.
  await requireDependency('mariadb', env.DATABASE_URL, () => ensureDatabase(env.DATABASE_URL));
  const database = createDatabase({
    url: env.DATABASE_URL,
    poolSize: env.DATABASE_POOL_SIZE,
    logger,
    lockWaitTimeoutSeconds: env.LOCK_WAIT_TIMEOUT_SECONDS,
  });
  await migrate(database, MIGRATIONS, logger);

  const redis = createRedis({ url: env.REDIS_URL, keyPrefix: env.REDIS_KEY_PREFIX, logger });
  // Redis is a cache here: a replica restarted while Redis is down must still serve from MariaDB.
  await requireDependency('redis', env.REDIS_URL, () => waitForRedis(redis, 3_000), 3_500).catch((error: Error) =>
    logger.warn('starting without the cache; it is used as soon as Redis answers', { reason: error.message }),
  );

  const server = createServer({
    config: {
      internalSecret: env.INTERNAL_JWT_SECRET,
      exposeInternals: env.NODE_ENV !== 'production',
      productCacheTtlSeconds: env.PRODUCT_CACHE_TTL_SECONDS,
      listingCacheTtlSeconds: env.LISTING_CACHE_TTL_SECONDS,
    },
    logger,
    metrics: createMetrics('products'),
    database,
    redis,
  });
  const running = await server.listen(env.PORT, env.HOST);

  onShutdown(logger, [
    ['http', () => running.close()],
    // QUIT needs a live connection; while Redis is down there is nothing to close politely.
    ['redis', async () => (redis.status === 'ready' ? redis.quit() : redis.disconnect())],
    ['mariadb', () => database.close()],
  ]);
});
