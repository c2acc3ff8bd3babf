import { and, asc, count, desc, eq, inArray, lt, lte, or, sql, type SQL } from 'drizzle-orm';
import { insertUnlessDuplicate, runTransaction, type Database } from '@bth/platform/db';
import {
  orderEvents,
  orderLines,
  orders,
  payments,
  refunds,
  type OrderLineRow,
  type OrderRow,
  type PaymentRow,
  type RefundRow,
} from './db/schema.js';
import { canTransition, type OrderStatus } from './order-status.js';
import type { ReservedLinePrice } from './pricing.js';

type Transaction = Parameters<Parameters<Database['transaction']>[0]>[0];
type Executor = Database | Transaction;

/** Columns a status change may set besides the status itself. */
export type TransitionFields = Partial<
  Pick<
    OrderRow,
    'idempotencyClaim' | 'totalAmount' | 'rejection' | 'paymentDueAt' | 'paidAt' | 'deliveredAt' | 'returnReason' | 'returnRequestedAt'
  >
>;

/** Which clock a scheduled transition reads: time in the current status, or the payment deadline. */
export type DueClock = 'statusChangedAt' | 'paymentDueAt';

function queries(db: Executor) {
  const self = {
    async findById(id: string): Promise<OrderRow | undefined> {
      const [row] = await db.select().from(orders).where(eq(orders.id, id)).limit(1);
      return row;
    },

    async findByIds(ids: readonly string[]): Promise<OrderRow[]> {
      if (ids.length === 0) return [];
      return db
        .select()
        .from(orders)
        .where(inArray(orders.id, [...ids]));
    },

    /** The standing order holding an idempotency key (FAILED orders hold none). */
    async findByClaim(userId: string, key: string): Promise<OrderRow | undefined> {
      const [row] = await db
        .select()
        .from(orders)
        .where(and(eq(orders.userId, userId), eq(orders.idempotencyClaim, key)))
        .limit(1);
      return row;
    },

    /** Locks the order row until the transaction ends; payments, cancels and jobs serialise on it. */
    async lockById(id: string): Promise<OrderRow | undefined> {
      const [row] = await db.select().from(orders).where(eq(orders.id, id)).limit(1).for('update');
      return row;
    },

    /**
     * Locks the order if it is still in `status` and due. By default it skips an order another
     * transaction holds: several schedulers can run at once and each due order is handled by
     * exactly one. `wait: true` waits for the holder instead and then judges the committed row —
     * for a request that must answer with the outcome, not with "someone else is on it".
     */
    async lockIfDue(id: string, status: OrderStatus, clock: DueClock, before: Date, { wait = false } = {}): Promise<OrderRow | undefined> {
      const due = db
        .select()
        .from(orders)
        .where(and(eq(orders.id, id), eq(orders.status, status), lte(orders[clock], before)))
        .limit(1);
      const [row] = await (wait ? due.for('update') : due.for('update', { skipLocked: true }));
      return row;
    },

    /** Locks up to `limit` due orders (skipping rows other instances hold) and returns their ids. */
    async lockDueBatch(status: OrderStatus, clock: DueClock, before: Date, limit: number): Promise<string[]> {
      const rows = await db
        .select({ id: orders.id })
        .from(orders)
        .where(and(eq(orders.status, status), lte(orders[clock], before)))
        .orderBy(asc(orders[clock]))
        .limit(limit)
        .for('update', { skipLocked: true });
      return rows.map((r) => r.id);
    },

    /** Ids of due orders, without locking (the caller then claims each with `lockIfDue`). */
    async dueIds(status: OrderStatus, clock: DueClock, before: Date, limit: number): Promise<string[]> {
      const rows = await db
        .select({ id: orders.id })
        .from(orders)
        .where(and(eq(orders.status, status), lte(orders[clock], before)))
        .orderBy(asc(orders[clock]))
        .limit(limit);
      return rows.map((r) => r.id);
    },

    /**
     * Moves orders from `from` to `to` only if they are still in `from` (a conditional UPDATE: of
     * two instances racing, exactly one sees the row change). Returns the ids that changed. The
     * history row of each change is written by a trigger in the same statement, so for one order
     * this is atomic on its own; with several, call inside a transaction so the read-back below
     * sees the same rows the update moved.
     */
    async transition(
      ids: readonly string[],
      from: OrderStatus,
      to: OrderStatus,
      at: Date,
      fields: TransitionFields = {},
    ): Promise<string[]> {
      if (!canTransition(from, to)) throw new Error(`illegal order transition ${from} → ${to}`);
      if (ids.length === 0) return [];
      const [result] = await db
        .update(orders)
        .set({ ...fields, status: to, statusChangedAt: at, updatedAt: at })
        .where(and(inArray(orders.id, [...ids]), eq(orders.status, from)));
      if (result.affectedRows === 0) return [];
      // With several ids, read back which ones moved (the rest changed status meanwhile).
      if (result.affectedRows === ids.length) return [...ids];
      return (
        await db
          .select({ id: orders.id })
          .from(orders)
          .where(and(inArray(orders.id, [...ids]), eq(orders.status, to)))
      ).map((r) => r.id);
    },

    /**
     * PENDING → AWAITING_PAYMENT with the reserved prices on every line, in one statement (a
     * multi-table UPDATE is atomic without a transaction, and the trigger writes the history row).
     * False when the order is no longer PENDING: the reconciler took it over, nothing changed.
     */
    async confirmReserved(
      orderId: string,
      at: Date,
      fields: { totalAmount: number; paymentDueAt: Date },
      lines: readonly ReservedLinePrice[],
    ): Promise<boolean> {
      if (!canTransition('PENDING', 'AWAITING_PAYMENT')) throw new Error('illegal order transition PENDING → AWAITING_PAYMENT');
      if (lines.length === 0) throw new Error(`order ${orderId} has no lines to price`);
      const perLine = (value: (line: ReservedLinePrice) => string | number | null) =>
        sql.join(
          [sql`CASE order_lines.product_id`, ...lines.map((line) => sql`WHEN ${line.productId} THEN ${value(line)}`), sql`END`],
          sql` `,
        );
      const [result] = await db.execute(sql`
        UPDATE orders JOIN order_lines ON order_lines.order_id = orders.id
        SET orders.status = 'AWAITING_PAYMENT',
            orders.total_amount = ${fields.totalAmount},
            orders.payment_due_at = ${sql.param(fields.paymentDueAt, orders.paymentDueAt)},
            orders.status_changed_at = ${sql.param(at, orders.statusChangedAt)},
            orders.updated_at = ${sql.param(at, orders.updatedAt)},
            order_lines.unit_price = ${perLine((line) => line.unitPrice)},
            order_lines.regular_price = ${perLine((line) => line.regularPrice)},
            order_lines.sale_event_id = ${perLine((line) => line.saleEventId)}
        WHERE orders.id = ${orderId} AND orders.status = 'PENDING'`);
      return (result as unknown as { affectedRows: number }).affectedRows > 0;
    },

    async findLines(orderIds: readonly string[]): Promise<OrderLineRow[]> {
      if (orderIds.length === 0) return [];
      return db
        .select()
        .from(orderLines)
        .where(inArray(orderLines.orderId, [...orderIds]))
        .orderBy(asc(orderLines.orderId), asc(orderLines.position));
    },

    async findEvents(orderIds: readonly string[]) {
      if (orderIds.length === 0) return [];
      return db
        .select()
        .from(orderEvents)
        .where(inArray(orderEvents.orderId, [...orderIds]))
        .orderBy(asc(orderEvents.orderId), asc(orderEvents.id));
    },

    /** Newest first, `createdAt` then id descending; `after` continues below a cursor. */
    async listByUser(
      userId: string,
      options: { status?: OrderStatus; after?: { createdAt: Date; id: string }; limit: number },
    ): Promise<OrderRow[]> {
      const conditions: SQL[] = [eq(orders.userId, userId)];
      if (options.status) conditions.push(eq(orders.status, options.status));
      if (options.after) {
        const { createdAt, id } = options.after;
        conditions.push(or(lt(orders.createdAt, createdAt), and(eq(orders.createdAt, createdAt), lt(orders.id, id)))!);
      }
      return db
        .select()
        .from(orders)
        .where(and(...conditions))
        .orderBy(desc(orders.createdAt), desc(orders.id))
        .limit(options.limit);
    },

    async countByUser(userId: string, status?: OrderStatus): Promise<number> {
      const [row] = await db
        .select({ n: count() })
        .from(orders)
        .where(status ? and(eq(orders.userId, userId), eq(orders.status, status)) : eq(orders.userId, userId));
      return row?.n ?? 0;
    },

    // Payments ---------------------------------------------------------------------------------

    async findPaymentByKey(orderId: string, idempotencyKey: string): Promise<PaymentRow | undefined> {
      const [row] = await db
        .select()
        .from(payments)
        .where(and(eq(payments.orderId, orderId), eq(payments.idempotencyKey, idempotencyKey)))
        .limit(1);
      return row;
    },

    /** The attempt that is in flight or succeeded for the order, if any (at most one exists). */
    async findActivePayment(orderId: string): Promise<PaymentRow | undefined> {
      const [row] = await db.select().from(payments).where(eq(payments.activeOrderId, orderId)).limit(1);
      return row;
    },

    async findSucceededPayments(orderIds: readonly string[]): Promise<PaymentRow[]> {
      if (orderIds.length === 0) return [];
      return db
        .select()
        .from(payments)
        .where(and(inArray(payments.orderId, [...orderIds]), eq(payments.status, 'SUCCEEDED')));
    },

    /** Inserts a PENDING attempt; false when the order already has one in flight or succeeded. */
    insertPayment(row: typeof payments.$inferInsert): Promise<boolean> {
      return insertUnlessDuplicate(() => db.insert(payments).values(row));
    },

    /** PENDING → SUCCEEDED/DECLINED, once (conditional on PENDING). */
    async finishPayment(
      id: string,
      status: 'SUCCEEDED' | 'DECLINED',
      fields: { providerRef?: string; declineReason?: string },
      at: Date,
    ): Promise<boolean> {
      const [result] = await db
        .update(payments)
        .set({ status, providerRef: fields.providerRef ?? null, declineReason: fields.declineReason ?? null, updatedAt: at })
        .where(and(eq(payments.id, id), eq(payments.status, 'PENDING')));
      return result.affectedRows === 1;
    },

    async findPaymentById(id: string): Promise<PaymentRow | undefined> {
      const [row] = await db.select().from(payments).where(eq(payments.id, id)).limit(1);
      return row;
    },

    /** Attempts left PENDING by a crash or a provider failure, oldest first. */
    async stalePendingPayments(before: Date, limit: number): Promise<PaymentRow[]> {
      return db
        .select()
        .from(payments)
        .where(and(eq(payments.status, 'PENDING'), lte(payments.createdAt, before)))
        .orderBy(asc(payments.createdAt))
        .limit(limit);
    },

    // Refunds ----------------------------------------------------------------------------------

    /** Records the refund of a payment; a repeat (same payment) changes nothing. */
    async insertRefund(row: typeof refunds.$inferInsert): Promise<void> {
      await insertUnlessDuplicate(() => db.insert(refunds).values(row));
    },

    async findRefunds(orderIds: readonly string[]): Promise<RefundRow[]> {
      if (orderIds.length === 0) return [];
      return db
        .select()
        .from(refunds)
        .where(inArray(refunds.orderId, [...orderIds]));
    },
  };
  return self;
}

