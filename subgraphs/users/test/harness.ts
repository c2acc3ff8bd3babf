import { fileURLToPath } from 'node:url';
import { createDatabase, createRedis, ensureDatabase, migrate, waitForRedis } from '@bth/platform';
import { TEST_SECRETS, dropTestDatabases, silentLogger, testDatabaseUrl, testMetrics, testRedisPrefix } from '@bth/testkit';
import { createDevMailbox } from '../src/mailer.js';
import { createServer } from '../src/server.js';

/** Starts the users subgraph in-process on a free port against this run's own database and keys. */
export async function startUsers() {
  const url = testDatabaseUrl('users');
  await ensureDatabase(url);
  const database = createDatabase({ url, poolSize: 5, logger: silentLogger });
  await migrate(database, fileURLToPath(new URL('../drizzle', import.meta.url)), silentLogger);
  const redis = createRedis({ url: 'redis://127.0.0.1:6379', keyPrefix: testRedisPrefix('users'), logger: silentLogger });
  await waitForRedis(redis, 5_000);
  const server = createServer({
    config: {
      internalSecret: TEST_SECRETS.internal,
      accessTokenSecret: TEST_SECRETS.accessToken,
      dataEncryptionKey: Buffer.alloc(32, 7).toString('base64'),
      blindIndexKey: 'test-blind-index-key-0123456789abcdef',
      exposeInternals: false,
    },
    logger: silentLogger,
    metrics: testMetrics('users'),
    database,
    redis,
    mailer: createDevMailbox(redis, silentLogger),
  });
  const running = await server.listen(0, '127.0.0.1');
  const base = running.url.replace(/\/graphql$/, '');
  return {
    url: running.url,
    database,
    redis,
    async lastCode(email: string): Promise<string> {
      const response = await fetch(`${base}/dev/mailbox?email=${encodeURIComponent(email)}`);
      const body = (await response.json()) as { code?: string };
      if (!body.code) throw new Error(`no code for ${email}`);
      return body.code;
    },
    async stop() {
      await running.close();
      const keys = await redis.keys('*');
      if (keys.length) await redis.del(...keys.map((k) => k.slice(testRedisPrefix('users').length)));
      redis.disconnect();
      await database.close();
      await dropTestDatabases();
    },
  };
}
