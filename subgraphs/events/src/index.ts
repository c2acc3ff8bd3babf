import { createAmqp } from '@bth/platform/amqp';
import { createDatabase, ensureDatabase } from '@bth/platform/db';
import { exposeInternalErrors } from '@bth/platform/env';
import { createLogger } from '@bth/platform/logger';
import { createMetrics } from '@bth/platform/metrics';
import { onShutdown, requireDependency, runMain } from '@bth/platform/service';
import { migrateEvents } from './db/migrate.js';
import { readEnv } from './env.js';
import { createServer } from './server.js';

runMain(async () => {
  const env = readEnv();
  const logger = createLogger({ service: 'events' }, env.LOG_LEVEL);

  // Instances may start together: CREATE DATABASE IF NOT EXISTS is idempotent and `migrate` holds a lock.
  await requireDependency('mariadb', env.DATABASE_URL, () => ensureDatabase(env.DATABASE_URL));
  const database = createDatabase({
    url: env.DATABASE_URL,
    poolSize: env.DATABASE_POOL_SIZE,
    logger,
    // Locks here are held for a few statements (no network call inside a transaction); 5 s stuck
    // means something is wrong, and an admin gets a retryable LOCK_TIMEOUT instead of a hang.
    lockWaitTimeoutSeconds: 5,
  });
  await migrateEvents(database, logger);

  // The broker is checked and named at start, but not required: transitions are written to the
  // outbox either way and leave once it answers, so a restart while RabbitMQ is down still serves.
  const metrics = createMetrics('events');
  const amqp = createAmqp({ url: env.AMQP_URL, exchange: env.AMQP_EXCHANGE, logger: logger.child({ component: 'amqp' }), metrics });
  await requireDependency('rabbitmq', env.AMQP_URL, () => amqp.waitForConnection(3_000), 3_500).catch((error: Error) =>
    logger.warn('starting without RabbitMQ; sale messages wait in the outbox until it answers', { reason: error.message }),
  );

  const server = createServer({
    config: {
      internalSecret: env.INTERNAL_JWT_SECRET,
      exposeInternals: env.NODE_ENV !== 'production',
      exposeInternalErrors: exposeInternalErrors(env),
      productsUrls: env.PRODUCTS_URL,
      productsTimeoutMs: env.PRODUCTS_TIMEOUT_MS,
      schedulerTickMs: env.SCHEDULER_TICK_MS,
      outboxPollMs: env.OUTBOX_POLL_MS,
    },
    logger,
    metrics,
    database,
    amqp,
  });
  const running = await server.listen(env.PORT, env.HOST);
  server.scheduler.start();
  await server.messaging.start();

  onShutdown(logger, [
    ['http', () => running.close()],
    ['scheduler', () => server.scheduler.stop()],
    ['messaging', () => server.messaging.stop()],
    ['amqp', () => amqp.close()],
    ['mariadb', () => database.close()],
  ]);
});
