import type { IncomingMessage } from 'node:http';
import type { DocumentNode, GraphQLError } from 'graphql';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
} from '@apollo/server/plugin/disabled';
import { buildSubgraphSchema, type GraphQLResolverMap } from '@apollo/subgraph';
import { createErrorFormatter, dispositionOf, errorCauses, httpStatusOf } from './errors.js';
import { createHttpServer, sendGraphQLError, type JsonRoute, type ReadinessCheck } from './http.js';
import { IDENTITY_HEADER, readIdentityAssertion, type Identity } from './identity.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import { DEADLINE_HEADER } from './replicas.js';

/** What every subgraph resolver receives; subgraphs extend it with their loaders and services. */
export interface BaseContext {
  requestId: string;
  /** Verified from the router's identity assertion; null for anonymous or unverifiable callers. */
  identity: Identity | null;
  logger: Logger;
  /** Epoch ms after which the caller no longer waits (the router's `x-bth-deadline`); null when none was sent. */
  deadline: number | null;
}

/** The caller's absolute deadline from `x-bth-deadline`, or null when absent or malformed. */
export function readDeadline(req: IncomingMessage): number | null {
  const value = Number(req.headers[DEADLINE_HEADER]);
  return Number.isFinite(value) && value > 0 ? value : null;
}

/** Verified assertions kept at once; the router reuses one per identity, so this many distinct live callers. */
const ASSERTION_CACHE_SIZE = 10_000;

/**
 * `readIdentityAssertion` with its verdicts remembered by token string until the token's own
 * `exp`: the router sends the same assertion for one identity until it renews it, and an HMAC
 * verification (WebCrypto, a thread-pool job) costs more than the rest of a small request. Only
 * tokens that verified are remembered, so a caller without the secret cannot fill the map; an
 * expired entry is dropped and the token verified again (which then fails on `exp`).
 */
export function createAssertionReader(
  secret: string,
  deps: { now?: () => number; verify?: typeof readIdentityAssertion } = {},
): (header: string | undefined) => Promise<Identity | null> {
  const now = deps.now ?? Date.now;
  const verify = deps.verify ?? readIdentityAssertion;
  const verified = new Map<string, { identity: Identity; expiresAt: number }>();
  return async (header) => {
    if (!header) return null;
    const hit = verified.get(header);
    if (hit && now() < hit.expiresAt) return hit.identity;
    if (hit) verified.delete(header);
    const identity = await verify(secret, header);
    const expiresAt = identity ? expiryOf(header) : null;
    if (identity && expiresAt !== null) {
      // Oldest first: Map keeps insertion order, so the first key is the one to evict.
      if (verified.size >= ASSERTION_CACHE_SIZE) verified.delete(verified.keys().next().value!);
      verified.set(header, { identity, expiresAt });
    }
    return identity;
  };
}

/** `exp` (epoch ms) of a token that has just verified, so its payload is trusted; null if it has none. */
function expiryOf(token: string): number | null {
  try {
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { exp?: unknown };
    return typeof payload.exp === 'number' ? payload.exp * 1000 : null;
  } catch {
    return null;
  }
}

/**
 * A subgraph's resolver map, typed where it is written by the `Resolvers` generated from its own
 * schema (`src/generated/graphql.ts`, `npm run codegen`), which checks field names, arguments,
 * parents and return shapes. Apollo's `GraphQLResolverMap` types them all as `any`, so it is only
 * what the map is handed to `buildSubgraphSchema` as, never what it is checked against.
 */
export type SubgraphResolvers<TResolvers extends object = object> = TResolvers;

export interface SubgraphOptions<TContext extends BaseContext, TResolvers extends object = object> {
  name: string;
  typeDefs: DocumentNode;
  resolvers: SubgraphResolvers<TResolvers>;
  internalSecret: string;
  logger: Logger;
  metrics: Metrics;
  /** Development only: introspection on. */
  exposeInternals: boolean;
  /** EXPOSE_INTERNAL_ERRORS (refused in production): show the original message of unexpected errors, never a stack. */
  exposeInternalErrors?: boolean;
  readiness: Record<string, ReadinessCheck>;
  routes?: JsonRoute[];
  /** Builds the per-request context (per-request DataLoaders belong here). */
  extendContext: (base: BaseContext, req: IncomingMessage) => TContext;
}

/**
 * Logs each operation with its request id, so one request can be followed from the router into
 * every subgraph (set LOG_LEVEL=warn under load to keep only failures), and counts error codes.
 */
export function operationLoggingPlugin<T extends { logger: Logger; identity: Identity | null }>(metrics: Metrics): ApolloServerPlugin<T> {
  return {
    async requestDidStart() {
      const started = Date.now();
      return {
        async willSendResponse({ contextValue, operationName, errors }) {
          const codes = (errors ?? []).map((e) => String(e.extensions?.code ?? 'INTERNAL_SERVER_ERROR'));
          for (const code of codes) metrics.graphqlErrors.inc({ code });
          // The context is missing when the request failed before it was built (e.g. a bad token).
          if (!contextValue?.logger) return;
          const fields = {
            operationName,
            ms: Date.now() - started,
            userId: contextValue.identity?.userId,
            codes: codes.length ? codes : undefined,
          };
          if (codes.includes('INTERNAL_SERVER_ERROR') || codes.includes('SERVICE_UNAVAILABLE'))
            contextValue.logger.warn('operation failed', fields);
          else contextValue.logger.info('operation', fields);
        },
      };
    },
  };
}

