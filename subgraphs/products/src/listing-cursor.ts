import { decodeKeysetCursor, encodeKeysetCursor } from '@bth/platform/cursor';

/**
 * Keyset pagination for `products`. A cursor is the sort key of the last row of a page
 * (sort value + id as tie-breaker), so the next page starts right after it however many rows
 * were added before it meanwhile, and a page costs an index seek instead of an OFFSET scan.
 * Cursors are opaque to clients (base64url of JSON) and name the order they belong to, so a
 * cursor from one order cannot be replayed against another.
 */
export const PRODUCT_ORDERS = ['NEWEST', 'PRICE_ASC', 'PRICE_DESC', 'NAME_ASC'] as const;
export type ProductOrder = (typeof PRODUCT_ORDERS)[number];

export interface SortKey {
  /** NEWEST: creation time in epoch ms; PRICE_*: the price; NAME_ASC: the name. */
  value: number | string;
  id: string;
}

export function sortKeyOf(order: ProductOrder, row: { id: string; createdAt: Date; price: number; name: string }): SortKey {
  switch (order) {
    case 'NEWEST':
      return { value: row.createdAt.getTime(), id: row.id };
    case 'PRICE_ASC':
    case 'PRICE_DESC':
      return { value: row.price, id: row.id };
    case 'NAME_ASC':
      return { value: row.name, id: row.id };
  }
}

export const encodeCursor = (order: ProductOrder, key: SortKey): string => encodeKeysetCursor([order, key.value, key.id]);

/** Null for anything that is not a cursor this API issued for `order`. */
export function decodeCursor(order: ProductOrder, cursor: string): SortKey | null {
  const parts = decodeKeysetCursor(cursor, ['string', order === 'NAME_ASC' ? 'string' : 'int', 'uuid']);
  if (!parts || parts[0] !== order) return null;
  return { value: parts[1], id: parts[2] };
}
