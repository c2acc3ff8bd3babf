import { describe, expect, it } from 'vitest';
import { lockOrder, planReservation, type LockedProduct } from './inventory.rules.js';

const now = new Date('2026-11-25T14:00:00Z');
const product = (id: string, stock: number, extra: Partial<LockedProduct> = {}): LockedProduct => ({
  id,
  price: 10_000,
  stock,
  deletedAt: null,
  saleEventId: null,
  salePrice: null,
  saleEndsAt: null,
  ...extra,
});
const locked = (...products: LockedProduct[]) => new Map(products.map((p) => [p.id, p]));

describe('planReservation', () => {
  it('prices every line at the regular price when all can be served', () => {
    const plan = planReservation(
      [
        { productId: 'b', quantity: 2 },
        { productId: 'a', quantity: 5 },
      ],
      locked(product('a', 5), product('b', 3, { price: 7_000 })),
      now,
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
      locked(product('a', 5), product('b', 3)),
      now,
    );
    expect(plan).toEqual({ ok: false, rejection: { outcome: 'INSUFFICIENT_STOCK', productId: 'b', requested: 4, available: 3 } });
  });

  it('reports unknown and deleted products before any stock problem', () => {
    const lines = [
      { productId: 'a', quantity: 9 },
      { productId: 'gone', quantity: 1 },
    ];
    expect(planReservation(lines, locked(product('a', 1)), now)).toEqual({ ok: false, rejection: { outcome: 'PRODUCT_NOT_FOUND', productId: 'gone' } });
    expect(planReservation(lines, locked(product('a', 1), product('gone', 5, { deletedAt: now })), now)).toMatchObject({
      rejection: { outcome: 'PRODUCT_NOT_FOUND', productId: 'gone' },
    });
  });
});

describe('lockOrder', () => {
  it('sorts and de-duplicates so every transaction locks rows in one global order', () => {
    expect(lockOrder(['c', 'a', 'b', 'a'])).toEqual(['a', 'b', 'c']);
  });
});
