import type { SaleStatus } from './db/schema.js';

/**
 * The one clock rule every sale decision in products goes through: the price the catalogue shows,
 * the `onSale` filter (same rule in SQL, product.repository.ts), and what a reservation accepts.
 *
 * A sale is live at `now` when it is SCHEDULED or LIVE and `now` lies in its half-open window
 * [startsAt, endsAt). The status products holds only says whether events has called the sale off
 * (ENDED early is impossible, CANCELLED is) — not whether it has opened: `sale.started` may be
 * late or never come (broker down), and the clock does not wait for it. So at every instant the
 * events subgraph's `activeSale` (same rule on its own row) and products agree.
 */
export interface SaleWindow {
  eventId: string;
  salePrice: number;
  startsAt: Date;
  endsAt: Date;
  status: SaleStatus;
}

/** Statuses in which a sale may still be (or become) live; ENDED and CANCELLED never come back. */
export const OPEN_SALE_STATUSES: SaleStatus[] = ['SCHEDULED', 'LIVE'];

export function isSaleLive(sale: Pick<SaleWindow, 'status' | 'startsAt' | 'endsAt'>, now: Date): boolean {
  const t = now.getTime();
  return OPEN_SALE_STATUSES.includes(sale.status) && sale.startsAt.getTime() <= t && t < sale.endsAt.getTime();
}

/** The live sale among `sales` (events never schedules two overlapping sales of one product). */
export function liveSale<T extends Pick<SaleWindow, 'status' | 'startsAt' | 'endsAt'>>(sales: Iterable<T>, now: Date): T | undefined {
  for (const sale of sales) if (isSaleLive(sale, now)) return sale;
  return undefined;
}

/**
 * The next instant after `now` at which some sale of `sales` opens or closes, or null when none
 * will: what a cached answer that depends on "is it on sale" must not outlive.
 */
export function nextSaleEdge(sales: Iterable<Pick<SaleWindow, 'status' | 'startsAt' | 'endsAt'>>, now: Date): Date | null {
  const t = now.getTime();
  let next: number | null = null;
  for (const sale of sales) {
    if (!OPEN_SALE_STATUSES.includes(sale.status)) continue;
    for (const edge of [sale.startsAt.getTime(), sale.endsAt.getTime()]) if (edge > t && (next === null || edge < next)) next = edge;
  }
  return next === null ? null : new Date(next);
}