/**
 * The error half of the contract, shared by the router and every subgraph:
 * - every unexpected error (masked by the formatter) is logged once, at error level, with the
 *   request id and its innermost cause; coded errors are answers, not incidents, and are not;
 * - an answer without any data takes its HTTP status from its errors (401, 429, 503 …), an answer
 *   with data is 200 whatever its partial errors, so a status never contradicts the body.
 * `isLoggedElsewhere` skips errors another process already logged (the router: a subgraph's errors).
 */
export function errorContractPlugin<T extends { logger?: Logger }>(
  fallbackLogger: Logger,
  isLoggedElsewhere: (error: GraphQLError) => boolean = () => false,
): ApolloServerPlugin<T> {
  return {
    async requestDidStart() {
      return {
        async didEncounterErrors({ contextValue, errors }) {
          // The context is missing when the request failed before it was built.
          const logger = contextValue?.logger ?? fallbackLogger;
          for (const error of errors) {
            const disposition = dispositionOf(error.extensions?.code, error);
            if (disposition === 'coded' || isLoggedElsewhere(error)) continue;
            const fields = { ...errorCauses(error), path: error.path?.join('.') };
            logger.error(disposition === 'unavailable' ? 'dependency unavailable' : 'unexpected error', fields);
          }
        },
        async willSendResponse({ response }) {
          if (response.body.kind !== 'single') return;
          const { data, errors } = response.body.singleResult;
          if (!errors?.length) return;
          if (hasData(data)) {
            response.http.status = 200;
            return;
          }
          const status = errors.map((e) => httpStatusOf(e.extensions?.code)).find((s) => s !== undefined);
          if (status !== undefined) response.http.status = status;
        },
      };
    },
  };
}

/** Some root field produced a value: part of the operation ran. */
function hasData(data: Record<string, unknown> | null | undefined): boolean {
  return !!data && Object.values(data).some((value) => value !== null && value !== undefined);
}

export function createSubgraph<TContext extends BaseContext, TResolvers extends object = object>(
  options: SubgraphOptions<TContext, TResolvers>,
) {
  const { logger } = options;
  const readIdentity = createAssertionReader(options.internalSecret);
  const apollo = new ApolloServer<TContext>({
    // Checked against the generated types where the resolvers are written (see SubgraphResolvers).
    schema: buildSubgraphSchema([{ typeDefs: options.typeDefs, resolvers: options.resolvers as GraphQLResolverMap<unknown> }]),
    includeStacktraceInErrorResponses: false,
    // Our onShutdown owns SIGTERM/SIGINT and stops Apollo in order; Apollo's own handler would race it.
    stopOnTerminationSignals: false,
    introspection: options.exposeInternals,
    formatError: createErrorFormatter({ exposeInternals: options.exposeInternalErrors ?? false }),
    // Inline traces (ftv1) cost time on every request and nothing here reads them. Nor does
    // anything read cache hints (no @cacheControl anywhere, the router sets no HTTP caching), yet
    // Apollo's default cache-control plugin hooks every resolved field to compute them.
    plugins: [
      ApolloServerPluginLandingPageDisabled(),
      ApolloServerPluginInlineTraceDisabled(),
      ApolloServerPluginCacheControlDisabled(),
      operationLoggingPlugin<TContext>(options.metrics),
      errorContractPlugin<TContext>(logger),
    ],
  });
  const http = createHttpServer<TContext>({
    apollo,
    logger,
    metrics: options.metrics,
    readiness: options.readiness,
    routes: options.routes,
    // Work whose caller has already given up (it waited in a frozen process's backlog) is refused
    // before it touches anything, so a replica that wakes up does not replay a queue nobody reads.
    beforeGraphQL: (req, res) => {
      const deadline = readDeadline(req);
      if (deadline === null || deadline > Date.now()) return false;
      sendGraphQLError(res, 503, 'UPSTREAM_UNAVAILABLE', 'The request ran out of time before it could start; try again', {
        retryable: true,
        retryAfterSeconds: 1,
      });
      return true;
    },
    context: async ({ req, requestId }) => {
      const header = req.headers[IDENTITY_HEADER];
      const identity = await readIdentity(typeof header === 'string' ? header : undefined);
      const base: BaseContext = { requestId, identity, logger: logger.child({ requestId }), deadline: readDeadline(req) };
      return options.extendContext(base, req);
    },
  });
  return {
    apollo,
    /** Starts Apollo and listens; port 0 picks a free port (tests). */
    async listen(port: number, host: string) {
      await apollo.start();
      const running = await http.listen(port, host);
      logger.info(`${options.name} subgraph ready`, { url: running.url });
      return {
        ...running,
        /** `graceMs`: how long in-flight requests may take to finish (tests pass a short one). */
        async close(graceMs?: number) {
          await running.close(graceMs);
          await apollo.stop();
        },
      };
    },
  };
}
