import { exposeInternalErrors } from '@bth/platform/env';
import { createLogger } from '@bth/platform/logger';
import { createMetrics } from '@bth/platform/metrics';
import { createRedis } from '@bth/platform/redis';
import { onShutdown, runMain } from '@bth/platform/service';
import { readEnv } from './env.js';
import { createRouter } from './server.js';

runMain(async () => {
  const env = readEnv();
  const logger = createLogger({ service: 'router' }, env.LOG_LEVEL);
  // Redis only caches the session-revocation check here (users answers when it cannot); the router starts and works without it.
  const redis = createRedis({ url: env.REDIS_URL, keyPrefix: env.REDIS_KEY_PREFIX, logger });
  const router = createRouter({
    config: {
      supergraphPath: env.SUPERGRAPH_PATH,
      subgraphUrls: env.subgraphUrls,
      internalSecret: env.INTERNAL_JWT_SECRET,
      accessTokenSecret: env.ACCESS_TOKEN_SECRET,
      sandbox: env.sandbox,
      corsOrigins: env.CORS_ORIGINS,
      maxDepth: env.MAX_DEPTH,
      maxAliases: env.MAX_ALIASES,
      maxBodyBytes: env.MAX_BODY_BYTES,
      maxOperations: env.MAX_OPERATIONS,
      exposeInternalErrors: exposeInternalErrors(env),
      maxFields: env.MAX_FIELDS,
      maxDirectives: env.MAX_DIRECTIVES,
      maxRepeatedField: env.MAX_REPEATED_FIELD,
      maxVariables: env.MAX_VARIABLES,
      maxVariableValues: env.MAX_VARIABLE_VALUES,
      subgraphTimeouts: env.subgraphTimeouts,
      requestBudgetMs: env.REQUEST_BUDGET_MS,
      deduplicateQueries: env.DEDUPLICATE_QUERIES,
      admission: env.admission,
    },
    logger,
    metrics: createMetrics('router'),
    redis,
  });
  const running = await router.listen(env.PORT, env.HOST);
  onShutdown(logger, [
    ['http', () => running.close()],
    ['redis', () => redis.quit()],
  ]);
});
