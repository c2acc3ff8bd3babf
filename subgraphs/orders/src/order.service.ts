import { createHash, randomUUID } from 'node:crypto';
import DataLoader from 'dataloader';
import { FieldErrors, errors } from '@bth/platform/errors';
import type { Identity } from '@bth/platform/identity';
import { normalizeId } from '@bth/platform/ids';
import type { Logger } from '@bth/platform/logger';
import type { Metrics } from '@bth/platform/metrics';
import type { Admission } from './admission.js';
import { sleep } from './backoff.js';
import type { OrderLineRow, OrderRow, PaymentRow, RefundRow } from './db/schema.js';
import { InventoryUnavailableError, type InventoryClient, type ReserveOutcome } from './inventory.client.js';
import { placeOrderMetrics } from './order.metrics.js';
import {
  withMessage,
  type InventoryUnavailable,
  type OrderConnectionView,
  type OrderView,
  type PlaceOrderResult,
  type Rejection,
} from './order.view.js';
import type { OrderRepository } from './order.repository.js';
import type { OrderStatus } from './order-status.js';
import type { OrderViews } from './order.view.js';
import { MAX_ORDER_TOTAL, OrderTotalTooLargeError, priceOrder } from './pricing.js';
import type { SoldOutCheck } from './sold-out.js';
import { checkPageSize, checkPlaceOrder, decodeCursor, encodeCursor, type PlaceOrderInput } from './validation.js';

// A duplicate request waits this long for the first one to finish before answering "still
// placing, retry": a normal reservation takes milliseconds, a hot-row queue a second or two.
const DUPLICATE_WAIT_MS = 3_000;
const DUPLICATE_POLL_MS = 50;

export interface OrderServiceConfig {
  paymentTimeoutSeconds: number;
  /** Used to tell a client when to come back after the breaker opened. */
  breakerResetMs: number;
  /** The whole reserve (every attempt and failover) ends within this; the reconciler's age is derived from it. */
  inventoryTimeoutMs: number;
}

