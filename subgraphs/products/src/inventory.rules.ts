import type { ProductRow, SaleRow } from './db/schema.js';
import { isSaleLive } from './sale-window.js';

export { isSaleLive };

/**
 * Pure decisions of a reservation, taken on rows the caller already holds FOR UPDATE (the product
 * rows, and through them the sale rows of those products). Kept apart from the transaction so a
 * later group commit (many orders against one locked row) reuses them unchanged.
 *
 * Sale rules (README "Sales"):
 * - A line that names a `saleEventId` buys sale units: the sale must be live for that product
 *   now by the clock rule of sale-window.ts (else SALE_NOT_LIVE), the member may hold at most `perUserLimit` sale units across their
 *   orders (else PURCHASE_LIMIT_EXCEEDED), and enough sale units must be left (else
 *   SALE_SOLD_OUT, with how many are). It is charged the sale price.
 * - A line without one buys at the regular price, from the stock the live sale (if any) has not
 *   set aside: while a sale runs, its unsold units are held for sale buyers. So when the sale
 *   units are gone but stock remains, a sale buyer hears SALE_SOLD_OUT and can still buy at the
 *   regular price by ordering without the sale.
 */
export interface StockLine {
  productId: string;
  quantity: number;
  saleEventId?: string | null;
}

export type LockedProduct = Pick<ProductRow, 'id' | 'price' | 'stock' | 'deletedAt'>;
export type SaleState = Pick<
  SaleRow,
  'eventId' | 'productId' | 'salePrice' | 'quantity' | 'perUserLimit' | 'startsAt' | 'endsAt' | 'status' | 'sold'
>;

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
  | { outcome: 'INSUFFICIENT_STOCK'; productId: string; requested: number; available: number }
  | { outcome: 'SALE_NOT_LIVE'; productId: string; saleEventId: string }
  | { outcome: 'SALE_SOLD_OUT'; productId: string; saleEventId: string; requested: number; remaining: number }
  | { outcome: 'PURCHASE_LIMIT_EXCEEDED'; productId: string; saleEventId: string; limit: number; alreadyPurchased: number };

export type ReservationPlan = { ok: true; lines: PricedLine[] } | { ok: false; rejection: ReserveRejection };

export interface ReservationContext {
  products: ReadonlyMap<string, LockedProduct>;
  /** Every sale named by a line, and the open (scheduled or live) sales of each locked product, by event id. */
  sales: ReadonlyMap<string, SaleState>;
  /** Sale units the buyer already holds, by event id. */
  purchased: ReadonlyMap<string, number>;
  now: Date;
}

/** The live sale of a product, if any (events never schedules two at once for one product). */
export function liveSaleOf(productId: string, sales: ReadonlyMap<string, SaleState>, now: Date): SaleState | undefined {
  for (const sale of sales.values()) if (sale.productId === productId && isSaleLive(sale, now)) return sale;
  return undefined;
}

const unsold = (sale: SaleState) => Math.max(0, sale.quantity - sale.sold);

function planLine(line: StockLine, product: LockedProduct, ctx: ReservationContext): PricedLine | ReserveRejection {
  const regular = {
    productId: line.productId,
    quantity: line.quantity,
    unitPrice: product.price,
    regularPrice: product.price,
    saleEventId: null,
  };
  if (!line.saleEventId) {
    const live = liveSaleOf(line.productId, ctx.sales, ctx.now);
    const available = Math.max(0, product.stock - (live ? unsold(live) : 0));
    if (available < line.quantity) return { outcome: 'INSUFFICIENT_STOCK', productId: line.productId, requested: line.quantity, available };
    return regular;
  }
  const saleEventId = line.saleEventId;
  const sale = ctx.sales.get(saleEventId);
  if (!sale || sale.productId !== line.productId || !isSaleLive(sale, ctx.now)) {
    return { outcome: 'SALE_NOT_LIVE', productId: line.productId, saleEventId };
  }
  const already = ctx.purchased.get(saleEventId) ?? 0;
  if (already + line.quantity > sale.perUserLimit) {
    return {
      outcome: 'PURCHASE_LIMIT_EXCEEDED',
      productId: line.productId,
      saleEventId,
      limit: sale.perUserLimit,
      alreadyPurchased: already,
    };
  }
  if (unsold(sale) < line.quantity) {
    return { outcome: 'SALE_SOLD_OUT', productId: line.productId, saleEventId, requested: line.quantity, remaining: unsold(sale) };
  }
  // Sale units are part of the stock: an admin may have taken stock below the sale's quantity.
  if (product.stock < line.quantity) {
    return { outcome: 'INSUFFICIENT_STOCK', productId: line.productId, requested: line.quantity, available: product.stock };
  }
  return { ...regular, unitPrice: sale.salePrice, saleEventId };
}

/**
 * All-or-nothing: the first line (in request order) that cannot be served rejects the whole
 * order. Unknown products are reported before anything else so the caller learns the most basic
 * problem first.
 */
export function planReservation(lines: readonly StockLine[], ctx: ReservationContext): ReservationPlan {
  for (const line of lines) {
    const product = ctx.products.get(line.productId);
    if (!product || product.deletedAt !== null)
      return { ok: false, rejection: { outcome: 'PRODUCT_NOT_FOUND', productId: line.productId } };
  }
  const planned: PricedLine[] = [];
  for (const line of lines) {
    const result = planLine(line, ctx.products.get(line.productId)!, ctx);
    if ('outcome' in result) return { ok: false, rejection: result };
    planned.push(result);
  }
  return { ok: true, lines: planned };
}

/** Sorted, de-duplicated ids: every transaction locks rows in this one global order. */
export function lockOrder(ids: Iterable<string>): string[] {
  return [...new Set(ids)].sort();
}
