import { decodeKeysetCursor, encodeKeysetCursor } from '@bth/platform/cursor';
import type { SaleEventRow, SaleEventStatus } from './db/schema.js';
import { effectiveStatus } from './sale-event.lifecycle.js';

/**
 * A sale event as resolvers see it (the row minus bookkeeping, the product by id): the mapper of
 * `SaleEvent` in codegen.ts. `__typename` picks the member of the mutation result unions, which
 * like every other result type come from src/generated/graphql.ts.
 */
export interface SaleEventView {
  __typename: 'SaleEvent';
  id: string;
  name: string;
  productId: string;
  salePrice: number;
  quantity: number;
  perUserLimit: number;
  startsAt: Date;
  endsAt: Date;
  status: SaleEventStatus;
  openedAt: Date | null;
  closedAt: Date | null;
  soldOutAt: Date | null;
  createdAt: Date;
}

/** `status` is the one the clock says at `now` (see `effectiveStatus`), not the stored one. */
export const toView = (row: SaleEventRow, now: Date): SaleEventView => ({
  __typename: 'SaleEvent',
  id: row.id,
  name: row.name,
  productId: row.productId,
  salePrice: row.salePrice,
  quantity: row.quantity,
  perUserLimit: row.perUserLimit,
  startsAt: row.startsAt,
  endsAt: row.endsAt,
  status: effectiveStatus(row, now),
  openedAt: row.openedAt,
  closedAt: row.closedAt,
  soldOutAt: row.soldOutAt,
  createdAt: row.createdAt,
});

/** Half-open windows [start, end) overlap when each starts before the other ends. */
export const windowsOverlap = (a: { startsAt: Date; endsAt: Date }, b: { startsAt: Date; endsAt: Date }) =>
  a.startsAt.getTime() < b.endsAt.getTime() && b.startsAt.getTime() < a.endsAt.getTime();

/** Statuses that still claim their window: a new event may not overlap one of these. */
export const BLOCKING_STATUSES: SaleEventStatus[] = ['SCHEDULED', 'LIVE'];

/**
 * Keyset cursor of the listing: (startsAt, id) of the last event of a page, base64url JSON.
 * Opaque to clients; anything this API did not issue decodes to null.
 */
export interface ListingKey {
  startsAt: Date;
  id: string;
}

export const encodeCursor = (key: ListingKey): string => encodeKeysetCursor([key.startsAt, key.id]);

export function decodeCursor(cursor: string): ListingKey | null {
  const parts = decodeKeysetCursor(cursor, ['time', 'uuid']);
  return parts && { startsAt: parts[0], id: parts[1] };
}
