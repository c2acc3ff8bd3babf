import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import {
  SESSIONS_AUDIENCE,
  SESSIONS_STATUS_PATH,
  createErrorFormatter,
  createHttpServer,
  errorContractPlugin,
  operationLoggingPlugin,
  sendGraphQLError,
  serviceTokenSource,
  type Logger,
  type Metrics,
  type Redis,
} from '@bth/platform';
import { createAuthenticator, type RequestIdentity } from './auth.js';
import { SubgraphDataSource } from './data-source.js';
import { createLimitChecker } from './limits.js';
import { createReplicaPool, type ReplicaPool } from './replicas.js';
import { createRevocationCheck } from './revocation.js';

export interface RouterContext extends RequestIdentity {
  requestId: string;
  logger: Logger;
}

export interface RouterDeps {
  config: {
    supergraphPath: string;
    subgraphUrls: Record<string, string[]>;
    internalSecret: string;
    accessTokenSecret: string;
    sandbox: boolean;
    corsOrigins: string[];
    maxDepth: number;
    maxAliases: number;
    maxBodyBytes: number;
    maxOperations: number;
    /** EXPOSE_INTERNAL_ERRORS: original messages of unexpected errors (development only). */
    exposeInternalErrors?: boolean;
  };
  logger: Logger;
  metrics: Metrics;
  redis: Redis;
}

export function createRouter(deps: RouterDeps) {
  const { config, logger, metrics } = deps;
  const pools = new Map<string, ReplicaPool>();
  const poolFor = (name: string) => {
    let pool = pools.get(name);
    if (!pool) {
      const urls = config.subgraphUrls[name];
      if (!urls?.length) throw new Error(`No URL configured for subgraph "${name}"`);
      pool = createReplicaPool(name, urls, logger);
      pools.set(name, pool);
    }
    return pool;
  };

  // The committed supergraph: nothing is composed or introspected at run time.
  const supergraphSdl = readFileSync(config.supergraphPath, 'utf8');
  const graphNames = [...supergraphSdl.matchAll(/@join__graph\(name: "(\w+)"/g)].map((m) => m[1]!);
  const gateway = new ApolloGateway({
    supergraphSdl,
    buildService: ({ name }) => new SubgraphDataSource<RouterContext>(name, poolFor(name).fetcher),
    logger: {
      debug: (m) => logger.debug(String(m)),
      info: (m) => logger.debug(String(m)),
      warn: (m) => logger.warn(String(m)),
      error: (m) => logger.error(String(m)),
    },
  });

  const apollo = new ApolloServer<RouterContext>({
    gateway,
    introspection: config.sandbox,
    includeStacktraceInErrorResponses: false,
    // Our onShutdown owns SIGTERM/SIGINT and stops Apollo in order; Apollo's own handler would race it.
    stopOnTerminationSignals: false,
    allowBatchedHttpRequests: true,
    formatError: createErrorFormatter({ exposeInternals: config.exposeInternalErrors ?? false }),
    plugins: [
      config.sandbox ? ApolloServerPluginLandingPageLocalDefault({ embed: true, includeCookies: false }) : ApolloServerPluginLandingPageDisabled(),
      operationLoggingPlugin<RouterContext>(metrics),
      // A subgraph's errors (they carry `serviceName`) were logged by that subgraph with the same request id.
      errorContractPlugin<RouterContext>(logger, (error) => error.extensions?.serviceName !== undefined),
    ],
  });

  const authenticate = createAuthenticator({
    accessTokenSecret: config.accessTokenSecret,
    internalSecret: config.internalSecret,
    sessionVerdict: createRevocationCheck({
      redis: deps.redis,
      logger,
      statusUrls: (config.subgraphUrls.users ?? []).map((url) => new URL(SESSIONS_STATUS_PATH, url).href),
      serviceToken: serviceTokenSource(config.internalSecret, 'router', SESSIONS_AUDIENCE),
    }),
  });
  const checkLimits = createLimitChecker(config);

  const http = createHttpServer<RouterContext>({
    apollo,
    logger,
    metrics,
    maxBodyBytes: config.maxBodyBytes,
    corsOrigins: config.corsOrigins,
    readiness: {
      // Ready when every subgraph has at least one live replica: that is when queries can work.
      subgraphs: async () => {
        const down: string[] = [];
        await Promise.all(
          graphNames.map(async (name) => {
            const urls = config.subgraphUrls[name] ?? [];
            const anyUp = await Promise.any(urls.map((u) => probe(u))).then(() => true, () => false);
            if (!anyUp) down.push(name);
          }),
        );
        if (down.length) throw new Error(`no live replica for: ${down.join(', ')}`);
      },
    },
    beforeGraphQL: (req: IncomingMessage, res, body) => {
      const query = req.method === 'GET' ? { query: new URL(req.url ?? '/', 'http://x').searchParams.get('query') } : body;
      const violation = checkLimits(query);
      if (!violation) return false;
      sendGraphQLError(res, 400, 'OPERATION_LIMIT_EXCEEDED', violation.message, { limit: violation.limit, max: violation.max, actual: violation.actual });
      return true;
    },
    context: async ({ req, requestId }) => {
      const childLogger = logger.child({ requestId });
      const authorization = req.headers.authorization;
      const auth = await authenticate(typeof authorization === 'string' ? authorization : undefined, requestId);
      return { ...auth, requestId, logger: childLogger };
    },
  });

  return {
    apollo,
    pools,
    async listen(port: number, host: string) {
      await apollo.start();
      const running = await http.listen(port, host);
      logger.info('router ready', { url: running.url });
      return {
        ...running,
        async close() {
          await running.close();
          await apollo.stop();
        },
      };
    },
  };
}

async function probe(graphqlUrl: string): Promise<void> {
  const response = await fetch(graphqlUrl.replace(/\/graphql$/, '/health/live'), { signal: AbortSignal.timeout(1_000) });
  if (!response.ok) throw new Error(`status ${response.status}`);
}
