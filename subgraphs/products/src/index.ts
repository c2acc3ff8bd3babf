import { createAmqp } from '@bth/platform/amqp';
import { createDatabase, ensureDatabase } from '@bth/platform/db';
import { exposeInternalErrors } from '@bth/platform/env';
import { createLogger } from '@bth/platform/logger';
import { createMetrics } from '@bth/platform/metrics';
import { createRedis, waitForRedis } from '@bth/platform/redis';
import { onShutdown, requireDependency, runMain } from '@bth/platform/service';
import { migrateProducts } from './db/migrate.js';
import { readEnv } from './env.js';
import { createServer } from './server.js';

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
    idleTransactionTimeoutSeconds: env.IDLE_TRANSACTION_TIMEOUT_SECONDS,
  });
  await migrateProducts(database, logger);

  const redis = createRedis({ url: env.REDIS_URL, keyPrefix: env.REDIS_KEY_PREFIX, logger });
  // Redis is a cache here: a replica restarted while Redis is down must still serve from MariaDB.
  await requireDependency('redis', env.REDIS_URL, () => waitForRedis(redis, 3_000), 3_500).catch((error: Error) =>
    logger.warn('starting without the cache; it is used as soon as Redis answers', { reason: error.message }),
  );

  // RabbitMQ only carries sale announcements here: without it the catalogue and inventory still
  // serve (sales open when the messages arrive), so it is not a start-up requirement.
  const metrics = createMetrics('products');
  const amqp = createAmqp({ url: env.AMQP_URL, exchange: env.AMQP_EXCHANGE, logger: logger.child({ component: 'amqp' }), metrics });
  await amqp.waitForConnection(3_000).catch(() => logger.warn('starting without RabbitMQ; sale messages flow once it answers'));

  const server = createServer({
    config: {
      internalSecret: env.INTERNAL_JWT_SECRET,
      exposeInternals: env.NODE_ENV !== 'production',
      exposeInternalErrors: exposeInternalErrors(env),
      productCacheTtlSeconds: env.PRODUCT_CACHE_TTL_SECONDS,
      listingCacheTtlSeconds: env.LISTING_CACHE_TTL_SECONDS,
      hotProduct: { queueHighWater: env.INVENTORY_QUEUE_HIGH_WATER, maxBatch: env.INVENTORY_MAX_BATCH },
    },
    logger,
    metrics,
    database,
    redis,
    amqp,
  });
  const running = await server.listen(env.PORT, env.HOST);
  await server.messaging.start();

  onShutdown(logger, [
    ['http', () => running.close()],
    ['messaging', () => server.messaging.stop()],
    ['amqp', () => amqp.close()],
    // QUIT needs a live connection; while Redis is down there is nothing to close politely.
    ['redis', async () => (redis.status === 'ready' ? redis.quit() : redis.disconnect())],
    ['mariadb', () => database.close()],
  ]);
});
