import { describe, expect, it } from 'vitest';
import { isOnSale, parseProduct, toProductView } from './product.model.js';
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
  saleEventId: 'e0b1c9d2-0000-4000-8000-000000000001',
  salePrice: 9_900,
  saleEndsAt: new Date('2026-11-25T15:00:00Z'),
  createdAt: now,
  updatedAt: now,
  deletedAt: null,
  live: 1,
};

describe('product model', () => {
  it('a sale is live until its end passes, and only with a price and an event', () => {
    expect(isOnSale(row, now)).toBe(true);
    expect(isOnSale(row, new Date('2026-11-25T15:00:00Z'))).toBe(false);
    expect(isOnSale({ ...row, salePrice: null }, now)).toBe(false);
    expect(isOnSale({ ...row, saleEventId: null }, now)).toBe(false);
    expect(isOnSale({ ...row, saleEndsAt: null }, now)).toBe(true);
  });

  it('round-trips through the cached JSON form with dates revived', () => {
    const view = toProductView(row);
    expect(view).not.toHaveProperty('deletedAt');
    expect(view).not.toHaveProperty('live');
    expect(parseProduct(JSON.parse(JSON.stringify(view)))).toEqual(view);
    expect(parseProduct(JSON.parse(JSON.stringify({ ...view, saleEndsAt: null }))).saleEndsAt).toBeNull();
  });
});
