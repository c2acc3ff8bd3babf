import { readFileSync } from 'node:fs';
import { gql } from 'graphql-tag';
import { createFieldCipher } from '@bth/platform/crypto';
import type { DatabaseClient } from '@bth/platform/db';
import type { JsonRoute } from '@bth/platform/http';
import type { Logger } from '@bth/platform/logger';
import type { Metrics } from '@bth/platform/metrics';
import type { Redis } from '@bth/platform/redis';
import { createSubgraph } from '@bth/platform/subgraph';
import { ACCESS_TOKEN_TTL_SECONDS, createAuthService } from './auth.service.js';
import type { Mailer } from './mailer.js';
import { resolvers } from './resolvers/index.js';
import { createRevocationCache } from './revocations.js';
import { createSessionRoutes } from './sessions.routes.js';
import { createUsersRepository } from './users.repository.js';
import { createUsersService } from './users.service.js';
import { createVerificationService } from './verification.service.js';
import type { UsersContext } from './context.js';

export const typeDefs = gql(readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8'));

export interface UsersDeps {
  config: {
    internalSecret: string;
    accessTokenSecret: string;
    dataEncryptionKey: string;
    blindIndexKey: string;
    exposeInternals: boolean;
    /** EXPOSE_INTERNAL_ERRORS: original messages of unexpected errors (development only). */
    exposeInternalErrors?: boolean;
  };
  logger: Logger;
  metrics: Metrics;
  database: DatabaseClient;
  redis: Redis;
  mailer: Mailer;
}

/** Wires the users subgraph from its dependencies; `index.ts` calls it with real clients, tests with test ones. */
export function createServer(deps: UsersDeps) {
  const { config, logger, redis, mailer } = deps;
  const cipher = createFieldCipher(config.dataEncryptionKey, config.blindIndexKey);
  const repository = createUsersRepository(deps.database.db);
  const users = createUsersService({ repository, cipher });
  const verification = createVerificationService({
    redis,
    mailer,
    logger,
    hashKey: config.blindIndexKey,
    emailIndex: (email) => cipher.blindIndex(email),
    isRegistered: users.isRegistered,
  });
  const revocations = createRevocationCache({ repository, redis, logger, accessTokenTtlSeconds: ACCESS_TOKEN_TTL_SECONDS });
  const auth = createAuthService({
    repository,
    verification,
    cipher,
    redis,
    logger,
    revocations,
    accessTokenSecret: config.accessTokenSecret,
  });

  // The dev mailbox is reachable only when the mailer is one (never in production, see env.ts).
  const lastCode = mailer.lastCode?.bind(mailer);
  const devRoutes: JsonRoute[] = lastCode
    ? [
        {
          method: 'GET',
          path: '/dev/mailbox',
          handler: async ({ query }) => {
            const email = (query.get('email') ?? '').trim().toLowerCase();
            const code = email ? await lastCode(email) : null;
            return code
              ? { status: 200, body: { email, code } }
              : { status: 404, body: { error: { code: 'NOT_FOUND', message: 'No code for that address' } } };
          },
        },
      ]
    : [];

  const routes = [...createSessionRoutes({ revocations, internalSecret: config.internalSecret, logger }), ...devRoutes];

  const subgraph = createSubgraph<UsersContext>({
    name: 'users',
    typeDefs,
    resolvers,
    internalSecret: config.internalSecret,
    logger,
    metrics: deps.metrics,
    exposeInternals: config.exposeInternals,
    exposeInternalErrors: config.exposeInternalErrors,
    readiness: {
      mariadb: () => deps.database.ping(),
      redis: async () => void (await redis.ping()),
    },
    routes,
    extendContext: (base) => ({ ...base, auth, users, verification, loaders: { user: users.createLoader() } }),
  });
  return {
    ...subgraph,
    revocations,
    /** Listens and keeps the router's revocation cache in Redis complete while running. */
    async listen(port: number, host: string) {
      const running = await subgraph.listen(port, host);
      const stopCache = revocations.start();
      return {
        ...running,
        async close(graceMs?: number) {
          stopCache();
          await running.close(graceMs);
        },
      };
    },
  };
}
