import { readFileSync } from 'node:fs';
import { gql } from 'graphql-tag';
import type { DatabaseClient } from '@bth/platform/db';
import { serviceTokenSource } from '@bth/platform/identity';
import type { Logger } from '@bth/platform/logger';
import type { Metrics } from '@bth/platform/metrics';
import { createSubgraph } from '@bth/platform/subgraph';
import type { WishlistsContext } from './context.js';
import { createOrdersClient } from './orders.client.js';
import { createProductsClient } from './products.client.js';
import { resolvers } from './resolvers/index.js';
import { createWishlistRepository } from './wishlist.repository.js';
import { createWishlistService } from './wishlist.service.js';

export const typeDefs = gql(readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8'));

export interface WishlistsDeps {
  config: {
    internalSecret: string;
    /** GraphQL endpoints of the products replicas, in failover order. */
    productsUrls: string[];
    /** Base URL of orders' internal API. */
    ordersInternalUrl: string;
    exposeInternals: boolean;
    /** EXPOSE_INTERNAL_ERRORS: original messages of unexpected errors (development only). */
    exposeInternalErrors?: boolean;
  };
  logger: Logger;
  metrics: Metrics;
  database: DatabaseClient;
}

/** Wires the wishlists subgraph from its dependencies; `index.ts` calls it with real clients, tests with test ones. */
export function createServer(deps: WishlistsDeps) {
  const { config, logger } = deps;
  const repository = createWishlistRepository(deps.database.db);
  const products = createProductsClient({ urls: config.productsUrls, logger });
  const orders = createOrdersClient({
    baseUrl: config.ordersInternalUrl,
    token: serviceTokenSource(config.internalSecret, 'wishlists', 'orders'),
    logger,
  });
  const wishlists = createWishlistService({ repository, products, orders, logger });

  return createSubgraph<WishlistsContext>({
    name: 'wishlists',
    typeDefs,
    resolvers,
    internalSecret: config.internalSecret,
    logger,
    metrics: deps.metrics,
    exposeInternals: config.exposeInternals,
    exposeInternalErrors: config.exposeInternalErrors,
    // Products and orders are not readiness checks: without them the wishlist still reads and
    // removes, and the calls that need them answer a clear, retryable UPSTREAM_UNAVAILABLE.
    readiness: { mariadb: () => deps.database.ping() },
    extendContext: (base) => ({ ...base, wishlists, loaders: { wishlist: wishlists.createLoader() } }),
  });
}
