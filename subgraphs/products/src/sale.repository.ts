import { and, eq, inArray, max, sql } from 'drizzle-orm';
import { runTransaction, type Database, type Transaction } from '@bth/platform/db';
import { claimInbox } from '@bth/platform/outbox';
import { products, sales, type SaleRow } from './db/schema.js';
import { OPEN_SALE_STATUSES } from './sale-window.js';
import { SALES_CONSUMER } from './topology.js';

/** Statements of one message-applying transaction (see `SaleRepository.transaction`). */
function saleQueries(tx: Transaction) {
  return {
    /** False when this message id was applied before (the inbox row is part of this transaction). */
    claim: (messageId: string, now: Date) => claimInbox(tx, SALES_CONSUMER, messageId, now),

    /**
     * The product row FOR UPDATE, first: inventory transactions lock it before they read the
     * sale, so holding it makes the sale change atomic for them too (same lock order, no deadlock).
     */
    async lockProduct(productId: string): Promise<boolean> {
      const rows = await tx.select({ id: products.id }).from(products).where(eq(products.id, productId)).for('update');
      return rows.length > 0;
    },

    async findSale(eventId: string): Promise<SaleRow | undefined> {
      const [row] = await tx.select().from(sales).where(eq(sales.eventId, eventId));
      return row;
    },

    async insertSale(row: Omit<SaleRow, 'sold'>): Promise<void> {
      await tx.insert(sales).values(row);
    },

    async updateSale(eventId: string, changes: Partial<Omit<SaleRow, 'eventId' | 'productId' | 'sold'>>): Promise<void> {
      await tx.update(sales).set(changes).where(eq(sales.eventId, eventId));
    },

    /** The end of the product's last open sale, which tells reservations whether to read its sales. */
    async refreshSalesUntil(productId: string): Promise<void> {
      const until = tx
        .select({ until: max(sales.endsAt) })
        .from(sales)
        .where(and(eq(sales.productId, productId), inArray(sales.status, OPEN_SALE_STATUSES)));
      await tx
        .update(products)
        .set({ salesUntil: sql`(${until})` })
        .where(eq(products.id, productId));
    },
  };
}

export type SaleQueries = ReturnType<typeof saleQueries>;

/** The only place in `products` that speaks SQL for applying sale messages and reading sale counts. */
export function createSaleRepository(db: Database) {
  return {
    transaction<T>(work: (queries: SaleQueries) => Promise<T>): Promise<T> {
      return runTransaction(db, (tx) => work(saleQueries(tx)));
    },

    /** Sale units held by orders, per event id (events this service never heard of are absent). */
    async soldByEvent(eventIds: readonly string[]): Promise<Map<string, number>> {
      if (eventIds.length === 0) return new Map();
      const rows = await db
        .select({ eventId: sales.eventId, sold: sales.sold })
        .from(sales)
        .where(inArray(sales.eventId, [...eventIds]));
      return new Map(rows.map((row) => [row.eventId, row.sold]));
    },
  };
}

export type SaleRepository = ReturnType<typeof createSaleRepository>;
