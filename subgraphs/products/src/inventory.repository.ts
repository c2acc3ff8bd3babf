import { and, asc, eq, inArray, or, sql } from 'drizzle-orm';
import { insertUnlessDuplicate, runTransaction, type Database, type Transaction, type TransactionOptions } from '@bth/platform/db';
import { enqueueMessages, type OutboxMessage } from '@bth/platform/outbox';
import {
  products,
  reservationLines,
  reservations,
  salePurchases,
  sales,
  stockLedger,
  type LedgerRow,
  type ProductRow,
  type ReservationLineRow,
  type ReservationRow,
  type SaleRow,
} from './db/schema.js';
import { OPEN_SALE_STATUSES } from './sale-window.js';

/** Statements that run inside one inventory transaction (see `InventoryRepository.transaction`). */
function transactionQueries(tx: Transaction) {
  return {
    /** False when a row for this order already exists (committed by another request). */
    insertReservation(row: typeof reservations.$inferInsert): Promise<boolean> {
      return insertUnlessDuplicate(() => tx.insert(reservations).values(row));
    },

    async lockReservation(orderId: string): Promise<ReservationRow | undefined> {
      const [row] = await tx.select().from(reservations).where(eq(reservations.orderId, orderId)).for('update');
      return row;
    },

    async findReservation(orderId: string): Promise<ReservationRow | undefined> {
      const [row] = await tx.select().from(reservations).where(eq(reservations.orderId, orderId));
      return row;
    },

    async findLines(orderId: string): Promise<ReservationLineRow[]> {
      return tx.select().from(reservationLines).where(eq(reservationLines.orderId, orderId)).orderBy(asc(reservationLines.lineNo));
    },

    /**
     * Locks the rows in ascending id order: the ids arrive sorted (`lockOrder`) and InnoDB walks
     * the primary-key range upwards, so two orders over the same products always queue in the
     * same order and cannot deadlock each other. Deleted rows are returned too (release and
     * restock still give stock back to them).
     */
    async lockProducts(sortedIds: readonly string[]): Promise<ProductRow[]> {
      if (sortedIds.length === 0) return [];
      return tx
        .select()
        .from(products)
        .where(inArray(products.id, [...sortedIds]))
        .orderBy(asc(products.id))
        .for('update');
    },

    async changeStock(productId: string, delta: number, now: Date): Promise<void> {
      await tx
        .update(products)
        .set({ stock: sql`${products.stock} + ${delta}`, updatedAt: now })
        .where(eq(products.id, productId));
    },

    /** See drizzle/0003_sold_out_marker.sql; the caller holds the row. */
    async setSoldOutMarked(productIds: readonly string[], marked: boolean): Promise<void> {
      if (productIds.length)
        await tx
          .update(products)
          .set({ soldOutMarked: marked ? 1 : 0 })
          .where(inArray(products.id, [...productIds]));
    },

    async insertLedger(rows: LedgerRow[]): Promise<void> {
      if (rows.length) await tx.insert(stockLedger).values(rows);
    },

    async insertLines(rows: ReservationLineRow[]): Promise<void> {
      if (rows.length) await tx.insert(reservationLines).values(rows);
    },

    async setStatus(orderId: string, status: ReservationRow['status'], now: Date): Promise<void> {
      await tx.update(reservations).set({ status, updatedAt: now }).where(eq(reservations.orderId, orderId));
    },

    /**
     * The sales named by the lines and the open (scheduled or live) sales of each product; the
     * clock rule decides which is live. Read without a lock of
     * their own: the caller holds the product rows, and every writer of a sale row holds its
     * product row first (see drizzle/0001_sales.sql).
     */
    async findSales(eventIds: readonly string[], productIds: readonly string[]): Promise<SaleRow[]> {
      const named = eventIds.length ? inArray(sales.eventId, [...eventIds]) : undefined;
      const live = productIds.length
        ? and(inArray(sales.productId, [...productIds]), inArray(sales.status, OPEN_SALE_STATUSES))
        : undefined;
      if (!named && !live) return [];
      return tx.select().from(sales).where(or(named, live));
    },

    /** Sale units the member holds, by event id. */
    async findPurchased(userId: string, eventIds: readonly string[]): Promise<Map<string, number>> {
      if (eventIds.length === 0) return new Map();
      const rows = await tx
        .select({ eventId: salePurchases.eventId, units: salePurchases.units })
        .from(salePurchases)
        .where(and(eq(salePurchases.userId, userId), inArray(salePurchases.eventId, [...eventIds])));
      return new Map(rows.map((r) => [r.eventId, r.units]));
    },

    /** Moves sale units: + when an order takes them, − when it gives them back. */
    async countSaleUnits(eventId: string, userId: string, delta: number, now: Date): Promise<SaleRow | undefined> {
      await tx
        .update(sales)
        .set({ sold: sql`${sales.sold} + ${delta}`, updatedAt: now })
        .where(eq(sales.eventId, eventId));
      await tx
        .insert(salePurchases)
        .values({ eventId, userId, units: Math.max(0, delta) })
        .onDuplicateKeyUpdate({ set: { units: sql`${salePurchases.units} + ${delta}` } });
      const [row] = await tx.select().from(sales).where(eq(sales.eventId, eventId));
      return row;
    },

    /** Group commit: the rows already written for any of these orders (repeats, tombstones). */
    async findReservations(orderIds: readonly string[]): Promise<ReservationRow[]> {
      if (orderIds.length === 0) return [];
      return tx
        .select()
        .from(reservations)
        .where(inArray(reservations.orderId, [...orderIds]));
    },

    async findLinesOf(orderIds: readonly string[]): Promise<ReservationLineRow[]> {
      if (orderIds.length === 0) return [];
      return tx
        .select()
        .from(reservationLines)
        .where(inArray(reservationLines.orderId, [...orderIds]))
        .orderBy(asc(reservationLines.orderId), asc(reservationLines.lineNo));
    },

    /** Sale units each of these members holds in one sale. */
    async findPurchasedBy(eventId: string, userIds: readonly string[]): Promise<Map<string, number>> {
      if (userIds.length === 0) return new Map();
      const rows = await tx
        .select({ userId: salePurchases.userId, units: salePurchases.units })
        .from(salePurchases)
        .where(and(eq(salePurchases.eventId, eventId), inArray(salePurchases.userId, [...userIds])));
      return new Map(rows.map((r) => [r.userId, r.units]));
    },

    /** One multi-row insert; a duplicate order id fails the whole statement (the caller falls back). */
    async insertReservations(rows: Array<typeof reservations.$inferInsert>): Promise<void> {
      if (rows.length) await tx.insert(reservations).values(rows);
    },

    /** A batch's sale units in two statements: the sale's counter, and each member's allowance. */
    async addSaleUnits(eventId: string, perMember: ReadonlyMap<string, number>, now: Date): Promise<void> {
      let total = 0;
      for (const units of perMember.values()) total += units;
      if (total === 0) return;
      await tx
        .update(sales)
        .set({ sold: sql`${sales.sold} + ${total}`, updatedAt: now })
        .where(eq(sales.eventId, eventId));
      await tx
        .insert(salePurchases)
        .values([...perMember].map(([userId, units]) => ({ eventId, userId, units })))
        .onDuplicateKeyUpdate({ set: { units: sql`${salePurchases.units} + VALUES(${salePurchases.units})` } });
    },

    /** Messages that leave only if this transaction commits (platform outbox). */
    enqueue(messages: OutboxMessage[], now: Date): Promise<string[]> {
      return enqueueMessages(tx, messages, now);
    },
  };
}

