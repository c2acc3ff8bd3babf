import type { ProductRow } from './db/schema.js';

/**
 * Pure decisions of a reservation, taken on rows the caller already holds FOR UPDATE. Kept apart
 * from the transaction so the sale work (sale price, SALE_NOT_LIVE, per-user limits) and a later
 * group commit (many orders against one locked row) reuse them unchanged.
 */
export interface StockLine {
  productId: string;
  quantity: number;
}

export type LockedProduct = Pick<ProductRow, 'id' | 'price' | 'stock' | 'deletedAt' | 'saleEventId' | 'salePrice' | 'saleEndsAt'>;

/** One line as reserved: what it costs each, and what it would have cost outside a sale. */
export interface PricedLine {
  productId: string;
  quantity: number;
  unitPrice: number;
  regularPrice: number;
  saleEventId: string | null;
}

export type ReserveRejection =
  | { outcome: 'PRODUCT_NOT_FOUND'; productId: string }
  | { outcome: 'INSUFFICIENT_STOCK'; productId: string; requested: number; available: number };

export type ReservationPlan = { ok: true; lines: PricedLine[] } | { ok: false; rejection: ReserveRejection };

/**
 * The price a line is charged. Today: the regular price. The sale work replaces this step (sale
 * price while `isOnSale`, with the event id) and adds its rejections beside the stock check.
 */
export function priceLine(product: LockedProduct, line: StockLine, _now: Date): PricedLine {
  return { productId: line.productId, quantity: line.quantity, unitPrice: product.price, regularPrice: product.price, saleEventId: null };
}

/**
 * All-or-nothing: the first line (in request order) that cannot be served rejects the whole
 * order. Unknown products are reported before stock so the caller learns the most basic problem.
 */
export function planReservation(lines: readonly StockLine[], locked: ReadonlyMap<string, LockedProduct>, now: Date): ReservationPlan {
  for (const line of lines) {
    const product = locked.get(line.productId);
    if (!product || product.deletedAt !== null) return { ok: false, rejection: { outcome: 'PRODUCT_NOT_FOUND', productId: line.productId } };
  }
  for (const line of lines) {
    const product = locked.get(line.productId)!;
    if (product.stock < line.quantity) {
      return { ok: false, rejection: { outcome: 'INSUFFICIENT_STOCK', productId: line.productId, requested: line.quantity, available: product.stock } };
    }
  }
  return { ok: true, lines: lines.map((line) => priceLine(locked.get(line.productId)!, line, now)) };
}

/** Sorted, de-duplicated ids: every transaction locks product rows in this one global order. */
export function lockOrder(productIds: Iterable<string>): string[] {
  return [...new Set(productIds)].sort();
}
