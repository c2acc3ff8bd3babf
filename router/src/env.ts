import { fileURLToPath } from 'node:url';
import { DEFAULT_ADMISSION } from './admission.js';
import { DEFAULT_LIMITS } from './limits.js';
import { DEFAULT_DEADLINES } from './replicas.js';
import { assertProductionSecrets, envBool, envFragments, envList, envUrlList, loadEnv, z } from '@bth/platform/env';

/**
 * Every variable the router service reads, with its default. Exported (not read at import) so the
 * compose and Kubernetes manifest tests check what a deployment sets against this one list.
 */
export const envSchema = {
  ...envFragments.base,
  ...envFragments.port(4000),
  ...envFragments.redis,
  ...envFragments.internalAuth,
  ...envFragments.accessToken,
  SUPERGRAPH_PATH: z.string().default(fileURLToPath(new URL('../../schema/supergraph.graphql', import.meta.url))),
  USERS_URL: envUrlList('http://127.0.0.1:4001/graphql'),
  PRODUCTS_URL: envUrlList('http://127.0.0.1:4002/graphql,http://127.0.0.1:4012/graphql'),
  WISHLISTS_URL: envUrlList('http://127.0.0.1:4003/graphql'),
  ORDERS_URL: envUrlList('http://127.0.0.1:4004/graphql'),
  EVENTS_URL: envUrlList('http://127.0.0.1:4005/graphql'),
  // Sandbox (landing page + introspection): on for local development, off in production.
  ENABLE_SANDBOX: envBool.optional(),
  CORS_ORIGINS: envList('https://studio.apollographql.com,https://sandbox.embed.apollographql.com'),
  // Limits: generous for real clients (the deepest app query is ~6 levels), tight for abuse.
  MAX_DEPTH: z.coerce.number().int().min(1).default(10),
  MAX_ALIASES: z.coerce.number().int().min(0).default(30),
  MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(64 * 1024),
  MAX_OPERATIONS: z.coerce.number().int().min(1).default(5),
  // Cost limits on the operation with fragments expanded; why each default: limits.ts DEFAULT_LIMITS.
  MAX_FIELDS: z.coerce.number().int().min(1).default(DEFAULT_LIMITS.maxFields),
  MAX_DIRECTIVES: z.coerce.number().int().min(0).default(DEFAULT_LIMITS.maxDirectives),
  MAX_REPEATED_FIELD: z.coerce.number().int().min(1).default(DEFAULT_LIMITS.maxRepeatedField),
  MAX_VARIABLES: z.coerce.number().int().min(0).default(DEFAULT_LIMITS.maxVariables),
  MAX_VARIABLE_VALUES: z.coerce.number().int().min(1).default(DEFAULT_LIMITS.maxVariableValues),
  // Deadlines per subgraph attempt and for the whole request; why each default: replicas.ts DEFAULT_DEADLINES.
  SUBGRAPH_QUERY_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(DEFAULT_DEADLINES.queryMs),
  SUBGRAPH_MUTATION_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(DEFAULT_DEADLINES.mutationMs),
  // Passed down as an absolute deadline (x-bth-deadline), so no subgraph works past it.
  REQUEST_BUDGET_MS: z.coerce.number().int().min(100).max(300_000).default(DEFAULT_DEADLINES.requestBudgetMs),
  // A read storm (one page opened by a thousand shoppers at once) reaches a subgraph once per
  // caller identity instead of a thousand times. Off only to compare with a gateway that has none.
  DEDUPLICATE_QUERIES: envBool.default(true),
  // Admission: operations run at once, how many may wait, and for how long; why each default: admission.ts.
  ADMISSION_MAX_IN_FLIGHT: z.coerce.number().int().min(1).default(DEFAULT_ADMISSION.maxInFlight),
  ADMISSION_MAX_QUEUED: z.coerce.number().int().min(0).default(DEFAULT_ADMISSION.maxQueued),
  ADMISSION_MAX_WAIT_MS: z.coerce.number().int().min(1).max(120_000).default(DEFAULT_ADMISSION.maxWaitMs),
};

/** Refused in production while unset or holding a public development default. */
export const productionSecrets = ['INTERNAL_JWT_SECRET', 'ACCESS_TOKEN_SECRET'] as const;

/** Parsed once in `index.ts`. Every subgraph URL may list several replicas, comma-separated. */
export function readEnv() {
  const env = loadEnv(envSchema);
  assertProductionSecrets(env, [...productionSecrets]);
  return {
    ...env,
    sandbox: env.ENABLE_SANDBOX ?? env.NODE_ENV !== 'production',
    admission: { maxInFlight: env.ADMISSION_MAX_IN_FLIGHT, maxQueued: env.ADMISSION_MAX_QUEUED, maxWaitMs: env.ADMISSION_MAX_WAIT_MS },
    subgraphTimeouts: { queryMs: env.SUBGRAPH_QUERY_TIMEOUT_MS, mutationMs: env.SUBGRAPH_MUTATION_TIMEOUT_MS },
    subgraphUrls: {
      users: env.USERS_URL,
      products: env.PRODUCTS_URL,
      wishlists: env.WISHLISTS_URL,
      orders: env.ORDERS_URL,
      events: env.EVENTS_URL,
    } as Record<string, string[]>,
  };
}

export type RouterEnv = ReturnType<typeof readEnv>;
