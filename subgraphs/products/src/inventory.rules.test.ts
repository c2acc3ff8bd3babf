import { describe, expect, it } from 'vitest';
import { isSaleLive, lockOrder, planReservation, type LockedProduct, type ReservationContext, type SaleState } from './inventory.rules.js';

const now = new Date('2026-11-25T14:30:00Z');
const product = (id: string, stock: number, extra: Partial<LockedProduct> = {}): LockedProduct => ({
  id,
  price: 10_000,
  stock,
  deletedAt: null,
  ...extra,
});
const sale = (extra: Partial<SaleState> = {}): SaleState => ({
  eventId: 'e1',
  productId: 'a',
  salePrice: 4_900,
  quantity: 10,
  perUserLimit: 2,
  startsAt: new Date('2026-11-25T14:00:00Z'),
  endsAt: new Date('2026-11-25T15:00:00Z'),
  status: 'LIVE',
  sold: 0,
  ...extra,
});
const ctx = (products: LockedProduct[], sales: SaleState[] = [], purchased: Record<string, number> = {}): ReservationContext => ({
  products: new Map(products.map((p) => [p.id, p])),
  sales: new Map(sales.map((s) => [s.eventId, s])),
  purchased: new Map(Object.entries(purchased)),
  now,
});

describe('planReservation', () => {
  it('prices every line at the regular price when all can be served', () => {
    const plan = planReservation(
      [
        { productId: 'b', quantity: 2 },
        { productId: 'a', quantity: 5 },
      ],
      ctx([product('a', 5), product('b', 3, { price: 7_000 })]),
    );
    expect(plan).toEqual({
      ok: true,
      lines: [
        { productId: 'b', quantity: 2, unitPrice: 7_000, regularPrice: 7_000, saleEventId: null },
        { productId: 'a', quantity: 5, unitPrice: 10_000, regularPrice: 10_000, saleEventId: null },
      ],
    });
  });

  it('rejects the whole order on the first short line, with what is available', () => {
    const plan = planReservation(
      [
        { productId: 'a', quantity: 1 },
        { productId: 'b', quantity: 4 },
      ],
      ctx([product('a', 5), product('b', 3)]),
    );
    expect(plan).toEqual({ ok: false, rejection: { outcome: 'INSUFFICIENT_STOCK', productId: 'b', requested: 4, available: 3 } });
  });

  it('reports unknown and deleted products before any stock problem', () => {
    const lines = [
      { productId: 'a', quantity: 9 },
      { productId: 'gone', quantity: 1 },
    ];
    expect(planReservation(lines, ctx([product('a', 1)]))).toEqual({
      ok: false,
      rejection: { outcome: 'PRODUCT_NOT_FOUND', productId: 'gone' },
    });
    expect(planReservation(lines, ctx([product('a', 1), product('gone', 5, { deletedAt: now })]))).toMatchObject({
      rejection: { outcome: 'PRODUCT_NOT_FOUND', productId: 'gone' },
    });
  });
});

