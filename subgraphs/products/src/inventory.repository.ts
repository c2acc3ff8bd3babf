import { asc, eq, inArray, sql } from 'drizzle-orm';
import { isDuplicateKey, type Database } from '@bth/platform';
import { products, reservationLines, reservations, stockLedger, type LedgerRow, type ProductRow, type ReservationLineRow, type ReservationRow } from './db/schema.js';

type Transaction = Parameters<Parameters<Database['transaction']>[0]>[0];

/** Statements that run inside one inventory transaction (see `InventoryRepository.transaction`). */
function transactionQueries(tx: Transaction) {
  return {
    /** False when a row for this order already exists (committed by another request). */
    async insertReservation(row: typeof reservations.$inferInsert): Promise<boolean> {
      try {
        await tx.insert(reservations).values(row);
        return true;
      } catch (error) {
        if (isDuplicateKey(error)) return false;
        throw error;
      }
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

    async insertLedger(rows: LedgerRow[]): Promise<void> {
      if (rows.length) await tx.insert(stockLedger).values(rows);
    },

    async insertLines(rows: ReservationLineRow[]): Promise<void> {
      if (rows.length) await tx.insert(reservationLines).values(rows);
    },

    async setStatus(orderId: string, status: ReservationRow['status'], now: Date): Promise<void> {
      await tx.update(reservations).set({ status, updatedAt: now }).where(eq(reservations.orderId, orderId));
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

const sumOf = (kind: LedgerRow['kind']) =>
  sql<number>`COALESCE(SUM(CASE WHEN ${stockLedger.kind} = ${kind} THEN ${stockLedger.quantityDelta} END), 0)`.mapWith(Number);

/** The only place in `products` that speaks SQL for stock, reservations and the ledger. */
export function createInventoryRepository(db: Database) {
  return {
    /** Runs `work` in one transaction (READ COMMITTED, bounded lock waits: see platform db.ts). */
    transaction<T>(work: (queries: InventoryQueries) => Promise<T>): Promise<T> {
      return db.transaction((tx) => work(transactionQueries(tx)));
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
  };
}

export type InventoryRepository = ReturnType<typeof createInventoryRepository>;