export type InventoryQueries = ReturnType<typeof transactionQueries>;

export interface InventoryRow {
  productId: string;
  name: string;
  deleted: boolean;
  stock: number;
  initial: number;
  adjusted: number;
  reserved: number;
  released: number;
  restocked: number;
  ledger: number;
}

export interface SaleInventoryRow {
  eventId: string;
  productId: string;
  quantity: number;
  perUserLimit: number;
  sold: number;
  heldByOrders: number;
  maxPerMember: number;
}

const sumOf = (kind: LedgerRow['kind']) =>
  sql<number>`COALESCE(SUM(CASE WHEN ${stockLedger.kind} = ${kind} THEN ${stockLedger.quantityDelta} END), 0)`.mapWith(Number);

/** The only place in `products` that speaks SQL for stock, reservations and the ledger. */
export function createInventoryRepository(db: Database) {
  return {
    /** Runs `work` in one transaction (READ COMMITTED, bounded lock waits, lock conflicts answered LOCK_TIMEOUT: platform `runTransaction`). */
    transaction<T>(work: (queries: InventoryQueries) => Promise<T>, options?: TransactionOptions): Promise<T> {
      return runTransaction(db, (tx) => work(transactionQueries(tx)), options);
    },

    /**
     * The sold-out fast path's check, without a lock or a transaction: the product, its open
     * sales and whether any of `orderIds` already has a reservation row, in ONE statement (one
     * consistent snapshot of committed rows, READ COMMITTED). A refusal read from it is true of
     * the committed state at that instant, so it never refuses while committed units remain.
     */
    async snapshot(
      productId: string,
      orderIds: readonly string[],
    ): Promise<{ product: ProductRow; sales: SaleRow[]; recorded: number } | null> {
      const recorded = orderIds.length
        ? sql<number>`(SELECT COUNT(*) FROM ${reservations} WHERE ${reservations.orderId} IN (${sql.join(
            orderIds.map((id) => sql`${id}`),
            sql`, `,
          )}))`.mapWith(Number)
        : sql<number>`0`.mapWith(Number);
      const rows = await db
        .select({ product: products, sale: sales, recorded })
        .from(products)
        .leftJoin(sales, and(eq(sales.productId, products.id), inArray(sales.status, OPEN_SALE_STATUSES)))
        .where(eq(products.id, productId));
      if (rows.length === 0) return null;
      return {
        product: rows[0]!.product,
        sales: rows.flatMap((row) => (row.sale ? [row.sale] : [])),
        recorded: rows[0]!.recorded,
      };
    },

    /**
     * Stock and ledger sums per product in ONE statement, so the numbers come from one snapshot
     * even while reservations are committing (each InnoDB statement reads a consistent view).
     */
    async inventory(productIds: readonly string[] | null): Promise<InventoryRow[]> {
      const rows = await db
        .select({
          productId: products.id,
          name: products.name,
          deletedAt: products.deletedAt,
          stock: products.stock,
          initial: sumOf('INITIAL'),
          adjusted: sumOf('ADJUSTMENT'),
          reserved: sumOf('RESERVATION'),
          released: sumOf('RELEASE'),
          restocked: sumOf('RESTOCK'),
          ledger: sql<number>`COALESCE(SUM(${stockLedger.quantityDelta}), 0)`.mapWith(Number),
        })
        .from(products)
        .leftJoin(stockLedger, eq(stockLedger.productId, products.id))
        .where(productIds ? inArray(products.id, [...productIds]) : undefined)
        .groupBy(products.id, products.name, products.deletedAt, products.stock)
        .orderBy(asc(products.id));
      return rows.map(({ deletedAt, ...row }) => ({ ...row, deleted: deletedAt !== null }));
    },

    /**
     * Each sale's counter next to what the reservations themselves say, in ONE statement (one
     * consistent snapshot): sale units held by RESERVED orders, and the most any member holds.
     */
    async saleInventory(productIds: readonly string[] | null): Promise<SaleInventoryRow[]> {
      const scope = productIds
        ? sql`AND l.product_id IN (${sql.join(
            productIds.map((id) => sql`${id}`),
            sql`, `,
          )})`
        : sql``;
      const where = productIds
        ? sql`WHERE s.product_id IN (${sql.join(
            productIds.map((id) => sql`${id}`),
            sql`, `,
          )})`
        : sql``;
      const [rows] = (await db.execute(sql`
        SELECT s.event_id AS eventId, s.product_id AS productId, s.quantity, s.per_user_limit AS perUserLimit, s.sold,
               COALESCE(h.held, 0) AS heldByOrders, COALESCE(h.max_member, 0) AS maxPerMember
        FROM sales s
        LEFT JOIN (
          SELECT event_id, SUM(units) AS held, MAX(units) AS max_member
          FROM (
            SELECT l.sale_event_id AS event_id, r.user_id, SUM(l.quantity) AS units
            FROM reservation_lines l JOIN reservations r ON r.order_id = l.order_id
            WHERE r.status = 'RESERVED' AND l.sale_event_id IS NOT NULL ${scope}
            GROUP BY l.sale_event_id, r.user_id
          ) per_member
          GROUP BY event_id
        ) h ON h.event_id = s.event_id
        ${where}
        ORDER BY s.event_id`)) as unknown as [Array<Record<keyof SaleInventoryRow, string | number>>];
      return rows.map((row) => ({
        eventId: String(row.eventId),
        productId: String(row.productId),
        quantity: Number(row.quantity),
        perUserLimit: Number(row.perUserLimit),
        sold: Number(row.sold),
        heldByOrders: Number(row.heldByOrders),
        maxPerMember: Number(row.maxPerMember),
      }));
    },
  };
}

export type InventoryRepository = ReturnType<typeof createInventoryRepository>;