describe('planReservation with a sale', () => {
  it('charges the sale price for a line that names the live sale', () => {
    const plan = planReservation([{ productId: 'a', quantity: 2, saleEventId: 'e1' }], ctx([product('a', 50)], [sale()]));
    expect(plan).toEqual({ ok: true, lines: [{ productId: 'a', quantity: 2, unitPrice: 4_900, regularPrice: 10_000, saleEventId: 'e1' }] });
  });

  it('refuses a sale that is not live: unknown, not started, over, cancelled, or of another product', () => {
    const line = { productId: 'a', quantity: 1, saleEventId: 'e1' };
    const refused = { ok: false, rejection: { outcome: 'SALE_NOT_LIVE', productId: 'a', saleEventId: 'e1' } };
    expect(planReservation([line], ctx([product('a', 50)]))).toEqual(refused);
    expect(planReservation([line], ctx([product('a', 50)], [sale({ startsAt: new Date('2026-11-25T14:31:00Z') })]))).toEqual(refused);
    expect(planReservation([line], ctx([product('a', 50)], [sale({ endsAt: now })]))).toEqual(refused);
    expect(planReservation([line], ctx([product('a', 50)], [sale({ status: 'CANCELLED' })]))).toEqual(refused);
    expect(planReservation([line], ctx([product('a', 50)], [sale({ productId: 'b' })]))).toEqual(refused);
  });

  it('holds each member to the per-member limit across their orders', () => {
    const line = { productId: 'a', quantity: 1, saleEventId: 'e1' };
    expect(planReservation([line], ctx([product('a', 50)], [sale()], { e1: 1 }))).toMatchObject({ ok: true });
    expect(planReservation([line], ctx([product('a', 50)], [sale()], { e1: 2 }))).toEqual({
      ok: false,
      rejection: { outcome: 'PURCHASE_LIMIT_EXCEEDED', productId: 'a', saleEventId: 'e1', limit: 2, alreadyPurchased: 2 },
    });
  });

  it('says how many sale units are left when too few are, even if regular stock remains', () => {
    expect(planReservation([{ productId: 'a', quantity: 2, saleEventId: 'e1' }], ctx([product('a', 50)], [sale({ sold: 9 })]))).toEqual({
      ok: false,
      rejection: { outcome: 'SALE_SOLD_OUT', productId: 'a', saleEventId: 'e1', requested: 2, remaining: 1 },
    });
  });

  it('keeps unsold sale units for sale buyers: a regular line gets only the rest of the stock while the sale runs', () => {
    const running = [sale({ quantity: 10, sold: 4 })];
    expect(planReservation([{ productId: 'a', quantity: 14 }], ctx([product('a', 20)], running))).toMatchObject({ ok: true });
    expect(planReservation([{ productId: 'a', quantity: 15 }], ctx([product('a', 20)], running))).toEqual({
      ok: false,
      rejection: { outcome: 'INSUFFICIENT_STOCK', productId: 'a', requested: 15, available: 14 },
    });
    // Once the sale is over, all of the stock sells at the regular price again.
    expect(planReservation([{ productId: 'a', quantity: 20 }], ctx([product('a', 20)], [sale({ status: 'ENDED' })]))).toMatchObject({
      ok: true,
    });
  });

  it('refuses a sale line when the shelf holds fewer units than the sale has left', () => {
    expect(planReservation([{ productId: 'a', quantity: 2, saleEventId: 'e1' }], ctx([product('a', 1)], [sale()]))).toEqual({
      ok: false,
      rejection: { outcome: 'INSUFFICIENT_STOCK', productId: 'a', requested: 2, available: 1 },
    });
  });
});

describe('isSaleLive', () => {
  it('is live from startsAt inclusive to endsAt exclusive, and only while SCHEDULED or LIVE', () => {
    const s = sale();
    expect(isSaleLive(s, s.startsAt)).toBe(true);
    expect(isSaleLive(s, new Date(s.endsAt.getTime() - 1))).toBe(true);
    expect(isSaleLive(s, s.endsAt)).toBe(false);
    expect(isSaleLive({ ...s, status: 'ENDED' }, now)).toBe(false);
    expect(isSaleLive({ ...s, status: 'CANCELLED' }, now)).toBe(false);
  });
});

describe('a sale products learned of when it was scheduled (no sale.started yet)', () => {
  const scheduled = sale({ status: 'SCHEDULED' });
  const at = (date: Date, offset = 0) => ({ ...ctx([product('a', 20)], [scheduled]), now: new Date(date.getTime() + offset) });
  const line = [{ productId: 'a', quantity: 1, saleEventId: 'e1' }];

  it('sells at the sale price from startsAt to just before endsAt, by the clock alone', () => {
    expect(planReservation(line, at(scheduled.startsAt, -1))).toEqual({
      ok: false,
      rejection: { outcome: 'SALE_NOT_LIVE', productId: 'a', saleEventId: 'e1' },
    });
    expect(planReservation(line, at(scheduled.startsAt))).toMatchObject({ ok: true, lines: [{ unitPrice: 4_900, saleEventId: 'e1' }] });
    expect(planReservation(line, at(scheduled.endsAt, -1))).toMatchObject({ ok: true, lines: [{ unitPrice: 4_900 }] });
    expect(planReservation(line, at(scheduled.endsAt))).toEqual({
      ok: false,
      rejection: { outcome: 'SALE_NOT_LIVE', productId: 'a', saleEventId: 'e1' },
    });
  });

  it('holds its unsold units back from regular lines only inside the window', () => {
    const regular = [{ productId: 'a', quantity: 15 }];
    expect(planReservation(regular, at(scheduled.startsAt, -1))).toMatchObject({ ok: true });
    expect(planReservation(regular, at(scheduled.startsAt))).toMatchObject({
      ok: false,
      rejection: { outcome: 'INSUFFICIENT_STOCK', available: 10 },
    });
    expect(planReservation(regular, at(scheduled.endsAt))).toMatchObject({ ok: true });
  });
});

describe('lockOrder', () => {
  it('sorts and de-duplicates so every transaction locks rows in one global order', () => {
    expect(lockOrder(['c', 'a', 'b', 'a'])).toEqual(['a', 'b', 'c']);
  });
});
