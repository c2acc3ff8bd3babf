import { assertProductionSecrets, envFragments, envUrlList, loadEnv, z } from '@bth/platform/env';

/**
 * Every variable the wishlists service reads, with its default. Exported (not read at import) so the
 * compose and Kubernetes manifest tests check what a deployment sets against this one list.
 */
export const envSchema = {
  ...envFragments.base,
  ...envFragments.port(4003),
  ...envFragments.mysql('bth_wishlists'),
  ...envFragments.internalAuth,
  // GraphQL endpoints of the products replicas, asked directly whether a product exists.
  PRODUCTS_URL: envUrlList('http://127.0.0.1:4002/graphql,http://127.0.0.1:4012/graphql'),
  // Base URL of the orders service's internal API (`/internal/orders/place`).
  ORDERS_INTERNAL_URL: z.url().default('http://127.0.0.1:4004'),
};

/** Refused in production while unset or holding a public development default. */
export const productionSecrets = ['INTERNAL_JWT_SECRET'] as const;

/** Parsed once in `index.ts`; everything else receives the typed `WishlistsEnv`. */
export function readEnv() {
  const env = loadEnv(envSchema);
  assertProductionSecrets(env, [...productionSecrets]);
  return env;
}

export type WishlistsEnv = ReturnType<typeof readEnv>;
