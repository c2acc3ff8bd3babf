import { timestampColumn } from '@bth/platform/db';
import { sql } from 'drizzle-orm';
import { bigint, char, index, int, mysqlEnum, mysqlTable, primaryKey, smallint, uniqueIndex, varchar } from 'drizzle-orm/mysql-core';
import { ORDER_STATUSES } from '../order-status.js';

export const PAYMENT_METHODS = ['CARD', 'VIRTUAL_ACCOUNT', 'TRANSFER', 'MOBILE'] as const;
export const RETURN_REASONS = ['JUST_CANCEL', 'UNLIKE', 'SIDE_EFFECT', 'MISS_ORDER', 'SHIPPING_DELAY'] as const;

/**
 * One row per order attempt. The insert of a PENDING row *is* the idempotency claim: the unique
 * key on (user_id, idempotency_claim) lets exactly one concurrent request with a key proceed.
 * `idempotency_claim` is the key while the order stands and NULL once it FAILED (inventory was
 * unreachable, nothing held), so a retry with the same key can try again; `idempotency_key`
 * keeps the key for the record. `request_hash` (SHA-256 of the normalised input) detects a key
 * reused for a different order. `shipping_enc` is AES-256-GCM ciphertext of the address and
 * phone. `status_changed_at` drives the scheduler (time in the current status).
 */
export const orders = mysqlTable(
  'orders',
  {
    id: char('id', { length: 36 }).primaryKey(),
    userId: char('user_id', { length: 36 }).notNull(),
    idempotencyKey: varchar('idempotency_key', { length: 100 }).notNull(),
    idempotencyClaim: varchar('idempotency_claim', { length: 100 }),
    requestHash: char('request_hash', { length: 64 }).notNull(),
    status: mysqlEnum('status', ORDER_STATUSES).notNull(),
    totalAmount: bigint('total_amount', { mode: 'number' }),
    shippingEnc: varchar('shipping_enc', { length: 1024 }).notNull(),
    // JSON of the typed refusal (InsufficientStock …), so an idempotent replay answers the same.
    rejection: varchar('rejection', { length: 500 }),
    paymentDueAt: timestampColumn('payment_due_at'),
    paidAt: timestampColumn('paid_at'),
    deliveredAt: timestampColumn('delivered_at'),
    returnReason: mysqlEnum('return_reason', RETURN_REASONS),
    returnRequestedAt: timestampColumn('return_requested_at'),
    statusChangedAt: timestampColumn('status_changed_at').notNull(),
    createdAt: timestampColumn('created_at').notNull(),
    updatedAt: timestampColumn('updated_at').notNull(),
  },
  (t) => [
    uniqueIndex('orders_user_idempotency_unique').on(t.userId, t.idempotencyClaim),
    index('orders_user_created_idx').on(t.userId, t.createdAt, t.id),
    index('orders_user_status_created_idx').on(t.userId, t.status, t.createdAt, t.id),
    index('orders_status_changed_idx').on(t.status, t.statusChangedAt),
    index('orders_status_due_idx').on(t.status, t.paymentDueAt),
  ],
);

/** Lines with the price snapshot taken at reservation (NULL until then, and for refused orders). */
export const orderLines = mysqlTable(
  'order_lines',
  {
    orderId: char('order_id', { length: 36 }).notNull(),
    productId: char('product_id', { length: 36 }).notNull(),
    position: smallint('position').notNull(),
    quantity: int('quantity').notNull(),
    unitPrice: bigint('unit_price', { mode: 'number' }),
    regularPrice: bigint('regular_price', { mode: 'number' }),
    saleEventId: varchar('sale_event_id', { length: 36 }),
  },
  (t) => [primaryKey({ columns: [t.orderId, t.productId] })],
);

/**
 * Every status change, in order: the order's history. Written only by the triggers on `orders`
 * (drizzle/0001), in the same statement as the insert or status change, so code never inserts here.
 */
export const orderEvents = mysqlTable(
  'order_events',
  {
    id: bigint('id', { mode: 'number', unsigned: true }).autoincrement().primaryKey(),
    orderId: char('order_id', { length: 36 }).notNull(),
    status: mysqlEnum('status', ORDER_STATUSES).notNull(),
    at: timestampColumn('at').notNull(),
  },
  (t) => [index('order_events_order_idx').on(t.orderId, t.id)],
);

/**
 * Payment attempts. `(order_id, idempotency_key)` is unique, so a retried payOrder finds its
 * earlier attempt. `active_order_id` is generated: the order id while the attempt is PENDING or
 * SUCCEEDED, NULL once DECLINED; its unique index makes a second in-flight or successful payment
 * for one order impossible in the database itself, whatever the code does.
 */
export const payments = mysqlTable(
  'payments',
  {
    id: char('id', { length: 36 }).primaryKey(),
    // VARCHAR, not CHAR: MariaDB refuses CHAR columns inside a stored generated column.
    orderId: varchar('order_id', { length: 36 }).notNull(),
    userId: char('user_id', { length: 36 }).notNull(),
    idempotencyKey: varchar('idempotency_key', { length: 100 }).notNull(),
    method: mysqlEnum('method', PAYMENT_METHODS).notNull(),
    amount: bigint('amount', { mode: 'number' }).notNull(),
    status: mysqlEnum('status', ['PENDING', 'SUCCEEDED', 'DECLINED']).notNull(),
    activeOrderId: varchar('active_order_id', { length: 36 }).generatedAlwaysAs(
      sql`(CASE WHEN status IN ('PENDING', 'SUCCEEDED') THEN order_id END)`,
      { mode: 'stored' },
    ),
    declineReason: varchar('decline_reason', { length: 200 }),
    providerRef: varchar('provider_ref', { length: 100 }),
    createdAt: timestampColumn('created_at').notNull(),
    updatedAt: timestampColumn('updated_at').notNull(),
  },
  (t) => [
    uniqueIndex('payments_order_key_unique').on(t.orderId, t.idempotencyKey),
    uniqueIndex('payments_active_order_unique').on(t.activeOrderId),
    index('payments_status_created_idx').on(t.status, t.createdAt),
  ],
);

/** Refunds: at most one per payment (orders are refunded whole, on cancel or return). */
export const refunds = mysqlTable('refunds', {
  id: char('id', { length: 36 }).primaryKey(),
  orderId: char('order_id', { length: 36 }).notNull(),
  paymentId: char('payment_id', { length: 36 }).notNull().unique(),
  amount: bigint('amount', { mode: 'number' }).notNull(),
  reason: mysqlEnum('reason', ['CANCELLED', 'RETURNED']).notNull(),
  providerRef: varchar('provider_ref', { length: 100 }).notNull(),
  createdAt: timestampColumn('created_at').notNull(),
});

export type OrderRow = typeof orders.$inferSelect;
export type OrderLineRow = typeof orderLines.$inferSelect;
export type OrderEventRow = typeof orderEvents.$inferSelect;
export type PaymentRow = typeof payments.$inferSelect;
export type RefundRow = typeof refunds.$inferSelect;
export type PaymentMethod = (typeof PAYMENT_METHODS)[number];
export type ReturnReason = (typeof RETURN_REASONS)[number];
