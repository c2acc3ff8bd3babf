import { readFileSync } from 'node:fs';
import { gql } from 'graphql-tag';
import { createFieldCipher } from '@bth/platform/crypto';
import type { DatabaseClient } from '@bth/platform/db';
import { serviceTokenSource } from '@bth/platform/identity';
import type { Logger } from '@bth/platform/logger';
import type { Metrics } from '@bth/platform/metrics';
import { createSubgraph } from '@bth/platform/subgraph';
import type { Redis } from '@bth/platform/redis';
import { createAdmission } from './admission.js';
import type { OrdersContext } from './context.js';
import type { PaymentMethod } from './db/schema.js';
import { internalRoutes } from './internal.routes.js';
import { createInventoryClient } from './inventory.client.js';
import { createLifecycleService } from './order-lifecycle.service.js';
import { createOrderRepository } from './order.repository.js';
import { createOrderScheduler } from './order.scheduler.js';
import { createOrderService } from './order.service.js';
import { createOrderViews } from './order.view.js';
import { createSimulatedPaymentProvider, type PaymentProvider } from './payment.provider.js';
import { createPaymentService } from './payment.service.js';
import { resolvers } from './resolvers/index.js';
import { createSoldOutCheck } from './sold-out.js';

export const typeDefs = gql(readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8'));

export interface OrdersDeps {
  config: {
    internalSecret: string;
    dataEncryptionKey: string;
    exposeInternals: boolean;
    /** EXPOSE_INTERNAL_ERRORS: original messages of unexpected errors (development only). */
    exposeInternalErrors?: boolean;
    inventoryUrls: string[];
    inventoryTimeoutMs: number;
    inventoryHangMs: number;
    inventoryBreakerResetMs: number;
    paymentTimeoutSeconds: number;
    shipAfterSeconds: number;
    deliverAfterSeconds: number;
    returnWindowSeconds: number;
    returnCompleteAfterSeconds: number;
    reconcilePendingAfterSeconds: number;
    schedulerIntervalMs: number;
    /** Simulated provider only: charges with these methods are declined. */
    paymentDeclineMethods: PaymentMethod[];
    /** ORDER_ADMISSION_PER_PRODUCT / ORDER_ADMISSION_TOTAL; absent: no admission control. */
    admission?: { perProduct: number; total: number };
  };
  logger: Logger;
  metrics: Metrics;
  database: DatabaseClient;
  /** Where products keeps its sold-out markers; absent: no sold-out fast path. */
  redis?: Redis;
  /** Defaults to the simulator; a real provider plugs in here. */
  paymentProvider?: PaymentProvider;
}

/**
 * Wires the orders subgraph from its dependencies; `index.ts` calls it with real clients, tests
 * with test ones. The scheduler is returned, not started: the caller starts it and stops it on
 * shutdown (tests too), so no timer outlives its owner.
 */
export function createServer(deps: OrdersDeps) {
  const { config, logger, metrics } = deps;
  const repository = createOrderRepository(deps.database.db);
  const views = createOrderViews(createFieldCipher(config.dataEncryptionKey));
  const inventory = createInventoryClient({
    urls: config.inventoryUrls,
    token: serviceTokenSource(config.internalSecret, 'orders', 'inventory'),
    logger: logger.child({ component: 'inventory' }),
    metrics,
    timeoutMs: config.inventoryTimeoutMs,
    hangMs: config.inventoryHangMs,
    resetTimeoutMs: config.inventoryBreakerResetMs,
  });
  const provider = deps.paymentProvider ?? createSimulatedPaymentProvider({ declineMethods: config.paymentDeclineMethods });
  const orders = createOrderService({
    repository,
    inventory,
    views,
    logger,
    config: {
      paymentTimeoutSeconds: config.paymentTimeoutSeconds,
      breakerResetMs: config.inventoryBreakerResetMs,
      inventoryTimeoutMs: config.inventoryTimeoutMs,
    },
    admission: config.admission && createAdmission(config.admission),
    soldOut: createSoldOutCheck({ redis: deps.redis, logger }),
    metrics,
  });
  const payments = createPaymentService({ repository, provider, views, logger });
  const lifecycle = createLifecycleService({
    repository,
    inventory,
    payments,
    views,
    logger,
    config: {
      shipAfterSeconds: config.shipAfterSeconds,
      deliverAfterSeconds: config.deliverAfterSeconds,
      returnWindowSeconds: config.returnWindowSeconds,
      returnCompleteAfterSeconds: config.returnCompleteAfterSeconds,
      reconcilePendingAfterSeconds: config.reconcilePendingAfterSeconds,
    },
  });
  const scheduler = createOrderScheduler({
    intervalMs: config.schedulerIntervalMs,
    logger: logger.child({ component: 'scheduler' }),
    jobs: [
      ['reconcile-pending', lifecycle.reconcilePending],
      ['resolve-stale-payments', payments.resolveStalePayments],
      ['expire-unpaid', lifecycle.expireUnpaid],
      ['complete-cancellations', lifecycle.completeCancellations],
      ['ship', lifecycle.ship],
      ['deliver', lifecycle.deliver],
      ['complete-returns', lifecycle.completeReturns],
    ],
  });

  const subgraph = createSubgraph<OrdersContext>({
    name: 'orders',
    typeDefs,
    resolvers,
    internalSecret: config.internalSecret,
    logger,
    metrics,
    exposeInternals: config.exposeInternals,
    exposeInternalErrors: config.exposeInternalErrors,
    readiness: { mariadb: () => deps.database.ping() },
    routes: internalRoutes({ orders, internalSecret: config.internalSecret, logger }),
    extendContext: (base) => ({ ...base, orders, payments, lifecycle, loaders: orders.createLoaders() }),
  });

  return {
    apollo: subgraph.apollo,
    listen: subgraph.listen,
    scheduler,
    inventory,
  };
}