export type OrderQueries = ReturnType<typeof queries>;

/** The only place in `orders` that speaks SQL. Returns plain rows; decryption happens in services. */
export function createOrderRepository(db: Database) {
  return {
    ...queries(db),

    /**
     * Runs `work` in one transaction with the same query set bound to it. A row lock that cannot
     * be had within the session's lock wait bound becomes the coded, retryable LOCK_TIMEOUT.
     */
    transaction<T>(work: (tx: OrderQueries) => Promise<T>): Promise<T> {
      return runTransaction(db, (tx) => work(queries(tx)));
    },

    /**
     * Inserts a PENDING order with its lines (the trigger adds the first history row). Returns
     * false when the user already has a standing order with this idempotency key (the unique key
     * decides, so of any number of concurrent duplicates exactly one inserts).
     *
     * Two single-statement writes instead of a transaction of four (begin, order, lines, commit):
     * the lines go first under the fresh order id, then the order row, which is the claim. Lines
     * without an order are never read (every read starts from an order), so a crash between the
     * two leaves nothing anyone sees, and an order row never exists without its lines.
     */
    async insertPending(order: typeof orders.$inferInsert, lines: (typeof orderLines.$inferInsert)[]): Promise<boolean> {
      await db.insert(orderLines).values(lines);
      // Only a lost claim (or a failed write) pays for the clean-up; left over, they would be invisible anyway.
      const dropLines = () =>
        db
          .delete(orderLines)
          .where(eq(orderLines.orderId, order.id))
          .catch(() => undefined);
      try {
        const claimed = await insertUnlessDuplicate(() => db.insert(orders).values(order));
        if (!claimed) await dropLines();
        return claimed;
      } catch (error) {
        await dropLines();
        throw error;
      }
    },
  };
}

export type OrderRepository = ReturnType<typeof createOrderRepository>;
