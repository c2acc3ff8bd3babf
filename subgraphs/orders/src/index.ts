import { createDatabase, ensureDatabase } from '@bth/platform/db';
import { exposeInternalErrors } from '@bth/platform/env';
import { createLogger } from '@bth/platform/logger';
import { createMetrics } from '@bth/platform/metrics';
import { createRedis } from '@bth/platform/redis';
import { onShutdown, requireDependency, runMain } from '@bth/platform/service';
import { migrateOrders } from './db/migrate.js';
import { readEnv } from './env.js';
import { createServer } from './server.js';

runMain(async () => {
  const env = readEnv();
  const logger = createLogger({ service: 'orders' }, env.LOG_LEVEL);
  const production = env.NODE_ENV === 'production';

  await requireDependency('mariadb', env.DATABASE_URL, () => ensureDatabase(env.DATABASE_URL));
  const database = createDatabase({
    url: env.DATABASE_URL,
    poolSize: env.DATABASE_POOL_SIZE,
    logger,
    // The longest an order row stays locked is one inventory call (INVENTORY_TIMEOUT_MS, 7 s by
    // default) made by a job or a cancel; waiting a little longer lets that finish, then a
    // request gets LOCK_TIMEOUT instead of hanging.
    lockWaitTimeoutSeconds: Math.ceil(env.INVENTORY_TIMEOUT_MS / 1000) + 3,
  });
  await migrateOrders(database, logger);
  // Only the sold-out fast path reads Redis, and only ever as a shortcut: no wait for it at start,
  // and while it is down every order simply asks inventory.
  const redis = createRedis({ url: env.REDIS_URL, keyPrefix: env.REDIS_KEY_PREFIX, logger });
  if (env.PAYMENT_SIMULATOR_DECLINE_METHOD.length > 0) {
    logger.warn('payment simulator declines some methods', { methods: env.PAYMENT_SIMULATOR_DECLINE_METHOD });
  }

  const server = createServer({
    config: {
      internalSecret: env.INTERNAL_JWT_SECRET,
      dataEncryptionKey: env.DATA_ENCRYPTION_KEY,
      exposeInternals: !production,
      exposeInternalErrors: exposeInternalErrors(env),
      inventoryUrls: env.INVENTORY_URLS,
      inventoryTimeoutMs: env.INVENTORY_TIMEOUT_MS,
      inventoryHangMs: env.INVENTORY_HANG_MS,
      inventoryBreakerResetMs: env.INVENTORY_BREAKER_RESET_MS,
      paymentTimeoutSeconds: env.ORDER_PAYMENT_TIMEOUT_SECONDS,
      shipAfterSeconds: env.SHIP_AFTER_SECONDS,
      deliverAfterSeconds: env.DELIVER_AFTER_SECONDS,
      returnWindowSeconds: env.RETURN_WINDOW_SECONDS,
      returnCompleteAfterSeconds: env.RETURN_COMPLETE_AFTER_SECONDS,
      reconcilePendingAfterSeconds: env.RECONCILE_PENDING_AFTER_SECONDS,
      schedulerIntervalMs: env.SCHEDULER_INTERVAL_MS,
      paymentDeclineMethods: env.PAYMENT_SIMULATOR_DECLINE_METHOD,
      admission: { perProduct: env.ORDER_ADMISSION_PER_PRODUCT, total: env.ORDER_ADMISSION_TOTAL },
    },
    logger,
    metrics: createMetrics('orders'),
    database,
    redis,
  });
  const running = await server.listen(env.PORT, env.HOST);
  server.scheduler.start();

  onShutdown(logger, [
    ['http', () => running.close()],
    ['scheduler', () => server.scheduler.stop()],
    ['inventory-breaker', async () => server.inventory.shutdown()],
    ['mariadb', () => database.close()],
    // QUIT needs a live connection; while Redis is down there is nothing to close politely.
    ['redis', async () => (redis.status === 'ready' ? redis.quit() : redis.disconnect())],
  ]);
});
