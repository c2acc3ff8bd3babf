import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { Kind, OperationTypeNode, parse, type GraphQLFormattedError } from 'graphql';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginLandingPageDisabled,
  ApolloServerPluginSchemaReportingDisabled,
  ApolloServerPluginUsageReportingDisabled,
} from '@apollo/server/plugin/disabled';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import { createErrorFormatter } from '@bth/platform/errors';
import { createHttpServer, sendGraphQLError } from '@bth/platform/http';
import { SESSIONS_AUDIENCE, SESSIONS_STATUS_PATH, serviceTokenSource } from '@bth/platform/identity';
import type { Logger } from '@bth/platform/logger';
import type { Metrics } from '@bth/platform/metrics';
import type { Redis } from '@bth/platform/redis';
import { errorContractPlugin, operationLoggingPlugin } from '@bth/platform/subgraph';
import { DEFAULT_ADMISSION, createAdmission, type AdmissionLimits } from './admission.js';
import { createAuthenticator, type RequestIdentity } from './auth.js';
import { SubgraphDataSource } from './data-source.js';
import { DEFAULT_LIMITS, createLimitChecker, type OperationLimits, type RequestEnvelope } from './limits.js';
import { DEFAULT_DEADLINES, createReplicaPool, type ReplicaPool, type SubgraphTimeouts } from './replicas.js';
import { createRevocationCheck } from './revocation.js';
import { createTransport } from './transport.js';

export interface RouterContext extends RequestIdentity {
  requestId: string;
  logger: Logger;
  /** Epoch ms: arrival + the request budget; every subgraph attempt ends by then. */
  deadline: number;
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
    /** Defaults: DEFAULT_DEADLINES. */
    subgraphTimeouts?: SubgraphTimeouts;
    requestBudgetMs?: number;
    /** DEDUPLICATE_QUERIES: an identical query of one caller sent while the first runs gets its answer. Default on. */
    deduplicateQueries?: boolean;
    /** Operations run at once, waiting and how long (ADMISSION_*); defaults: admission.ts DEFAULT_ADMISSION. */
    admission?: Partial<AdmissionLimits>;
  } & Partial<OperationLimits>;
  logger: Logger;
  metrics: Metrics;
  redis: Redis;
}

