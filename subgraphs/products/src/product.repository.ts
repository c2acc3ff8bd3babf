import { and, asc, count, desc, eq, exists, gt, inArray, isNull, lt, lte, not, or, sql, type SQL } from 'drizzle-orm';
import { insertUnlessDuplicate, runTransaction, unlessDuplicate, type Database } from '@bth/platform/db';
import { products, sales, stockLedger, type NewProductRow, type ProductFunction, type ProductRow, type ProductType } from './db/schema.js';
import type { ProductOrder, SortKey } from './listing-cursor.js';
import { OPEN_SALE_STATUSES, type SaleWindow } from './sale-window.js';

export interface ListingFilter {
  function: ProductFunction | null;
  type: ProductType | null;
  onSale: boolean | null;
}

export type ListedRow = Pick<ProductRow, 'id' | 'createdAt' | 'price' | 'name'>;

const live = isNull(products.deletedAt);

/** Same clock rule as `isSaleLive` in sale-window.ts; EXISTS is never NULL, so NOT() of it is safe. */
const onSaleAt = (db: Database, now: Date) =>
  exists(
    db
      .select({ one: sql`1` })
      .from(sales)
      .where(
        and(eq(sales.productId, products.id), inArray(sales.status, OPEN_SALE_STATUSES), lte(sales.startsAt, now), gt(sales.endsAt, now)),
      ),
  );

function listingWhere(db: Database, filter: ListingFilter, now: Date): SQL[] {
  const conditions: SQL[] = [live];
  if (filter.function) conditions.push(eq(products.function, filter.function));
  if (filter.type) conditions.push(eq(products.type, filter.type));
  if (filter.onSale !== null) conditions.push(filter.onSale ? onSaleAt(db, now) : not(onSaleAt(db, now)));
  return conditions;
}

/** Rows strictly after `key` in `order` (the keyset seek; `id` breaks ties). */
function after(order: ProductOrder, key: SortKey): SQL {
  switch (order) {
    case 'NEWEST': {
      const at = new Date(key.value as number);
      return or(lt(products.createdAt, at), and(eq(products.createdAt, at), lt(products.id, key.id))) as SQL;
    }
    case 'PRICE_ASC':
      return or(gt(products.price, key.value as number), and(eq(products.price, key.value as number), gt(products.id, key.id))) as SQL;
    case 'PRICE_DESC':
      return or(lt(products.price, key.value as number), and(eq(products.price, key.value as number), lt(products.id, key.id))) as SQL;
    case 'NAME_ASC':
      return or(gt(products.name, key.value as string), and(eq(products.name, key.value as string), gt(products.id, key.id))) as SQL;
  }
}

const ORDER_BY: Record<ProductOrder, SQL[]> = {
  NEWEST: [desc(products.createdAt), desc(products.id)],
  PRICE_ASC: [asc(products.price), asc(products.id)],
  PRICE_DESC: [desc(products.price), desc(products.id)],
  NAME_ASC: [asc(products.name), asc(products.id)],
};

/** The only place in `products` that speaks SQL for the catalogue (stock changes: inventory.repository.ts). */
export function createProductRepository(db: Database) {
  return {
    /** The product and its INITIAL ledger row commit together, so the invariant holds from the first moment. */
    async insertWithInitialStock(
      row: NewProductRow & { stock: number; createdAt: Date },
    ): Promise<{ ok: true } | { ok: false; reason: 'DUPLICATE' }> {
      const inserted = await insertUnlessDuplicate(() =>
        runTransaction(db, async (tx) => {
          await tx.insert(products).values(row);
          await tx.insert(stockLedger).values({
            productId: row.id,
            orderId: null,
            kind: 'INITIAL',
            quantityDelta: row.stock,
            reason: 'initial stock',
            createdAt: row.createdAt,
          });
        }),
      );
      return inserted ? { ok: true } : { ok: false, reason: 'DUPLICATE' };
    },

    async findLiveByIds(ids: readonly string[]): Promise<ProductRow[]> {
      if (ids.length === 0) return [];
      return db
        .select()
        .from(products)
        .where(and(inArray(products.id, [...ids]), live));
    },

    /** Windows of the products' open sales not over at `now` (the catalogue prices them by the clock). */
    async findOpenSales(productIds: readonly string[], now: Date): Promise<Array<SaleWindow & { productId: string }>> {
      if (productIds.length === 0) return [];
      return db
        .select({
          productId: sales.productId,
          eventId: sales.eventId,
          salePrice: sales.salePrice,
          startsAt: sales.startsAt,
          endsAt: sales.endsAt,
          status: sales.status,
        })
        .from(sales)
        .where(and(inArray(sales.productId, [...productIds]), inArray(sales.status, OPEN_SALE_STATUSES), gt(sales.endsAt, now)))
        .orderBy(asc(sales.startsAt));
    },

    /**
     * The next instant after `now` at which any open sale opens or closes (null: none will): an
     * `onSale` listing computed now is right only until then.
     */
    async nextSaleEdge(now: Date): Promise<Date | null> {
      // Parameter and result go through the column's own mapping (UTC DATETIME), like every other query.
      const at = sql.param(now, sales.startsAt);
      const next = sql`MIN(IF(${sales.startsAt} > ${at}, ${sales.startsAt}, ${sales.endsAt}))`.mapWith(sales.startsAt);
      const [row] = await db
        .select({ next })
        .from(sales)
        .where(and(inArray(sales.status, OPEN_SALE_STATUSES), gt(sales.endsAt, now)));
      return row?.next ?? null;
    },

    async findLiveIdByName(name: string, producer: string): Promise<string | undefined> {
      const [row] = await db
        .select({ id: products.id })
        .from(products)
        .where(and(eq(products.name, name), eq(products.producer, producer), live))
        .limit(1);
      return row?.id;
    },

    /** Locks the live row, applies the changes, returns the row as committed. */
    async updateLive(id: string, changes: Partial<NewProductRow>, now: Date): Promise<ProductRow | 'NOT_FOUND' | 'DUPLICATE'> {
      return unlessDuplicate(
        () =>
          runTransaction(db, async (tx) => {
            const [current] = await tx
              .select()
              .from(products)
              .where(and(eq(products.id, id), live))
              .for('update');
            if (!current) return 'NOT_FOUND' as const;
            await tx
              .update(products)
              .set({ ...changes, updatedAt: now })
              .where(eq(products.id, id));
            return { ...current, ...changes, updatedAt: now };
          }),
        'DUPLICATE' as const,
      );
    },

    async softDelete(id: string, now: Date): Promise<boolean> {
      const [result] = await db
        .update(products)
        .set({ deletedAt: now, updatedAt: now })
        .where(and(eq(products.id, id), live));
      return result.affectedRows === 1;
    },

    /** One page of sort keys (limit + 1 rows tells the caller whether another page follows). */
    async listPage(filter: ListingFilter, order: ProductOrder, afterKey: SortKey | null, limit: number, now: Date): Promise<ListedRow[]> {
      const conditions = listingWhere(db, filter, now);
      if (afterKey) conditions.push(after(order, afterKey));
      return db
        .select({ id: products.id, createdAt: products.createdAt, price: products.price, name: products.name })
        .from(products)
        .where(and(...conditions))
        .orderBy(...ORDER_BY[order])
        .limit(limit);
    },

    async countListed(filter: ListingFilter, now: Date): Promise<number> {
      const [row] = await db
        .select({ n: count() })
        .from(products)
        .where(and(...listingWhere(db, filter, now)));
      return row?.n ?? 0;
    },
  };
}

export type ProductRepository = ReturnType<typeof createProductRepository>;
