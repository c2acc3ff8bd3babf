import { timestampColumn } from '@bth/platform/db';
import { sql } from 'drizzle-orm';
import {
  bigint,
  char,
  index,
  int,
  mysqlEnum,
  mysqlTable,
  primaryKey,
  smallint,
  tinyint,
  uniqueIndex,
  varchar,
} from 'drizzle-orm/mysql-core';

/** Kept in sync by hand with `drizzle/0000_init.sql` (the migration is the source of truth). */
export const PRODUCT_FUNCTIONS = [
  'ACTIVE_BOWEL',
  'INTESTINE_HEALTH',
  'LIVER_HEALTH',
  'EYE_HEALTH',
  'BLOOD_CIRCULATION',
  'JOINT_HEALTH',
  'IMPROVE_MEMORY',
  'IMPROVE_FATIGUE',
  'SKIN_HEALTH',
  'BONE_HEALTH',
] as const;
export const PRODUCT_TYPES = ['CAPSULE', 'POWDER', 'DRINK', 'SPRAY', 'PILL'] as const;
export const LEDGER_KINDS = ['INITIAL', 'ADJUSTMENT', 'RESERVATION', 'RELEASE', 'RESTOCK'] as const;
export const RESERVATION_STATUSES = ['RESERVED', 'RELEASED', 'RESTOCKED'] as const;
export const SALE_STATUSES = ['SCHEDULED', 'LIVE', 'ENDED', 'CANCELLED'] as const;

export type ProductFunction = (typeof PRODUCT_FUNCTIONS)[number];
export type ProductType = (typeof PRODUCT_TYPES)[number];
export type LedgerKind = (typeof LEDGER_KINDS)[number];
export type ReservationStatus = (typeof RESERVATION_STATUSES)[number];
export type SaleStatus = (typeof SALE_STATUSES)[number];

export const products = mysqlTable(
  'products',
  {
    id: char('id', { length: 36 }).primaryKey(),
    name: varchar('name', { length: 50 }).notNull(),
    producer: varchar('producer', { length: 30 }).notNull(),
    /** KRW, whole won. */
    price: int('price').notNull(),
    function: mysqlEnum('function', PRODUCT_FUNCTIONS).notNull(),
    type: mysqlEnum('type', PRODUCT_TYPES).notNull(),
    nutritionFacts: varchar('nutrition_facts', { length: 250 }),
    stock: int('stock').notNull(),
    /** End of the product's last open sale (see drizzle/0002_sale_windows.sql); maintained by the sale consumer. */
    salesUntil: timestampColumn('sales_until'),
    /** 1 once a sold-out marker may exist in Redis (see drizzle/0003_sold_out_marker.sql). */
    soldOutMarked: tinyint('sold_out_marked').notNull().default(0),
    createdAt: timestampColumn('created_at').notNull(),
    updatedAt: timestampColumn('updated_at').notNull(),
    deletedAt: timestampColumn('deleted_at'),
    /** 1 while live, NULL once deleted: the unique key below then ignores deleted rows. */
    live: tinyint('live').generatedAlwaysAs(sql`IF(deleted_at IS NULL, 1, NULL)`, { mode: 'stored' }),
  },
  (t) => [
    uniqueIndex('products_name_producer_live').on(t.name, t.producer, t.live),
    index('products_newest_idx').on(t.createdAt, t.id),
    index('products_price_idx').on(t.price, t.id),
    index('products_name_idx').on(t.name, t.id),
  ],
);

export const stockLedger = mysqlTable(
  'stock_ledger',
  {
    id: bigint('id', { mode: 'number' }).autoincrement().primaryKey(),
    productId: char('product_id', { length: 36 }).notNull(),
    orderId: char('order_id', { length: 36 }),
    kind: mysqlEnum('kind', LEDGER_KINDS).notNull(),
    quantityDelta: int('quantity_delta').notNull(),
    reason: varchar('reason', { length: 200 }),
    createdAt: timestampColumn('created_at').notNull(),
  },
  (t) => [
    uniqueIndex('stock_ledger_order_product_kind').on(t.orderId, t.productId, t.kind),
    index('stock_ledger_product_idx').on(t.productId),
  ],
);

export const reservations = mysqlTable(
  'reservations',
  {
    orderId: char('order_id', { length: 36 }).primaryKey(),
    userId: char('user_id', { length: 36 }),
    status: mysqlEnum('status', RESERVATION_STATUSES).notNull(),
    createdAt: timestampColumn('created_at').notNull(),
    updatedAt: timestampColumn('updated_at').notNull(),
  },
  (t) => [index('reservations_user_idx').on(t.userId)],
);

export const reservationLines = mysqlTable(
  'reservation_lines',
  {
    orderId: char('order_id', { length: 36 }).notNull(),
    productId: char('product_id', { length: 36 }).notNull(),
    lineNo: smallint('line_no').notNull(),
    quantity: int('quantity').notNull(),
    unitPrice: int('unit_price').notNull(),
    regularPrice: int('regular_price').notNull(),
    saleEventId: char('sale_event_id', { length: 36 }),
  },
  (t) => [primaryKey({ columns: [t.orderId, t.productId] }), index('reservation_lines_product_idx').on(t.productId)],
);

/** See `drizzle/0001_sales.sql` and `drizzle/0002_sale_windows.sql`. */
export const sales = mysqlTable(
  'sales',
  {
    eventId: char('event_id', { length: 36 }).primaryKey(),
    productId: char('product_id', { length: 36 }).notNull(),
    salePrice: int('sale_price').notNull(),
    quantity: int('quantity').notNull(),
    perUserLimit: int('per_user_limit').notNull(),
    startsAt: timestampColumn('starts_at').notNull(),
    endsAt: timestampColumn('ends_at').notNull(),
    status: mysqlEnum('status', SALE_STATUSES).notNull(),
    sold: int('sold').notNull().default(0),
    updatedAt: timestampColumn('updated_at').notNull(),
    revision: bigint('revision', { mode: 'number' }).notNull().default(0),
  },
  (t) => [index('sales_product_status_idx').on(t.productId, t.status), index('sales_status_ends_idx').on(t.status, t.endsAt)],
);

export const salePurchases = mysqlTable(
  'sale_purchases',
  {
    eventId: char('event_id', { length: 36 }).notNull(),
    userId: char('user_id', { length: 36 }).notNull(),
    units: int('units').notNull(),
  },
  (t) => [primaryKey({ columns: [t.eventId, t.userId] })],
);

export type ProductRow = typeof products.$inferSelect;
export type NewProductRow = typeof products.$inferInsert;
export type LedgerRow = typeof stockLedger.$inferInsert;
export type ReservationRow = typeof reservations.$inferSelect;
export type ReservationLineRow = typeof reservationLines.$inferSelect;
export type SaleRow = typeof sales.$inferSelect;
