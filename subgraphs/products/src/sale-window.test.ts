import { describe, expect, it } from 'vitest';
import { isSaleLive, liveSale, nextSaleEdge, type SaleWindow } from './sale-window.js';

const START = new Date('2026-11-25T14:00:00.000Z');
const END = new Date('2026-11-25T15:00:00.000Z');
const ms = (date: Date, offset: number) => new Date(date.getTime() + offset);
const window = (extra: Partial<SaleWindow> = {}): SaleWindow => ({
  eventId: 'e1',
  salePrice: 4_900,
  startsAt: START,
  endsAt: END,
  status: 'SCHEDULED',
  ...extra,
});

describe('the sale clock rule', () => {
  it('opens at startsAt and closes at endsAt whether or not sale.started has arrived', () => {
    for (const status of ['SCHEDULED', 'LIVE'] as const) {
      expect(isSaleLive(window({ status }), ms(START, -1))).toBe(false);
      expect(isSaleLive(window({ status }), START)).toBe(true);
      expect(isSaleLive(window({ status }), ms(END, -1))).toBe(true);
      expect(isSaleLive(window({ status }), END)).toBe(false);
    }
  });

  it('never sells an ended or cancelled sale, even inside its window', () => {
    expect(isSaleLive(window({ status: 'ENDED' }), START)).toBe(false);
    expect(isSaleLive(window({ status: 'CANCELLED' }), START)).toBe(false);
  });

  it('picks the live one of back-to-back sales of one product, switching at the shared edge', () => {
    const first = window({ eventId: 'a', status: 'LIVE' });
    const second = window({ eventId: 'b', startsAt: END, endsAt: ms(END, 3_600_000) });
    expect(liveSale([first, second], ms(END, -1))?.eventId).toBe('a');
    expect(liveSale([first, second], END)?.eventId).toBe('b');
    expect(liveSale([first, second], ms(END, 3_600_000))).toBeUndefined();
  });

  it('names the next instant a cached "on sale" answer stops being true', () => {
    const sales = [window(), window({ eventId: 'c', status: 'CANCELLED', startsAt: ms(START, -60_000) })];
    expect(nextSaleEdge(sales, ms(START, -120_000))).toEqual(START);
    expect(nextSaleEdge(sales, START)).toEqual(END);
    expect(nextSaleEdge(sales, END)).toBeNull();
  });
});
