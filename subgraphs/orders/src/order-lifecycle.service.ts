import { errors } from '@bth/platform/errors';
import type { Identity } from '@bth/platform/identity';
import { normalizeId } from '@bth/platform/ids';
import type { Logger } from '@bth/platform/logger';
import type { OrderRow, ReturnReason } from './db/schema.js';
import { InventoryUnavailableError, type InventoryClient } from './inventory.client.js';
import type { OrderQueries, OrderRepository } from './order.repository.js';
import { checkReturn, isCancellable, type OrderStatus } from './order-status.js';
import { orderNotCancellable, returnNotAllowed, type CancelOrderResult, type OrderViews, type RequestReturnResult } from './order.view.js';
import type { PaymentService } from './payment.service.js';

// Rows handled per job per tick: bounds one tick's length; the next tick takes the rest.
const BATCH = 100;

export interface LifecycleConfig {
  shipAfterSeconds: number;
  deliverAfterSeconds: number;
  returnWindowSeconds: number;
  returnCompleteAfterSeconds: number;
  reconcilePendingAfterSeconds: number;
}

/**
 * Everything that happens to an order after it was placed: cancel and return (user actions) and
 * the timed transitions the scheduler drives. Each change that gives stock back holds the order's
 * row lock while it calls inventory, and writes the final status only after inventory said yes;
 * if inventory is down, the transaction rolls back and the order stays where it was (a state that
 * can no longer be paid or shipped: CANCELLING, RETURN_REQUESTED, PENDING, or AWAITING_PAYMENT
 * past its deadline), to be retried by the next scheduler tick. So a status never claims stock is
 * back when it is not, and no payment or shipment can slip in after stock was given back.
 */
