import type { SaleEventStatus } from './db/schema.js';
import type { SaleEndReason } from './sale.messages.js';

/**
 * The life of a sale event as pure rules (see the SaleEventStatus docs in schema.graphql):
 *
 *   SCHEDULED ──startsAt──▶ LIVE ──endsAt──▶ ENDED
 *   SCHEDULED ──window passed before it could open──▶ ENDED (reason MISSED)
 *   SCHEDULED | LIVE ──admin──▶ CANCELLED
 *
 * The scheduler and the admin operations decide with these functions; the repository then makes
 * the chosen move with a conditional UPDATE on the status read here.
 */
interface Timed {
  status: SaleEventStatus;
  startsAt: Date;
  endsAt: Date;
}

export type DueTransition = { to: 'LIVE' } | { to: 'ENDED'; reason: Extract<SaleEndReason, 'ENDED' | 'MISSED'> };

/** What the scheduler must do with `event` at `now`; null when nothing is due. */
export function dueTransition(event: Timed, now: Date): DueTransition | null {
  const t = now.getTime();
  if (event.status === 'SCHEDULED') {
    if (t < event.startsAt.getTime()) return null;
    // Opening late is right while the window lasts (downtime, a slow tick). After it, announcing a
    // sale that is already over would open and close it for nothing, so it ends as MISSED.
    return t < event.endsAt.getTime() ? { to: 'LIVE' } : { to: 'ENDED', reason: 'MISSED' };
  }
  if (event.status === 'LIVE' && t >= event.endsAt.getTime()) return { to: 'ENDED', reason: 'ENDED' };
  return null;
}

/**
 * Only a scheduled event that has not reached its start can be edited: from `startsAt` products
 * sells on the terms it was sent, whether or not the scheduler has ticked yet.
 */
export const isEditable = (event: Timed, now: Date) => event.status === 'SCHEDULED' && now.getTime() < event.startsAt.getTime();

/** What `cancelSaleEvent` does in each status. A repeated cancel is not an error (double click). */
export type CancelDecision = 'CANCEL' | 'ALREADY_CANCELLED' | 'NOT_EDITABLE';

export function cancelDecision(event: Timed, now: Date): CancelDecision {
  switch (effectiveStatus(event, now)) {
    case 'SCHEDULED':
    case 'LIVE':
      return 'CANCEL';
    case 'CANCELLED':
      return 'ALREADY_CANCELLED';
    case 'ENDED':
      return 'NOT_EDITABLE';
  }
}

/**
 * On sale right now: SCHEDULED or LIVE and `now` inside the half-open window. The same clock rule
 * as products' (subgraphs/products/src/sale-window.ts), so `Product.activeSale`, the price shown
 * and what an order is accepted at agree at every instant, whether the scheduler has ticked and
 * the broker has delivered or not.
 */
export const isActiveAt = (event: Timed, now: Date) =>
  (event.status === 'SCHEDULED' || event.status === 'LIVE') &&
  event.startsAt.getTime() <= now.getTime() &&
  now.getTime() < event.endsAt.getTime();

/**
 * The status a client is shown: the stored one, moved on by the clock where the scheduler has not
 * caught up yet (it ticks about once a second, and not at all while it is down), so a sale reads
 * LIVE exactly from `startsAt` and ENDED exactly from `endsAt`.
 */
export function effectiveStatus(event: Timed, now: Date): SaleEventStatus {
  if (event.status !== 'SCHEDULED' && event.status !== 'LIVE') return event.status;
  if (now.getTime() >= event.endsAt.getTime()) return 'ENDED';
  return isActiveAt(event, now) ? 'LIVE' : event.status;
}
