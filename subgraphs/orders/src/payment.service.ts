import { randomUUID } from 'node:crypto';
import { FieldErrors, errors } from '@bth/platform/errors';
import type { Identity } from '@bth/platform/identity';
import type { Logger } from '@bth/platform/logger';
import { isUuid } from '@bth/platform/validation';
import { sleep } from './backoff.js';
import type { OrderRow, PaymentMethod, PaymentRow } from './db/schema.js';
import type { OrderQueries, OrderRepository } from './order.repository.js';
import { orderNotPayable, paymentDeclined, type OrderViews, type OrderView, type PayOrderResult } from './order.view.js';
import type { ChargeResult, PaymentProvider } from './payment.provider.js';
import { checkIdempotencyKey } from './validation.js';

// A second payOrder (another key) waits this long for an attempt in flight before answering.
const BUSY_WAIT_MS = 3_000;
const BUSY_POLL_MS = 50;
// An attempt still PENDING after this long lost its request (crash, provider timeout); the
// scheduler finishes it by asking the provider again with the same key.
const STALE_PAYMENT_SECONDS = 30;
const STALE_BATCH = 50;

/**
 * Payment, exactly once per order, in two steps so that a crash can never lose a charge:
 *   1. under the order's row lock: check owner, status, deadline; insert a PENDING attempt (the
 *      unique `active_order_id` admits one attempt in flight or succeeded per order);
 *   2. charge the provider with the attempt id as its idempotency key (outside any lock);
 *   3. record the outcome and move the order to PAID, both conditional, in one transaction.
 * A repeat with the same idempotency key finds the attempt of step 1 and returns its outcome
 * (re-asking the provider with the same key when it is still PENDING, which charges nothing new).
 */