export function createLifecycleService(deps: {
  repository: OrderRepository;
  inventory: InventoryClient;
  payments: PaymentService;
  views: OrderViews;
  logger: Logger;
  config: LifecycleConfig;
  now?: () => Date;
}) {
  const { repository, inventory, payments, views, logger, config } = deps;
  const now = deps.now ?? (() => new Date());
  const ago = (seconds: number) => new Date(now().getTime() - seconds * 1000);

  async function ownedAndLocked(tx: OrderQueries, identity: Identity, orderId: string): Promise<OrderRow> {
    const id = normalizeId(orderId);
    const order = id ? await tx.lockById(id) : undefined;
    if (!order || order.userId !== identity.userId) throw errors.notFound('Order');
    return order;
  }

  /**
   * Runs `work` for each due order, one transaction and row lock per order (SKIP LOCKED: an order
   * another instance is handling is skipped). Stops at the first inventory failure: the rest
   * would fail the same way, and the next tick tries again.
   */
  async function eachDue(
    job: string,
    status: OrderStatus,
    clock: 'statusChangedAt' | 'paymentDueAt',
    before: Date,
    work: (tx: OrderQueries, order: OrderRow) => Promise<boolean>,
  ): Promise<number> {
    let done = 0;
    for (const id of await repository.dueIds(status, clock, before, BATCH)) {
      try {
        const changed = await repository.transaction(async (tx) => {
          const order = await tx.lockIfDue(id, status, clock, before);
          return order ? work(tx, order) : false;
        });
        if (changed) done++;
      } catch (error) {
        if (error instanceof InventoryUnavailableError) {
          logger.info('inventory unavailable; will retry on the next tick', { job, reason: error.reason });
          break;
        }
        // One bad order must not stall the others behind it.
        logger.error('scheduled transition failed', { job, orderId: id, error });
      }
    }
    return done;
  }

  /** CANCELLING → stock released, payment (if any) refunded → CANCELLED; all or nothing. */
  async function finishCancelling(tx: OrderQueries, order: OrderRow): Promise<boolean> {
    await inventory.release(order.id, { once: true });
    await payments.refundOrder(tx, order.id, 'CANCELLED');
    return (await tx.transition([order.id], 'CANCELLING', 'CANCELLED', now())).length === 1;
  }

  /**
   * The request's own finish. It waits for a scheduler tick that took the order between our two
   * transactions (skipping it would answer CANCELLING while the tick is about to commit
   * CANCELLED); the wait is bounded by the lock wait timeout, one inventory deadline + 3 s.
   */
  async function completeCancellation(orderId: string): Promise<boolean> {
    return repository.transaction(async (tx) => {
      const order = await tx.lockIfDue(orderId, 'CANCELLING', 'statusChangedAt', now(), { wait: true });
      return order ? finishCancelling(tx, order) : false;
    });
  }

  /** PAID → SHIPPING, SHIPPING → DELIVERED: pure status changes, a batch per transaction. */
  async function advance(from: OrderStatus, to: OrderStatus, afterSeconds: number): Promise<number> {
    return repository.transaction(async (tx) => {
      const ids = await tx.lockDueBatch(from, 'statusChangedAt', ago(afterSeconds), BATCH);
      const at = now();
      return (await tx.transition(ids, from, to, at, to === 'DELIVERED' ? { deliveredAt: at } : {})).length;
    });
  }

  return {
    /**
     * AWAITING_PAYMENT or PAID → CANCELLING (committed first, so nothing can pay or ship it any
     * more) → stock released and payment refunded → CANCELLED. If inventory or the provider is
     * down, the answer is the order in CANCELLING and the scheduler completes it. Cancelling an
     * order that is already CANCELLING or CANCELLED returns it unchanged (a double click is fine).
     */
    async cancelOrder(identity: Identity, orderId: string): Promise<CancelOrderResult> {
      const accepted = await repository.transaction(async (tx): Promise<CancelOrderResult> => {
        const order = await ownedAndLocked(tx, identity, orderId);
        if (order.status === 'CANCELLING' || order.status === 'CANCELLED') return views.toView(order);
        if (!isCancellable(order.status)) return orderNotCancellable(order.id, order.status);
        if (order.status === 'AWAITING_PAYMENT' && (await tx.findActivePayment(order.id))) {
          throw errors.conflict('A payment for this order is in progress; try again in a moment');
        }
        await tx.transition([order.id], order.status, 'CANCELLING', now());
        return views.toView(order);
      });
      if (accepted.__typename !== 'Order' || accepted.status === 'CANCELLED') return accepted;
      try {
        await completeCancellation(accepted.id);
      } catch (error) {
        logger.warn('cancellation accepted; the scheduler will finish it', { orderId: accepted.id, error });
      }
      const row = await repository.findById(accepted.id);
      return views.toView(row!);
    },

    async requestReturn(identity: Identity, orderId: string, reason: ReturnReason): Promise<RequestReturnResult> {
      return repository.transaction(async (tx) => {
        const order = await ownedAndLocked(tx, identity, orderId);
        const at = now();
        const decision = checkReturn(order, at, config.returnWindowSeconds);
        if (!decision.ok) return returnNotAllowed(order.id, decision.reason, order.status);
        await tx.transition([order.id], 'DELIVERED', 'RETURN_REQUESTED', at, { returnReason: reason, returnRequestedAt: at });
        return views.toView((await tx.findById(order.id))!);
      });
    },

    /**
     * A PENDING order past the reconcile age lost its request (crash, timeout, inventory down).
     * We release rather than re-reserve: the buyer was told "unavailable, retry", so an order
     * that quietly came back to life later would be a surprise charge-to-be and would hold stock
     * for someone who may have bought elsewhere. Release also tombstones the order id, so a
     * reserve still in flight takes nothing when it lands. Only then does the order become FAILED
     * (freeing its idempotency key); a confirmation racing us waits on our row lock and then finds
     * the order no longer PENDING.
     */
    reconcilePending(): Promise<number> {
      return eachDue('reconcile', 'PENDING', 'statusChangedAt', ago(config.reconcilePendingAfterSeconds), async (tx, order) => {
        await inventory.release(order.id, { once: true });
        return (await tx.transition([order.id], 'PENDING', 'FAILED', now(), { idempotencyClaim: null })).length === 1;
      });
    },

    /** Unpaid past the deadline → stock released → EXPIRED. Skips orders with a charge in flight. */
    expireUnpaid(): Promise<number> {
      return eachDue('expire', 'AWAITING_PAYMENT', 'paymentDueAt', now(), async (tx, order) => {
        if (await tx.findActivePayment(order.id)) return false;
        await inventory.release(order.id, { once: true });
        return (await tx.transition([order.id], 'AWAITING_PAYMENT', 'EXPIRED', now())).length === 1;
      });
    },

    /** Finishes cancellations a request could not complete (inventory or provider was down). */
    completeCancellations(): Promise<number> {
      return eachDue('cancel', 'CANCELLING', 'statusChangedAt', now(), finishCancelling);
    },

    ship: () => advance('PAID', 'SHIPPING', config.shipAfterSeconds),
    deliver: () => advance('SHIPPING', 'DELIVERED', config.deliverAfterSeconds),

    /** RETURN_REQUESTED → goods back on the shelf, money back → RETURNED. */
    completeReturns(): Promise<number> {
      return eachDue('return', 'RETURN_REQUESTED', 'statusChangedAt', ago(config.returnCompleteAfterSeconds), async (tx, order) => {
        // A 409 here (nothing reserved to restock) would be a broken invariant; eachDue logs it.
        await inventory.restock(order.id, { once: true });
        await payments.refundOrder(tx, order.id, 'RETURNED');
        return (await tx.transition([order.id], 'RETURN_REQUESTED', 'RETURNED', now())).length === 1;
      });
    },
  };
}

export type LifecycleService = ReturnType<typeof createLifecycleService>;