export function createRouter(deps: RouterDeps) {
  const { config, logger, metrics } = deps;
  const pools = new Map<string, ReplicaPool>();
  const transport = createTransport();
  const poolFor = (name: string) => {
    let pool = pools.get(name);
    if (!pool) {
      const urls = config.subgraphUrls[name];
      if (!urls?.length) throw new Error(`No URL configured for subgraph "${name}"`);
      pool = createReplicaPool(name, urls, logger, config.subgraphTimeouts ?? DEFAULT_DEADLINES, transport.fetch);
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

  const formatError = createErrorFormatter({ exposeInternals: config.exposeInternalErrors ?? false });
  const apollo = new ApolloServer<RouterContext>({
    gateway,
    introspection: config.sandbox,
    // Production must not spell out field names an attacker could not introspect ("Did you mean …").
    hideSchemaDetailsFromClientErrors: !config.sandbox,
    includeStacktraceInErrorResponses: false,
    // Our onShutdown owns SIGTERM/SIGINT and stops Apollo in order; Apollo's own handler would race it.
    stopOnTerminationSignals: false,
    allowBatchedHttpRequests: true,
    formatError: config.sandbox ? formatError : (formatted, error) => withoutSuggestions(formatError(formatted, error)),
    // No cache hints (subgraphs send none, the data source reads none, the router sets no HTTP
    // caching) and no Apollo usage or schema reporting (Apollo would switch it on by itself when
    // an APOLLO_KEY is in the environment, at a cost on every request): per-request work nothing reads.
    plugins: [
      config.sandbox
        ? ApolloServerPluginLandingPageLocalDefault({ embed: true, includeCookies: false })
        : ApolloServerPluginLandingPageDisabled(),
      ApolloServerPluginCacheControlDisabled(),
      ApolloServerPluginUsageReportingDisabled(),
      ApolloServerPluginSchemaReportingDisabled(),
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
  const checkLimits = createLimitChecker(
    {
      maxDepth: config.maxDepth,
      maxAliases: config.maxAliases,
      maxOperations: config.maxOperations,
      maxFields: config.maxFields ?? DEFAULT_LIMITS.maxFields,
      maxDirectives: config.maxDirectives ?? DEFAULT_LIMITS.maxDirectives,
      maxRepeatedField: config.maxRepeatedField ?? DEFAULT_LIMITS.maxRepeatedField,
      maxVariables: config.maxVariables ?? DEFAULT_LIMITS.maxVariables,
      maxVariableValues: config.maxVariableValues ?? DEFAULT_LIMITS.maxVariableValues,
    },
    rootOperationTypes(supergraphSdl),
  );

  const admit = createAdmission({ ...DEFAULT_ADMISSION, ...config.admission }, logger);
  const http = createHttpServer<RouterContext>({
    apollo,
    logger,
    metrics,
    admit,
    maxBodyBytes: config.maxBodyBytes,
    corsOrigins: config.corsOrigins,
    readiness: {
      // Ready when every subgraph has at least one live replica: that is when queries can work.
      subgraphs: async () => {
        const down: string[] = [];
        await Promise.all(
          graphNames.map(async (name) => {
            const urls = config.subgraphUrls[name] ?? [];
            const anyUp = await Promise.any(urls.map((u) => probe(u))).then(
              () => true,
              () => false,
            );
            if (!anyUp) down.push(name);
          }),
        );
        if (down.length) throw new Error(`no live replica for: ${down.join(', ')}`);
      },
    },
    // Cost limits and envelope mistakes are answered here, before Apollo validates or plans.
    beforeGraphQL: (req: IncomingMessage, res, body) => {
      const refusal = checkLimits(req.method === 'GET' ? envelopeFromUrl(req.url) : body);
      if (!refusal) return false;
      sendGraphQLError(res, refusal.status, refusal.code, refusal.message, refusal.limit ?? {});
      return true;
    },
    // In-flight deduplication (issue 10, read storms): an identical query of the same caller
    // (same Authorization header, so never two users), sent while the first still runs, gets the
    // first one's answer. Never a mutation (each must run) and never a batch. A waiter's own
    // deadline is never passed: the first one started earlier, so its deadline comes sooner.
    shareKey: (req, body) => {
      if (!(config.deduplicateQueries ?? true)) return undefined;
      const get = req.method === 'GET';
      if (checkLimits.operationType(get ? envelopeFromUrl(req.url) : body) !== OperationTypeNode.QUERY) return undefined;
      const h = req.headers;
      // Everything Apollo's answer depends on: the caller, content negotiation, CSRF headers, the operation.
      return [
        h.authorization,
        h.accept,
        h['content-type'],
        h['apollo-require-preflight'],
        h['x-apollo-operation-name'],
        req.method,
        get ? req.url : JSON.stringify(body),
      ].join('\n');
    },
    context: async ({ req, requestId }) => {
      const deadline = Date.now() + (config.requestBudgetMs ?? DEFAULT_DEADLINES.requestBudgetMs);
      const childLogger = logger.child({ requestId });
      const authorization = req.headers.authorization;
      const auth = await authenticate(typeof authorization === 'string' ? authorization : undefined, requestId);
      return { ...auth, requestId, logger: childLogger, deadline };
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
          for (const pool of pools.values()) pool.close();
          transport.close();
        },
      };
    },
  };
}

/** The operation types the supergraph has a root for (it declares no subscriptions). */
function rootOperationTypes(supergraphSdl: string): Set<OperationTypeNode> {
  const types = new Set<OperationTypeNode>();
  for (const def of parse(supergraphSdl, { noLocation: true }).definitions) {
    if (def.kind === Kind.SCHEMA_DEFINITION) for (const root of def.operationTypes) types.add(root.operation);
  }
  return types.size ? types : new Set([OperationTypeNode.QUERY]);
}

/** A GET request's operation as Apollo reads it; unparseable JSON parameters are left for Apollo's 400. */
function envelopeFromUrl(url: string | undefined): RequestEnvelope {
  const params = new URL(url ?? '/', 'http://x').searchParams;
  const json = (name: string): unknown => {
    const text = params.get(name);
    try {
      return text === null ? undefined : JSON.parse(text);
    } catch {
      return undefined;
    }
  };
  return {
    query: params.get('query') ?? undefined,
    operationName: params.get('operationName') ?? undefined,
    variables: json('variables'),
    extensions: json('extensions'),
  };
}

/** Strips "Did you mean …?" from errors Apollo's own suggestion hiding misses (variable coercion). */
function withoutSuggestions(formatted: GraphQLFormattedError): GraphQLFormattedError {
  return { ...formatted, message: formatted.message.replace(/ ?Did you mean .+?\?$/, '') };
}

async function probe(graphqlUrl: string): Promise<void> {
  const response = await fetch(graphqlUrl.replace(/\/graphql$/, '/health/live'), { signal: AbortSignal.timeout(1_000) });
  if (!response.ok) throw new Error(`status ${response.status}`);
}
