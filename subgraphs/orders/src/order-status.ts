/**
 * The order state machine. Every status change in the repository is checked against this table,
 * so a bug cannot, say, ship a cancelled order; the SQL then makes each change conditional on the
 * status it read, so two instances never apply one transition twice.
 *
 *   PENDING ──reserved──▶ AWAITING_PAYMENT ──paid──▶ PAID ──▶ SHIPPING ──▶ DELIVERED ──▶ RETURN_REQUESTED ──▶ RETURNED
 *      │ refused ▶ REJECTED      │ unpaid ▶ EXPIRED     │
 *      │ unreachable ▶ FAILED    └──── cancel ─────────┴──▶ CANCELLING ──▶ CANCELLED
 *
 * CANCELLING is the one intermediate state: a cancel has two outside effects (release the stock,
 * refund the payment), and the order must stop being payable or shippable *before* the first of
 * them, durably, so that neither a crash nor a failed commit can leave a payable or shippable
 * order whose stock was already given back. The scheduler finishes what a request could not.
 */
export const ORDER_STATUSES = [
  'PENDING',
  'AWAITING_PAYMENT',
  'PAID',
  'SHIPPING',
  'DELIVERED',
  'RETURN_REQUESTED',
  'RETURNED',
  'CANCELLING',
  'CANCELLED',
  'EXPIRED',
  'REJECTED',
  'FAILED',
] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

export const TRANSITIONS: Readonly<Record<OrderStatus, readonly OrderStatus[]>> = {
  PENDING: ['AWAITING_PAYMENT', 'REJECTED', 'FAILED'],
  AWAITING_PAYMENT: ['PAID', 'CANCELLING', 'EXPIRED'],
  PAID: ['SHIPPING', 'CANCELLING'],
  SHIPPING: ['DELIVERED'],
  DELIVERED: ['RETURN_REQUESTED'],
  RETURN_REQUESTED: ['RETURNED'],
  RETURNED: [],
  CANCELLING: ['CANCELLED'],
  CANCELLED: [],
  EXPIRED: [],
  REJECTED: [],
  FAILED: [],
};

export const canTransition = (from: OrderStatus, to: OrderStatus): boolean => TRANSITIONS[from].includes(to);

export const isOrderStatus = (value: string): value is OrderStatus => (ORDER_STATUSES as readonly string[]).includes(value);

/** Statuses in which the order's stock is held by inventory (reserved and not yet given back). */
export const HOLDS_STOCK: ReadonlySet<OrderStatus> = new Set([
  'AWAITING_PAYMENT',
  'PAID',
  'SHIPPING',
  'DELIVERED',
  'RETURN_REQUESTED',
  'CANCELLING',
]);

export const isCancellable = (status: OrderStatus): boolean => canTransition(status, 'CANCELLING');

export type ReturnRefusal = 'NOT_DELIVERED' | 'WINDOW_CLOSED' | 'ALREADY_REQUESTED';

/** Whether a return may be requested now; one per order, within the window after delivery. */
export function checkReturn(
  order: { status: OrderStatus; deliveredAt: Date | null },
  now: Date,
  windowSeconds: number,
): { ok: true } | { ok: false; reason: ReturnRefusal } {
  if (order.status === 'RETURN_REQUESTED' || order.status === 'RETURNED') return { ok: false, reason: 'ALREADY_REQUESTED' };
  if (order.status !== 'DELIVERED' || !order.deliveredAt) return { ok: false, reason: 'NOT_DELIVERED' };
  if (now.getTime() - order.deliveredAt.getTime() > windowSeconds * 1000) return { ok: false, reason: 'WINDOW_CLOSED' };
  return { ok: true };
}
