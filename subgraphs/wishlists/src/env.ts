import { assertProductionSecrets, envFragments, envUrlList, loadEnv, telemetryEnv, z } from '@bth/platform';

/** Parsed once in `index.ts`; everything else receives the typed `WishlistsEnv`. */
export function readEnv() {
  const env = loadEnv({
    ...envFragments.base,
    ...telemetryEnv,
    ...envFragments.port(4003),
    ...envFragments.mysql('bth_wishlists'),
    ...envFragments.internalAuth,
    // GraphQL endpoints of the products replicas, asked directly whether a product exists.
    PRODUCTS_URL: envUrlList('http://127.0.0.1:4002/graphql,http://127.0.0.1:4012/graphql'),
    // Base URL of the orders service's internal API (`/internal/orders/place`).
    ORDERS_INTERNAL_URL: z.url().default('http://127.0.0.1:4004'),
  });
  assertProductionSecrets(env, ['INTERNAL_JWT_SECRET']);
  return env;
}

export type WishlistsEnv = ReturnType<typeof readEnv>;
