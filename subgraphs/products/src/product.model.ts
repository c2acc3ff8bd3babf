import type { ProductRow } from './db/schema.js';
import { liveSale, type SaleWindow } from './sale-window.js';

/**
 * A live product as the API and the cache see it (deleted rows never become a view), with the
 * windows of its open (scheduled or live) sales. The sale price is not stored on the view: it is
 * picked by the clock when read, so a view cached before a sale opens shows the sale price from
 * `startsAt`, and one cached during a sale stops showing it at `endsAt`, with no message and no
 * invalidation needed at either edge. Sale messages that change a window invalidate the entry.
 */
export type ProductView = Omit<ProductRow, 'deletedAt' | 'live' | 'salesUntil' | 'soldOutMarked'> & { sales: SaleWindow[] };

export function toProductView(row: ProductRow, sales: SaleWindow[]): ProductView {
  const { deletedAt: _deletedAt, live: _live, salesUntil: _salesUntil, soldOutMarked: _soldOutMarked, ...view } = row;
  return { ...view, sales };
}

/** Revives a product from its cached JSON form (dates travel as ISO strings). */
export function parseProduct(json: unknown): ProductView {
  const raw = json as Record<string, unknown> & ProductView;
  const sales = Array.isArray(raw.sales) ? raw.sales : [];
  return {
    ...raw,
    createdAt: new Date(raw.createdAt as unknown as string),
    updatedAt: new Date(raw.updatedAt as unknown as string),
    sales: sales.map((sale) => ({
      ...sale,
      startsAt: new Date(sale.startsAt as unknown as string),
      endsAt: new Date(sale.endsAt as unknown as string),
    })),
  };
}

/** The sale live on the product at `now`, by the clock rule of sale-window.ts. */
export function currentSale(product: Pick<ProductView, 'sales'>, now: Date): SaleWindow | undefined {
  return liveSale(product.sales, now);
}

export function isOnSale(product: Pick<ProductView, 'sales'>, now: Date): boolean {
  return currentSale(product, now) !== undefined;
}
