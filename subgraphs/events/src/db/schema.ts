import { timestampColumn } from '@bth/platform/db';
import { char, index, int, mysqlEnum, mysqlTable, varchar } from 'drizzle-orm/mysql-core';

/**
 * Kept in sync by hand with `drizzle/0000_init.sql` (the migration is the source of truth). The
 * outbox and inbox tables are platform's (`outbox`, `inbox`, `messagingMigrations`).
 */
export const SALE_EVENT_STATUSES = ['SCHEDULED', 'LIVE', 'ENDED', 'CANCELLED'] as const;
export type SaleEventStatus = (typeof SALE_EVENT_STATUSES)[number];

export const saleEvents = mysqlTable(
  'sale_events',
  {
    id: char('id', { length: 36 }).primaryKey(),
    name: varchar('name', { length: 100 }).notNull(),
    productId: char('product_id', { length: 36 }).notNull(),
    /** KRW, whole won. */
    salePrice: int('sale_price').notNull(),
    quantity: int('quantity').notNull(),
    perUserLimit: int('per_user_limit').notNull(),
    startsAt: timestampColumn('starts_at').notNull(),
    endsAt: timestampColumn('ends_at').notNull(),
    status: mysqlEnum('status', SALE_EVENT_STATUSES).notNull(),
    openedAt: timestampColumn('opened_at'),
    closedAt: timestampColumn('closed_at'),
    soldOutAt: timestampColumn('sold_out_at'),
    createdAt: timestampColumn('created_at').notNull(),
    updatedAt: timestampColumn('updated_at').notNull(),
  },
  (t) => [
    index('sale_events_status_starts_idx').on(t.status, t.startsAt),
    index('sale_events_status_ends_idx').on(t.status, t.endsAt),
    index('sale_events_product_idx').on(t.productId, t.status),
    index('sale_events_listing_idx').on(t.startsAt, t.id),
  ],
);

/** Per-product lock rows that serialise the overlap check (see the migration). */
export const saleEventProductLocks = mysqlTable('sale_event_product_locks', {
  productId: char('product_id', { length: 36 }).primaryKey(),
});

export type SaleEventRow = typeof saleEvents.$inferSelect;
export type NewSaleEventRow = typeof saleEvents.$inferInsert;
