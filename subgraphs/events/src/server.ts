import { readFileSync } from 'node:fs';
import { gql } from 'graphql-tag';
import type { AmqpClient } from '@bth/platform/amqp';
import type { DatabaseClient } from '@bth/platform/db';
import type { Logger } from '@bth/platform/logger';
import type { Metrics } from '@bth/platform/metrics';
import { createOutboxRelay } from '@bth/platform/outbox';
import { createSubgraph } from '@bth/platform/subgraph';
import type { EventsContext } from './context.js';
import { createProductsClient } from './products.client.js';
import { resolvers } from './resolvers/index.js';
import { createSaleEventRepository } from './sale-event.repository.js';
import { createSaleEventScheduler } from './sale-event.scheduler.js';
import { createSaleEventService } from './sale-event.service.js';
import { consumers } from './topology.js';

export const typeDefs = gql(readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8'));

export interface EventsDeps {
  config: {
    internalSecret: string;
    exposeInternals: boolean;
    /** EXPOSE_INTERNAL_ERRORS: original messages of unexpected errors (development only). */
    exposeInternalErrors?: boolean;
    /** GraphQL endpoints of the products replicas, asked in turn. */
    productsUrls: string[];
    productsTimeoutMs: number;
    schedulerTickMs: number;
    outboxPollMs: number;
  };
  logger: Logger;
  metrics: Metrics;
  database: DatabaseClient;
  /** `sale.started` / `sale.ended` leave through it (via the outbox); `sale.sold_out` arrives through it. */
  amqp: AmqpClient;
}

/**
 * Wires the events subgraph from its dependencies; `index.ts` calls it with real clients, tests
 * with test ones. The scheduler and the message work (outbox relay, sold-out consumer) are
 * returned, not started: the caller starts them and stops them on shutdown, so no timer or
 * consumer outlives its owner. Any number of instances can share one database.
 */
export function createServer(deps: EventsDeps) {
  const { config, logger, metrics, amqp } = deps;
  const relay = createOutboxRelay({
    db: deps.database.db,
    amqp,
    logger: logger.child({ component: 'outbox' }),
    metrics,
    pollMs: config.outboxPollMs,
  });
  const saleEvents = createSaleEventService({
    repository: createSaleEventRepository(deps.database.db),
    products: createProductsClient({
      urls: config.productsUrls,
      logger: logger.child({ component: 'products' }),
      timeoutMs: config.productsTimeoutMs,
    }),
    logger,
    metrics,
    onMessagesQueued: relay.kick,
  });
  const scheduler = createSaleEventScheduler({
    run: saleEvents.runDueTransitions,
    tickMs: config.schedulerTickMs,
    logger: logger.child({ component: 'scheduler' }),
  });

  const subgraph = createSubgraph<EventsContext>({
    name: 'events',
    typeDefs,
    resolvers,
    internalSecret: config.internalSecret,
    logger,
    metrics,
    exposeInternals: config.exposeInternals,
    exposeInternalErrors: config.exposeInternalErrors,
    // RabbitMQ is deliberately not a readiness check: transitions still happen and their messages
    // wait in the outbox until the broker is back, and the API needs only MariaDB.
    readiness: { mariadb: () => deps.database.ping() },
    extendContext: (base) => ({ ...base, saleEvents, loaders: saleEvents.createLoaders() }),
  });

  return {
    apollo: subgraph.apollo,
    listen: subgraph.listen,
    scheduler,
    messaging: {
      /** Declares the `events.sales` queue (every instance consumes it) and starts the relay. */
      async start() {
        await amqp.consume({ ...consumers.soldOut, handler: saleEvents.applySoldOut });
        relay.start();
      },
      stop: () => relay.stop(),
      relay,
    },
  };
}
