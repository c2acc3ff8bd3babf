import type { ProductRow } from './db/schema.js';

/** A live product as the API and the cache see it (deleted rows never become a view). */
export type ProductView = Omit<ProductRow, 'deletedAt' | 'live'>;

export function toProductView(row: ProductRow): ProductView {
  const { deletedAt: _deletedAt, live: _live, ...view } = row;
  return view;
}

/** Revives a product from its cached JSON form (dates travel as ISO strings). */
export function parseProduct(json: unknown): ProductView {
  const raw = json as Record<string, unknown> & ProductView;
  return {
    ...raw,
    createdAt: new Date(raw.createdAt as unknown as string),
    updatedAt: new Date(raw.updatedAt as unknown as string),
    saleEndsAt: raw.saleEndsAt === null ? null : new Date(raw.saleEndsAt as unknown as string),
  };
}

/**
 * A sale is live while the events work has put a sale price on the product and its end has not
 * passed. The end is checked here too because a cached product may outlive the sale by up to the
 * cache TTL before `sale.ended` clears the columns.
 */
export function isOnSale(product: Pick<ProductView, 'saleEventId' | 'salePrice' | 'saleEndsAt'>, now: Date): boolean {
  return product.saleEventId !== null && product.salePrice !== null && (product.saleEndsAt === null || product.saleEndsAt > now);
}
