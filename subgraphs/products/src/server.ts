import { readFileSync } from 'node:fs';
import { gql } from 'graphql-tag';
import type { AmqpClient } from '@bth/platform/amqp';
import type { DatabaseClient } from '@bth/platform/db';
import type { Logger } from '@bth/platform/logger';
import type { Metrics } from '@bth/platform/metrics';
import { createOutboxRelay } from '@bth/platform/outbox';
import type { Redis } from '@bth/platform/redis';
import { createSubgraph } from '@bth/platform/subgraph';
import type { ProductsContext } from './context.js';
import { createInventoryRepository } from './inventory.repository.js';
import { createInventoryRoutes } from './inventory.routes.js';
import { createInventoryService, type HotProductOptions } from './inventory.service.js';
import { createProductCache } from './product-cache.js';
import { createProductRepository } from './product.repository.js';
import { createProductService } from './product.service.js';
import { resolvers } from './resolvers/index.js';
import { createSoldOutMarker } from './sold-out-marker.js';
import { createSaleRepository } from './sale.repository.js';
import { createSaleService } from './sale.service.js';
import { consumers } from './topology.js';

export const typeDefs = gql(readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8'));

export interface ProductsDeps {
  config: {
    internalSecret: string;
    exposeInternals: boolean;
    /** EXPOSE_INTERNAL_ERRORS: original messages of unexpected errors (development only). */
    exposeInternalErrors?: boolean;
    productCacheTtlSeconds: number;
    listingCacheTtlSeconds: number;
    /** INVENTORY_QUEUE_HIGH_WATER / INVENTORY_MAX_BATCH (defaults: DEFAULT_HOT_PRODUCT). */
    hotProduct?: Partial<HotProductOptions>;
  };
  logger: Logger;
  metrics: Metrics;
  database: DatabaseClient;
  redis: Redis;
  /** Sale events arrive through it (`sale.scheduled`, `sale.updated`, `sale.started`, `sale.ended`); `sale.sold_out` leaves through it. */
  amqp: AmqpClient;
}

/**
 * Wires the products subgraph from its dependencies; `index.ts` calls it with real clients, tests
 * with test ones. Nothing here keeps state that another replica needs (loaders are per request,
 * the cache and the stock live in Redis and MariaDB; inventory's per-product queues and sold-out
 * hints are this process's own and decide nothing by themselves), so any number of replicas can
 * serve one database.
 * The message work (sale consumer, outbox relay) is returned, not started: the caller starts it
 * and stops it on shutdown, so no consumer or timer outlives its owner.
 */
export function createServer(deps: ProductsDeps) {
  const { config, logger, metrics, redis } = deps;
  const cache = createProductCache({
    redis,
    logger,
    metrics,
    productTtlSeconds: config.productCacheTtlSeconds,
    listingTtlSeconds: config.listingCacheTtlSeconds,
  });
  const products = createProductService({ repository: createProductRepository(deps.database.db), cache });
  const relay = createOutboxRelay({ db: deps.database.db, amqp: deps.amqp, logger: logger.child({ component: 'outbox' }), metrics });
  const inventory = createInventoryService({
    repository: createInventoryRepository(deps.database.db),
    cache,
    metrics,
    logger,
    onMessagesQueued: relay.kick,
    hotProduct: config.hotProduct,
    soldOutMarker: createSoldOutMarker(redis),
  });
  const sales = createSaleService({
    repository: createSaleRepository(deps.database.db),
    cache,
    logger: logger.child({ component: 'sales' }),
  });

  const subgraph = createSubgraph<ProductsContext>({
    name: 'products',
    typeDefs,
    resolvers,
    internalSecret: config.internalSecret,
    logger,
    metrics,
    exposeInternals: config.exposeInternals,
    exposeInternalErrors: config.exposeInternalErrors,
    // Redis is deliberately not a readiness check: it is only a cache here, and a replica that
    // reports "not ready" while Redis is down would take the catalogue and the inventory with it.
    readiness: { mariadb: () => deps.database.ping() },
    routes: createInventoryRoutes({ inventory, internalSecret: config.internalSecret, logger }),
    extendContext: (base) => ({
      ...base,
      products,
      inventory,
      loaders: { product: products.createLoader(), saleSold: sales.createSoldLoader() },
    }),
  });

  return {
    apollo: subgraph.apollo,
    listen: subgraph.listen,
    messaging: {
      /** Declares the `products.sales` queue (every replica consumes it) and starts the relay. */
      async start() {
        await deps.amqp.consume({ ...consumers.sales, handler: sales.apply });
        relay.start();
      },
      stop: () => relay.stop(),
      relay,
    },
  };
}
