import { describe, expect, it } from 'vitest';
import { HOLDS_STOCK, ORDER_STATUSES, canTransition, checkReturn, isCancellable, isOrderStatus, type OrderStatus } from './order-status.js';

// The machine written out a second time, on purpose: a change to TRANSITIONS must change this
// list too, so no edge is added or lost by accident. Every other pair must be refused.
const ALLOWED: ReadonlyArray<[OrderStatus, OrderStatus]> = [
  ['PENDING', 'AWAITING_PAYMENT'],
  ['PENDING', 'REJECTED'],
  ['PENDING', 'FAILED'],
  ['AWAITING_PAYMENT', 'PAID'],
  ['AWAITING_PAYMENT', 'CANCELLING'],
  ['AWAITING_PAYMENT', 'EXPIRED'],
  ['PAID', 'SHIPPING'],
  ['PAID', 'CANCELLING'],
  ['SHIPPING', 'DELIVERED'],
  ['DELIVERED', 'RETURN_REQUESTED'],
  ['RETURN_REQUESTED', 'RETURNED'],
  ['CANCELLING', 'CANCELLED'],
];
const allowed = new Set(ALLOWED.map(([from, to]) => `${from}→${to}`));
const ALL_PAIRS = ORDER_STATUSES.flatMap((from) => ORDER_STATUSES.map((to) => [from, to] as [OrderStatus, OrderStatus]));

describe('order state machine', () => {
  it.each(ALLOWED)('allows %s → %s', (from, to) => {
    expect(canTransition(from, to)).toBe(true);
  });

  it.each(ALL_PAIRS.filter(([from, to]) => !allowed.has(`${from}→${to}`)))('refuses %s → %s', (from, to) => {
    expect(canTransition(from, to)).toBe(false);
  });

  it('has twelve statuses and ends in the five final ones', () => {
    expect(ORDER_STATUSES).toHaveLength(12);
    const final = ORDER_STATUSES.filter((s) => ORDER_STATUSES.every((to) => !canTransition(s, to)));
    expect(final.sort()).toEqual(['CANCELLED', 'EXPIRED', 'FAILED', 'REJECTED', 'RETURNED']);
  });

  it('lets only an unpaid or a paid order be cancelled (a shipped one can only be returned)', () => {
    expect(ORDER_STATUSES.filter(isCancellable)).toEqual(['AWAITING_PAYMENT', 'PAID']);
  });

  it('says stock is held from reservation until it is given back', () => {
    expect([...HOLDS_STOCK].sort()).toEqual(['AWAITING_PAYMENT', 'CANCELLING', 'DELIVERED', 'PAID', 'RETURN_REQUESTED', 'SHIPPING']);
    // Every status that holds stock leads, by some path, to one that gave it back.
    for (const status of HOLDS_STOCK) {
      const reachable = new Set<OrderStatus>([status]);
      for (const from of reachable) {
        // A Set iterates over what is added while iterating: a breadth-first walk.
        for (const to of ORDER_STATUSES) if (canTransition(from, to)) reachable.add(to);
      }
      expect([...reachable].some((s) => !HOLDS_STOCK.has(s) && s !== 'PENDING')).toBe(true);
    }
  });

  it('knows its own statuses and nothing else', () => {
    for (const status of ORDER_STATUSES) expect(isOrderStatus(status)).toBe(true);
    expect(isOrderStatus('paid')).toBe(false);
    expect(isOrderStatus('SHIPPED')).toBe(false);
  });
});

describe('checkReturn', () => {
  const delivered = new Date('2026-01-01T00:00:00Z');
  const after = (seconds: number) => new Date(delivered.getTime() + seconds * 1000);
  const WINDOW = 86_400;

  it('allows a delivered order inside the window, up to its last millisecond', () => {
    expect(checkReturn({ status: 'DELIVERED', deliveredAt: delivered }, after(0), WINDOW)).toEqual({ ok: true });
    expect(checkReturn({ status: 'DELIVERED', deliveredAt: delivered }, after(WINDOW), WINDOW)).toEqual({ ok: true });
  });

  it('refuses after the window with WINDOW_CLOSED', () => {
    expect(checkReturn({ status: 'DELIVERED', deliveredAt: delivered }, after(WINDOW + 0.001), WINDOW)).toEqual({
      ok: false,
      reason: 'WINDOW_CLOSED',
    });
  });

  it('refuses a second return with ALREADY_REQUESTED, whatever the time', () => {
    for (const status of ['RETURN_REQUESTED', 'RETURNED'] as const) {
      expect(checkReturn({ status, deliveredAt: delivered }, after(1), WINDOW)).toEqual({ ok: false, reason: 'ALREADY_REQUESTED' });
    }
  });

  it('refuses every other status, and a delivered order without a delivery time, with NOT_DELIVERED', () => {
    for (const status of ORDER_STATUSES.filter((s) => !['DELIVERED', 'RETURN_REQUESTED', 'RETURNED'].includes(s))) {
      expect(checkReturn({ status, deliveredAt: delivered }, after(1), WINDOW)).toEqual({ ok: false, reason: 'NOT_DELIVERED' });
    }
    expect(checkReturn({ status: 'DELIVERED', deliveredAt: null }, after(1), WINDOW)).toEqual({ ok: false, reason: 'NOT_DELIVERED' });
  });
});
