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

/** Only a scheduled event can be edited: once announced, products has acted on its terms. */
export const isEditable = (status: SaleEventStatus) => status === 'SCHEDULED';

/** What `cancelSaleEvent` does in each status. A repeated cancel is not an error (double click). */
export type CancelDecision = 'CANCEL' | 'ALREADY_CANCELLED' | 'NOT_EDITABLE';

export function cancelDecision(status: SaleEventStatus): CancelDecision {
  switch (status) {
    case 'SCHEDULED':
    case 'LIVE':
      return 'CANCEL';
    case 'CANCELLED':
      return 'ALREADY_CANCELLED';
    case 'ENDED':
      return 'NOT_EDITABLE';
  }
}

/** On sale right now: LIVE and `now` inside the half-open window (a late close never shows). */
export const isActiveAt = (event: Timed, now: Date) =>
  event.status === 'LIVE' && event.startsAt.getTime() <= now.getTime() && now.getTime() < event.endsAt.getTime();
