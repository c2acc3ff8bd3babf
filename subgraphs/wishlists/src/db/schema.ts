import { timestampColumn } from '@bth/platform/db';
import { sql } from 'drizzle-orm';
import { char, check, index, int, json, mysqlTable, primaryKey, varchar } from 'drizzle-orm/mysql-core';

/**
 * One row per member who ever had a wishlist. It holds no data of its own: every change to a
 * member's wishlist locks this row first (`FOR UPDATE`), which serialises that member's changes so
 * the per-wishlist limits hold under concurrent requests, while different members never wait on
 * each other. (Locking the item rows alone would not stop two concurrent inserts of new products.)
 */
export const wishlists = mysqlTable('wishlists', {
  userId: char('user_id', { length: 36 }).primaryKey(),
  createdAt: timestampColumn('created_at').notNull(),
});

/** One row per (member, product): adding the same product again changes the quantity. */
export const wishlistItems = mysqlTable(
  'wishlist_items',
  {
    userId: char('user_id', { length: 36 }).notNull(),
    productId: char('product_id', { length: 36 }).notNull(),
    quantity: int('quantity').notNull(),
    addedAt: timestampColumn('added_at').notNull(),
    updatedAt: timestampColumn('updated_at').notNull(),
  },
  (t) => [
    primaryKey({ name: 'wishlist_items_pk', columns: [t.userId, t.productId] }),
    index('wishlist_items_user_added_idx').on(t.userId, t.addedAt),
    // Last line of defence: the service enforces the range, the database refuses anything else.
    check('wishlist_items_quantity_range', sql`${t.quantity} BETWEEN 1 AND 100`),
  ],
);

/**
 * Each wishlist order that succeeded, keyed by the member's idempotency key. Written in the same
 * transaction that takes the ordered quantities out of the wishlist, so a retry with the same key
 * finds it and answers the first result without removing anything a second time.
 */
export const wishlistOrders = mysqlTable(
  'wishlist_orders',
  {
    userId: char('user_id', { length: 36 }).notNull(),
    // ascii_bin in the migration: keys are compared byte for byte, so `Key-1` and `key-1` are two keys.
    idempotencyKey: varchar('idempotency_key', { length: 100 }).notNull(),
    orderId: char('order_id', { length: 36 }).notNull(),
    /** The lines taken out of the wishlist, for support and audits (MariaDB returns JSON as text). */
    lines: json('order_lines').$type<Array<{ productId: string; quantity: number }>>().notNull(),
    createdAt: timestampColumn('created_at').notNull(),
  },
  (t) => [primaryKey({ name: 'wishlist_orders_pk', columns: [t.userId, t.idempotencyKey] })],
);

export type WishlistItemRow = typeof wishlistItems.$inferSelect;
export type WishlistOrderRow = typeof wishlistOrders.$inferSelect;
