import { fileURLToPath } from 'node:url';
import { createDatabase, createFieldCipher, createRedis, ensureDatabase, migrate, waitForRedis, type DatabaseClient, type Redis } from '@bth/platform';
import { TEST_SECRETS, dropTestDatabases, silentLogger, testDatabaseUrl, testMetrics, testRedisPrefix } from '@bth/testkit';
import { createDevMailbox, type Mailer } from '../src/mailer.js';
import { createServer } from '../src/server.js';

const REDIS_URL = 'redis://127.0.0.1:6379';
const CONFIG = {
  internalSecret: TEST_SECRETS.internal,
  accessTokenSecret: TEST_SECRETS.accessToken,
  dataEncryptionKey: Buffer.alloc(32, 7).toString('base64'),
  blindIndexKey: 'test-blind-index-key-0123456789abcdef',
  exposeInternals: false,
};

/** A users instance on `database` whose Redis client (this run's key prefix) talks to `redisUrl`. */
async function serve(database: DatabaseClient, redisUrl: string, mailer: (redis: Redis) => Mailer) {
  const redis = createRedis({ url: redisUrl, keyPrefix: testRedisPrefix('users'), logger: silentLogger });
  await waitForRedis(redis, 5_000);
  const server = createServer({ config: CONFIG, logger: silentLogger, metrics: testMetrics('users'), database, redis, mailer: mailer(redis) });
  const running = await server.listen(0, '127.0.0.1');
  return { redis, running };
}

/** Starts the users subgraph in-process on a free port against this run's own database and keys. */
export async function startUsers() {
  const url = testDatabaseUrl('users');
  await ensureDatabase(url);
  const database = createDatabase({ url, poolSize: 5, logger: silentLogger });
  await migrate(database, fileURLToPath(new URL('../drizzle', import.meta.url)), silentLogger);
  const devMailbox = (redis: Redis) => createDevMailbox(redis, silentLogger);
  const { redis, running } = await serve(database, REDIS_URL, devMailbox);
  const base = running.url.replace(/\/graphql$/, '');
  const cipher = createFieldCipher(CONFIG.dataEncryptionKey, CONFIG.blindIndexKey);
  return {
    url: running.url,
    database,
    redis,
    /** The blind index the service keys an address by (in `users` and in Redis). */
    emailIndex: (email: string) => cipher.blindIndex(email),
    async lastCode(email: string): Promise<string> {
      const response = await fetch(`${base}/dev/mailbox?email=${encodeURIComponent(email)}`);
      const body = (await response.json()) as { code?: string };
      if (!body.code) throw new Error(`no code for ${email}`);
      return body.code;
    },
    /**
     * A second replica on the same database and Redis keys, with its own Redis connection (e.g.
     * through a TCP proxy that can cut it) and its own mailer (e.g. SMTP to a dead port): faults
     * hit one replica while the first stays healthy to check the outcome.
     */
    async startReplica(options: { redisUrl?: string; mailer?: (redis: Redis) => Mailer } = {}) {
      const replica = await serve(database, options.redisUrl ?? REDIS_URL, options.mailer ?? devMailbox);
      return {
        url: replica.running.url,
        async stop() {
          await replica.running.close();
          replica.redis.disconnect();
        },
      };
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