/** Placing orders (the reservation saga) and reading them. */
export function createOrderService(deps: {
  repository: OrderRepository;
  inventory: InventoryClient;
  views: OrderViews;
  logger: Logger;
  config: OrderServiceConfig;
  /** Bounds the orders placed at once (admission.ts); none: unbounded. */
  admission?: Admission;
  /** The sold-out fast path (sold-out.ts); none: every order asks inventory. */
  soldOut?: SoldOutCheck;
  metrics?: Metrics;
  now?: () => Date;
}) {
  const { repository, inventory, views, logger, config } = deps;
  const now = deps.now ?? (() => new Date());
  const placed = deps.metrics && placeOrderMetrics(deps.metrics);

  const unavailable = (retryAfterSeconds: number, message: string): InventoryUnavailable => ({
    __typename: 'InventoryUnavailable',
    message,
    retryable: true,
    retryAfterSeconds,
  });
  // One second: an admitted order takes a few hundred ms even under a crowd, so slots free up by then.
  const ADMISSION_FULL = () =>
    unavailable(1, 'Too many orders are being placed right now; nothing was placed or held. Retry shortly with the same idempotency key');
  const STILL_PLACING = () => unavailable(1, 'This order is still being placed; retry with the same idempotency key shortly');

  /** The answer a stored order gives to a replay of its request. */
  function answerFor(row: OrderRow): PlaceOrderResult {
    switch (row.status) {
      case 'PENDING':
        return STILL_PLACING();
      case 'FAILED':
        return unavailable(1, 'Stock could not be checked right now; nothing is held for this order. Retry with the same idempotency key');
      case 'REJECTED':
        return views.rejectionOf(row);
      default:
        return views.toView(row);
    }
  }

  /** Gives up on a PENDING order: it must end holding nothing, or stay PENDING for the reconciler. */
  async function abandon(
    order: OrderRow,
    failure: InventoryUnavailableError,
    callerDeadline: number | null = null,
  ): Promise<PlaceOrderResult> {
    const retryAfter = failure.reason === 'BREAKER_OPEN' ? Math.ceil(config.breakerResetMs / 1000) : (failure.retryAfterSeconds ?? 1);
    const answer =
      failure.reason === 'OVERLOADED'
        ? unavailable(
            retryAfter,
            'Too many orders for this product are waiting; nothing is held for this attempt. Retry shortly with the same idempotency key',
          )
        : unavailable(
            retryAfter,
            'Stock cannot be checked right now; nothing stays held for this attempt. Retry shortly with the same idempotency key',
          );
    if (failure.mayHaveTakenEffect) {
      // The reserve may have landed (or may still land): release tombstones the order id in
      // inventory, so whatever arrives gives back or takes nothing.
      try {
        // Within the caller's deadline when there is one: past it nobody waits for this answer,
        // and the reconciler releases the order one inventory deadline after it began.
        await inventory.release(order.id, { deadline: callerDeadline ?? Date.now() + config.inventoryTimeoutMs });
      } catch (error) {
        logger.warn('release after a failed reservation did not go through; the reconciler will retry', { orderId: order.id, error });
        return answer;
      }
    }
    await markFailed(order.id);
    return answer;
  }

  async function markFailed(orderId: string): Promise<void> {
    // The claim is dropped with the failure, so a retry with the same key places a fresh order.
    // One order, one statement (its history row comes from a trigger): no transaction needed.
    await repository.transition([orderId], 'PENDING', 'FAILED', now(), { idempotencyClaim: null });
  }

  async function settle(order: OrderRow, input: PlaceOrderInput, outcome: ReserveOutcome): Promise<PlaceOrderResult> {
    if (outcome.outcome === 'RELEASED' || outcome.outcome === 'RESTOCKED') {
      // The reconciler released this order before our reserve arrived: nothing is held.
      await markFailed(order.id);
      return answerFor((await repository.findById(order.id)) ?? order);
    }
    if (outcome.outcome !== 'RESERVED') {
      deps.soldOut?.note(outcome);
      const rejection = toRejection(outcome, input);
      const moved = await repository.transition([order.id], 'PENDING', 'REJECTED', now(), { rejection: JSON.stringify(rejection) });
      return moved.length === 1 ? rejection : answerFor((await repository.findById(order.id)) ?? order);
    }
    let priced: ReturnType<typeof priceOrder>;
    try {
      priced = priceOrder(input.lines, outcome.lines);
    } catch (error) {
      if (error instanceof OrderTotalTooLargeError) {
        // Give the stock back first (or leave it to the reconciler), then tell the buyer.
        await abandon(order, new InventoryUnavailableError('BAD_RESPONSE', true));
        throw errors.badInput([{ field: 'lines', message: `The total may be at most ${MAX_ORDER_TOTAL} KRW; split the order` }]);
      }
      logger.error('reservation does not match the order; releasing it', { orderId: order.id, error });
      return abandon(order, new InventoryUnavailableError('BAD_RESPONSE', true));
    }
    const at = now();
    const paymentDueAt = new Date(at.getTime() + config.paymentTimeoutSeconds * 1000);
    const fields = { totalAmount: priced.total, paymentDueAt };
    if (await repository.confirmReserved(order.id, at, fields, priced.lines)) {
      // The row is exactly what was just written; reading it back would cost a round trip.
      return answerFor({ ...order, ...fields, status: 'AWAITING_PAYMENT', statusChangedAt: at, updatedAt: at });
    }
    // Not confirmed: the reconciler took the order over (and releases its stock); say so.
    logger.warn('reservation arrived after the order was given up', { orderId: order.id });
    return answerFor((await repository.findById(order.id)) ?? order);
  }

  async function claim(userId: string, input: PlaceOrderInput, requestHash: string): Promise<{ created: boolean; order: OrderRow }> {
    // A few rounds: between our failed insert and the lookup, the first attempt may have FAILED
    // and freed the key, and then the insert can simply be tried again.
    for (let round = 0; round < 3; round++) {
      const at = now();
      const order: OrderRow = {
        id: randomUUID(),
        userId,
        idempotencyKey: input.idempotencyKey,
        idempotencyClaim: input.idempotencyKey,
        requestHash,
        status: 'PENDING',
        totalAmount: null,
        shippingEnc: views.encryptShipping(input.shipping),
        rejection: null,
        paymentDueAt: null,
        paidAt: null,
        deliveredAt: null,
        returnReason: null,
        returnRequestedAt: null,
        statusChangedAt: at,
        createdAt: at,
        updatedAt: at,
      };
      const lines = input.lines.map((line, position) => ({
        orderId: order.id,
        productId: line.productId,
        quantity: line.quantity,
        position,
      }));
      if (await repository.insertPending(order, lines)) return { created: true, order };
      const existing = await repository.findByClaim(userId, input.idempotencyKey);
      if (existing) {
        if (existing.requestHash !== requestHash) {
          throw errors.badInput([{ field: 'idempotencyKey', message: 'This key was already used for a different order; use a new key' }]);
        }
        return { created: false, order: existing };
      }
    }
    throw errors.conflict('This order is being placed by another request; retry with the same key');
  }

  /**
   * The stored answer when this key already placed an order (a replay is never refused by the
   * fast paths below); undefined when the key is unused.
   */
  async function replayOf(userId: string, input: PlaceOrderInput, requestHash: string): Promise<PlaceOrderResult | undefined> {
    const existing = await repository.findByClaim(userId, input.idempotencyKey);
    if (!existing) return undefined;
    if (existing.requestHash !== requestHash) {
      throw errors.badInput([{ field: 'idempotencyKey', message: 'This key was already used for a different order; use a new key' }]);
    }
    return answerFor(existing);
  }

  async function waitWhilePending(order: OrderRow): Promise<OrderRow> {
    const deadline = Date.now() + DUPLICATE_WAIT_MS;
    let current = order;
    while (current.status === 'PENDING' && Date.now() < deadline) {
      await sleep(DUPLICATE_POLL_MS);
      current = (await repository.findById(order.id)) ?? current;
    }
    return current;
  }

  async function findVisibleOrder(identity: Identity, id: string, loader: DataLoader<string, OrderRow | null>): Promise<OrderView | null> {
    const key = normalizeId(id);
    const row = key ? await loader.load(key) : null;
    if (!row || (row.userId !== identity.userId && identity.role !== 'ADMIN')) return null;
    return views.toView(row);
  }

  function toConnection(rows: OrderRow[], limit: number, totalCount: number): OrderConnectionView {
    const page = rows.slice(0, limit);
    const edges = page.map((row) => ({ cursor: encodeCursor(row), node: views.toView(row) }));
    return { edges, pageInfo: { hasNextPage: rows.length > limit, endCursor: edges.at(-1)?.cursor ?? null }, totalCount };
  }

  /**
   * The reservation saga. The PENDING insert is the idempotency claim; only the request that
   * inserted it ever calls reserve. Duplicates wait for its outcome and return the same answer.
   */
  async function place(userId: string, raw: PlaceOrderInput, callerDeadline: number | null = null): Promise<PlaceOrderResult> {
    const { errors: fieldErrors, input } = checkPlaceOrder(raw);
    fieldErrors.throwIfAny();
    const requestHash = hashRequest(input);
    // Sold out (a refusal that is not stored: a retry is decided afresh), or too many orders
    // being placed: answered before anything is written, unless this key already placed one.
    const soldOut = await deps.soldOut?.refusal(input.lines);
    if (soldOut) return (await replayOf(userId, input, requestHash)) ?? soldOut;
    const ticket = deps.admission?.tryEnter(input.lines.map((line) => line.productId));
    if (ticket === null) return (await replayOf(userId, input, requestHash)) ?? ADMISSION_FULL();
    try {
      const claimed = await claim(userId, input, requestHash);
      if (!claimed.created) return answerFor(await waitWhilePending(claimed.order));
      const { order } = claimed;
      let outcome: ReserveOutcome;
      try {
        // One inventory deadline for the whole reserve, or less when the caller gives up sooner.
        const deadline = Math.min(Date.now() + config.inventoryTimeoutMs, callerDeadline ?? Infinity);
        outcome = await inventory.reserve({ orderId: order.id, userId, lines: input.lines }, deadline);
      } catch (error) {
        if (error instanceof InventoryUnavailableError) return abandon(order, error, callerDeadline);
        // Inventory refused the request itself (4xx): nothing was reserved; this is our bug.
        await markFailed(order.id);
        throw error;
      }
      return await settle(order, input, outcome);
    } finally {
      ticket?.();
    }
  }

  return {
    /** `place`, counted by outcome and timed when the service has metrics. */
    async placeOrder(userId: string, raw: PlaceOrderInput, callerDeadline: number | null = null): Promise<PlaceOrderResult> {
      if (!placed) return place(userId, raw, callerDeadline);
      const started = performance.now();
      let outcome = 'error';
      try {
        const result = await place(userId, raw, callerDeadline);
        outcome = result.__typename;
        return result;
      } finally {
        placed.observe(outcome, (performance.now() - started) / 1000);
      }
    },

    /** The owner's order (admins may read any); null for anyone else, exactly as for no order. */
    findVisibleOrder,

    /** Like `findVisibleOrder`, but NOT_FOUND instead of null: nobody learns that someone else's order exists. */
    async getOrder(identity: Identity, id: string, loader: DataLoader<string, OrderRow | null>): Promise<OrderView> {
      const order = await findVisibleOrder(identity, id, loader);
      if (!order) throw errors.notFound('Order');
      return order;
    },

    async listOrders(
      userId: string,
      args: { first?: number | null; after?: string | null; status?: OrderStatus | null },
    ): Promise<OrderConnectionView> {
      const first = args.first ?? 20;
      const fieldErrors = new FieldErrors();
      checkPageSize(fieldErrors, 'first', first);
      const after = args.after ? decodeCursor(args.after) : undefined;
      fieldErrors.check(after !== null, 'after', 'Not a cursor from this list');
      fieldErrors.throwIfAny();
      const status = args.status ?? undefined;
      const [rows, totalCount] = await Promise.all([
        repository.listByUser(userId, { status, after: after ?? undefined, limit: first + 1 }),
        repository.countByUser(userId, status),
      ]);
      return toConnection(rows, first, totalCount);
    },

    /** A member's orders as a field of `User`: only the member sees them; for anyone else (admins included) null. */
    ordersOf(
      identity: Identity | null,
      userId: string,
      args: { first?: number | null; after?: string | null },
    ): Promise<OrderConnectionView> | null {
      return identity?.userId === userId ? this.listOrders(userId, args) : null;
    },

    /** Per-request loaders: every Order in one response shares one query per kind. */
    createLoaders() {
      const group = <T extends { orderId: string }>(rows: T[], ids: readonly string[]) => {
        const byOrder = new Map<string, T[]>(ids.map((id) => [id, []]));
        for (const row of rows) byOrder.get(row.orderId)?.push(row);
        return ids.map((id) => byOrder.get(id) ?? []);
      };
      return {
        order: new DataLoader<string, OrderRow | null>(async (ids) => {
          const rows = await repository.findByIds(ids);
          const byId = new Map(rows.map((row) => [row.id, row]));
          return ids.map((id) => byId.get(id) ?? null);
        }),
        lines: new DataLoader<string, OrderLineRow[]>(async (ids) => group(await repository.findLines(ids), ids)),
        events: new DataLoader<string, { status: OrderStatus; at: Date }[]>(async (ids) => group(await repository.findEvents(ids), ids)),
        payment: new DataLoader<string, PaymentRow | null>(async (ids) => {
          const rows = await repository.findSucceededPayments(ids);
          return ids.map((id) => rows.find((row) => row.orderId === id) ?? null);
        }),
        refund: new DataLoader<string, RefundRow | null>(async (ids) => {
          const rows = await repository.findRefunds(ids);
          return ids.map((id) => rows.find((row) => row.orderId === id) ?? null);
        }),
      };
    },

    /** The stored lines of an order, for the internal API (which has no GraphQL resolvers). */
    findLines: (orderId: string) => repository.findLines([orderId]),
  };
}

