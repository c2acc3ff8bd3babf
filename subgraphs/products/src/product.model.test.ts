import { describe, expect, it } from 'vitest';
import { currentSale, isOnSale, parseProduct, toProductView } from './product.model.js';
import type { ProductRow } from './db/schema.js';

const now = new Date('2026-11-25T14:00:00Z');
const row: ProductRow = {
  id: '0b7c4c9e-8f5a-4d59-9a43-2f1b6a1d9e10',
  name: 'Lutein',
  producer: 'Eye Co',
  price: 15_000,
  function: 'EYE_HEALTH',
  type: 'CAPSULE',
  nutritionFacts: null,
  stock: 3,
  salesUntil: new Date('2026-11-25T15:00:00Z'),
  soldOutMarked: 0,
  createdAt: now,
  updatedAt: now,
  deletedAt: null,
  live: 1,
};
const sale = {
  eventId: 'e0b1c9d2-0000-4000-8000-000000000001',
  salePrice: 9_900,
  startsAt: now,
  endsAt: new Date('2026-11-25T15:00:00Z'),
  status: 'SCHEDULED' as const,
};

describe('product model', () => {
  it('shows a sale price from the window by the clock, so a cached view needs no refresh at either edge', () => {
    const view = toProductView(row, [sale]);
    expect(isOnSale(view, new Date(now.getTime() - 1))).toBe(false);
    expect(currentSale(view, now)?.salePrice).toBe(9_900);
    expect(isOnSale(view, new Date('2026-11-25T15:00:00Z'))).toBe(false);
    expect(isOnSale({ sales: [{ ...sale, status: 'CANCELLED' }] }, now)).toBe(false);
    expect(isOnSale(toProductView(row, []), now)).toBe(false);
  });

  it('round-trips through the cached JSON form with dates revived', () => {
    const view = toProductView(row, [sale]);
    expect(view).not.toHaveProperty('deletedAt');
    expect(view).not.toHaveProperty('live');
    expect(view).not.toHaveProperty('salesUntil');
    expect(view).not.toHaveProperty('soldOutMarked');
    expect(parseProduct(JSON.parse(JSON.stringify(view)))).toEqual(view);
  });
});
