import type { OrderLineInput } from './validation.js';

/**
 * Money is integer KRW (no minor unit), computed here on the server from the prices inventory
 * answered with the reservation; a client never sends a price or a total.
 */
export interface ReservedLinePrice {
  productId: string;
  quantity: number;
  unitPrice: number;
  regularPrice: number;
  saleEventId: string | null;
}

export interface PricedOrder {
  lines: ReservedLinePrice[];
  total: number;
}

// GraphQL `Int` is 32-bit; an order total beyond it could not be shown, so it is refused.
export const MAX_ORDER_TOTAL = 2_147_483_647;

/** The reserved prices add up to more than the API can carry: the buyer must split the order. */
export class OrderTotalTooLargeError extends Error {
  constructor(readonly total: number) {
    super(`order total ${total} exceeds ${MAX_ORDER_TOTAL}`);
  }
}

const isMoney = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

/**
 * Checks that inventory reserved exactly what was asked (same products, quantities and sale) with
 * sane prices, and totals it. Throws on any mismatch: that is a contract bug, never a business
 * outcome, and the order must then not be confirmed. A total too large for the API throws
 * `OrderTotalTooLargeError` (prices are only known once reserved, so this cannot be checked first).
 */
export function priceOrder(requested: readonly OrderLineInput[], reserved: readonly ReservedLinePrice[]): PricedOrder {
  const byProduct = new Map(reserved.map((line) => [line.productId.toLowerCase(), line]));
  if (byProduct.size !== requested.length || reserved.length !== requested.length) {
    throw new Error('inventory reserved a different set of lines than requested');
  }
  let total = 0;
  const lines = requested.map((want) => {
    const got = byProduct.get(want.productId.toLowerCase());
    if (!got || got.quantity !== want.quantity) throw new Error(`inventory reserved a different quantity of ${want.productId}`);
    if ((want.saleEventId ?? null) !== (got.saleEventId?.toLowerCase() ?? null))
      throw new Error(`inventory priced ${want.productId} in another sale`);
    if (!isMoney(got.unitPrice) || !isMoney(got.regularPrice)) throw new Error(`inventory sent an invalid price for ${want.productId}`);
    total += got.unitPrice * got.quantity;
    return { ...got, productId: want.productId };
  });
  if (total > MAX_ORDER_TOTAL) throw new OrderTotalTooLargeError(total);
  return { lines, total };
}