export type OrderService = ReturnType<typeof createOrderService>;
export type OrderLoaders = ReturnType<OrderService['createLoaders']>;

/** Same order, same hash: lines in any order, the normalised shipping address. */
export function hashRequest(input: PlaceOrderInput): string {
  const lines = [...input.lines]
    .sort((a, b) => a.productId.localeCompare(b.productId))
    .map((l) => (l.saleEventId ? [l.productId, l.quantity, l.saleEventId] : [l.productId, l.quantity]));
  const { postalCode, address, phone } = input.shipping;
  return createHash('sha256')
    .update(JSON.stringify({ lines, shipping: [postalCode, address, phone] }))
    .digest('hex');
}

function toRejection(
  outcome: Exclude<ReserveOutcome, { outcome: 'RESERVED' | 'RELEASED' | 'RESTOCKED' }>,
  input: PlaceOrderInput,
): Rejection {
  // Inventory may spell the id in another case; answer with the id the client sent.
  const productId = input.lines.find((l) => l.productId === outcome.productId.toLowerCase())?.productId ?? outcome.productId;
  switch (outcome.outcome) {
    case 'INSUFFICIENT_STOCK':
      return withMessage({ __typename: 'InsufficientStock', productId, requested: outcome.requested, available: outcome.available });
    case 'PRODUCT_NOT_FOUND':
      return withMessage({ __typename: 'ProductNotFound', productId });
    case 'SALE_NOT_LIVE':
      return withMessage({ __typename: 'SaleNotLive', productId, saleEventId: outcome.saleEventId });
    case 'SALE_SOLD_OUT':
      return withMessage({
        __typename: 'SaleSoldOut',
        productId,
        saleEventId: outcome.saleEventId,
        requested: outcome.requested,
        remaining: outcome.remaining,
      });
    case 'PURCHASE_LIMIT_EXCEEDED':
      return withMessage({
        __typename: 'PurchaseLimitExceeded',
        productId,
        saleEventId: outcome.saleEventId,
        limit: outcome.limit,
        alreadyPurchased: outcome.alreadyPurchased,
      });
  }
}