export function createPaymentService(deps: {
  repository: OrderRepository;
  provider: PaymentProvider;
  views: OrderViews;
  logger: Logger;
  now?: () => Date;
}) {
  const { repository, provider, views, logger } = deps;
  const now = deps.now ?? (() => new Date());

  async function currentView(orderId: string): Promise<OrderView> {
    const row = await repository.findById(orderId);
    if (!row) throw errors.notFound('Order');
    return views.toView(row);
  }

  /** Step 3. Safe to run twice for one attempt: only the first changes anything. */
  async function finish(payment: PaymentRow, result: ChargeResult): Promise<PayOrderResult> {
    const at = now();
    await repository.transaction(async (tx) => {
      if (result.outcome === 'DECLINED') {
        await tx.finishPayment(payment.id, 'DECLINED', { declineReason: result.reason }, at);
        return;
      }
      if (!(await tx.finishPayment(payment.id, 'SUCCEEDED', { providerRef: result.providerRef }, at))) return;
      const moved = await tx.transition([payment.orderId], 'AWAITING_PAYMENT', 'PAID', at, { paidAt: at });
      if (moved.length === 0) {
        // Cannot happen while cancel and expiry wait for attempts in flight; if it ever does, the
        // money goes back at once rather than sitting on an order that will not ship.
        const order = await tx.findById(payment.orderId);
        logger.error('payment succeeded for an order that was no longer awaiting payment; refunding', {
          orderId: payment.orderId,
          status: order?.status,
        });
        await refundPayment(tx, { ...payment, status: 'SUCCEEDED', providerRef: result.providerRef }, 'CANCELLED');
      }
    });
    const stored = await repository.findPaymentById(payment.id);
    if (stored?.status === 'DECLINED') {
      return paymentDeclined(payment.orderId, payment.method, stored.declineReason ?? 'Declined');
    }
    return currentView(payment.orderId);
  }

  async function charge(payment: PaymentRow): Promise<PayOrderResult> {
    let result: ChargeResult;
    try {
      result = await provider.charge({
        orderId: payment.orderId,
        amount: payment.amount,
        method: payment.method,
        idempotencyKey: payment.id,
      });
    } catch (error) {
      // Outcome unknown: the attempt stays PENDING; a retry with the same key or the scheduler
      // asks the provider again with the same provider key, which never charges twice.
      logger.warn('payment provider failed', { orderId: payment.orderId, error });
      throw errors.upstream('The payment provider');
    }
    return finish(payment, result);
  }

  async function refundPayment(tx: OrderQueries, payment: PaymentRow, reason: 'CANCELLED' | 'RETURNED'): Promise<void> {
    const { providerRef } = await provider.refund({
      orderId: payment.orderId,
      paymentRef: payment.providerRef ?? payment.id,
      amount: payment.amount,
      // One refund per payment, so the payment id names it for the provider too.
      idempotencyKey: `refund:${payment.id}`,
    });
    await tx.insertRefund({
      id: randomUUID(),
      orderId: payment.orderId,
      paymentId: payment.id,
      amount: payment.amount,
      reason,
      providerRef,
      createdAt: now(),
    });
  }

  return {
    async payOrder(identity: Identity, orderId: string, method: PaymentMethod, idempotencyKey: string): Promise<PayOrderResult> {
      const fieldErrors = new FieldErrors();
      checkIdempotencyKey(fieldErrors, 'idempotencyKey', idempotencyKey);
      fieldErrors.throwIfAny();
      if (!isUuid(orderId)) throw errors.notFound('Order');
      const id = orderId.toLowerCase();

      type Claim =
        | { kind: 'refused'; result: ReturnType<typeof orderNotPayable> }
        | { kind: 'busy' }
        | { kind: 'attempt'; payment: PaymentRow };
      const claim = await repository.transaction(async (tx): Promise<Claim> => {
        const order: OrderRow | undefined = await tx.lockById(id);
        if (!order || order.userId !== identity.userId) throw errors.notFound('Order');
        const previous = await tx.findPaymentByKey(id, idempotencyKey);
        if (previous) {
          if (previous.method !== method) {
            throw errors.badInput([
              { field: 'idempotencyKey', message: 'This key was already used with another payment method; use a new key' },
            ]);
          }
          return { kind: 'attempt', payment: previous };
        }
        if (order.status !== 'AWAITING_PAYMENT') return { kind: 'refused', result: orderNotPayable(id, order.status) };
        const at = now();
        // Past the deadline the order is as good as expired; the scheduler releases its stock.
        if (order.paymentDueAt && order.paymentDueAt <= at) return { kind: 'refused', result: orderNotPayable(id, 'EXPIRED') };
        if (order.totalAmount === null) throw new Error(`order ${id} awaits payment without a total`);
        const payment: PaymentRow = {
          id: randomUUID(),
          orderId: id,
          userId: identity.userId,
          idempotencyKey,
          method,
          amount: order.totalAmount,
          status: 'PENDING',
          activeOrderId: id,
          declineReason: null,
          providerRef: null,
          createdAt: at,
          updatedAt: at,
        };
        const { activeOrderId: _generated, ...insert } = payment;
        return (await tx.insertPayment(insert)) ? { kind: 'attempt', payment } : { kind: 'busy' };
      });

      if (claim.kind === 'refused') return claim.result;
      if (claim.kind === 'busy') {
        // Another attempt (another key) is in flight: wait for it, then report where the order is.
        const deadline = Date.now() + BUSY_WAIT_MS;
        while (Date.now() < deadline && (await repository.findActivePayment(id))?.status === 'PENDING') await sleep(BUSY_POLL_MS);
        const order = await repository.findById(id);
        if (order && order.status !== 'AWAITING_PAYMENT') return orderNotPayable(id, order.status);
        throw errors.conflict('Another payment for this order is in progress; try again in a moment');
      }
      const { payment } = claim;
      if (payment.status === 'SUCCEEDED') return currentView(id);
      if (payment.status === 'DECLINED') {
        return paymentDeclined(id, payment.method, payment.declineReason ?? 'Declined');
      }
      return charge(payment);
    },

    /** Scheduler step: finishes attempts a crash or a provider failure left PENDING. */
    async resolveStalePayments(): Promise<number> {
      const stale = await repository.stalePendingPayments(new Date(now().getTime() - STALE_PAYMENT_SECONDS * 1000), STALE_BATCH);
      let resolved = 0;
      for (const payment of stale) {
        try {
          await charge(payment);
          resolved++;
        } catch (error) {
          logger.warn('stale payment still unresolved', { paymentId: payment.id, error });
          break;
        }
      }
      return resolved;
    },

    /** Refunds the order's successful payment, if it has one (cancel of a paid order, return). */
    async refundOrder(tx: OrderQueries, orderId: string, reason: 'CANCELLED' | 'RETURNED'): Promise<void> {
      const payment = (await tx.findSucceededPayments([orderId]))[0];
      if (payment) await refundPayment(tx, payment, reason);
    },
  };
}

export type PaymentService = ReturnType<typeof createPaymentService>;
