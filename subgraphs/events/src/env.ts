import { assertProductionSecrets, envFragments, envUrlList, loadEnv, z } from '@bth/platform/env';

/**
 * Every variable the events service reads, with its default. Exported (not read at import) so the
 * compose and Kubernetes manifest tests check what a deployment sets against this one list.
 */
export const envSchema = {
  ...envFragments.base,
  ...envFragments.port(4005),
  ...envFragments.mysql('bth_events'),
  ...envFragments.amqp,
  ...envFragments.internalAuth,
  // GraphQL endpoints of the products replicas, asked for a product's regular price.
  PRODUCTS_URL: envUrlList('http://127.0.0.1:4002/graphql,http://127.0.0.1:4012/graphql'),
  // Per replica: the price lookup is a cached primary-key read; 2 s without an answer means that
  // replica is down or stuck, and the next one still answers the admin within a few seconds.
  PRODUCTS_TIMEOUT_MS: z.coerce.number().int().min(100).max(30_000).default(2_000),
  // Events open and close within a second of their times: a 250 ms tick plus a transaction and the
  // relay's kick stays well inside that, for two indexed reads per tick per instance.
  SCHEDULER_TICK_MS: z.coerce.number().int().min(50).max(1_000).default(250),
  // Fallback only: each transition kicks the relay after its commit. The poll picks up what a kick
  // missed (a broker that was down, another instance's commit) within half a second.
  OUTBOX_POLL_MS: z.coerce.number().int().min(50).max(10_000).default(500),
};

/** Refused in production while unset or holding a public development default. */
export const productionSecrets = ['INTERNAL_JWT_SECRET'] as const;

/** Parsed once in `index.ts`; everything else receives the typed `EventsEnv`. */
export function readEnv() {
  const env = loadEnv(envSchema);
  assertProductionSecrets(env, [...productionSecrets]);
  return env;
}

export type EventsEnv = ReturnType<typeof readEnv>;
