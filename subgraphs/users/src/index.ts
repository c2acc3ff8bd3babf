import { createDatabase, ensureDatabase } from '@bth/platform/db';
import { exposeInternalErrors } from '@bth/platform/env';
import { createLogger } from '@bth/platform/logger';
import { createMetrics } from '@bth/platform/metrics';
import { createRedis, waitForRedis } from '@bth/platform/redis';
import { onShutdown, requireDependency, runMain } from '@bth/platform/service';
import { migrateUsers } from './db/migrate.js';
import { readEnv } from './env.js';
import { createDevMailbox, createSmtpMailer } from './mailer.js';
import { createServer } from './server.js';

runMain(async () => {
  const env = readEnv();
  const logger = createLogger({ service: 'users' }, env.LOG_LEVEL);
  const production = env.NODE_ENV === 'production';

  await requireDependency('mariadb', env.DATABASE_URL, () => ensureDatabase(env.DATABASE_URL));
  const database = createDatabase({ url: env.DATABASE_URL, poolSize: env.DATABASE_POOL_SIZE, logger });
  await migrateUsers(database, logger);
  const redis = createRedis({ url: env.REDIS_URL, keyPrefix: env.REDIS_KEY_PREFIX, logger });
  await requireDependency('redis', env.REDIS_URL, () => waitForRedis(redis, 8_000));

  // readEnv refuses production without SMTP_URL or with DEV_MAILBOX, so production always gets SMTP.
  const mailer =
    env.SMTP_URL && env.DEV_MAILBOX !== true
      ? createSmtpMailer(env.SMTP_URL, env.MAIL_FROM, env.SMTP_TIMEOUT_MS)
      : createDevMailbox(redis, logger);
  const server = createServer({
    config: {
      internalSecret: env.INTERNAL_JWT_SECRET,
      accessTokenSecret: env.ACCESS_TOKEN_SECRET,
      dataEncryptionKey: env.DATA_ENCRYPTION_KEY,
      blindIndexKey: env.BLIND_INDEX_KEY,
      exposeInternals: !production,
      exposeInternalErrors: exposeInternalErrors(env),
    },
    logger,
    metrics: createMetrics('users'),
    database,
    redis,
    mailer,
  });
  const running = await server.listen(env.PORT, env.HOST);

  onShutdown(logger, [
    ['http', () => running.close()],
    ['redis', () => redis.quit()],
    ['mariadb', () => database.close()],
  ]);
});
