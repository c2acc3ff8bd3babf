import { describe, expect, it } from 'vitest';
import { MAX_ORDER_TOTAL, OrderTotalTooLargeError, priceOrder } from './pricing.js';

const reserved = (productId: string, quantity: number, unitPrice: number, saleEventId: string | null = null) => ({
  productId,
  quantity,
  unitPrice,
  regularPrice: 10_000,
  saleEventId,
});

describe('priceOrder', () => {
  it('totals the reserved prices in the order of the request', () => {
    const priced = priceOrder(
      [
        { productId: 'b', quantity: 2 },
        { productId: 'a', quantity: 1, saleEventId: 'e1' },
      ],
      [reserved('a', 1, 4_900, 'e1'), reserved('b', 2, 10_000)],
    );
    expect(priced.total).toBe(24_900);
    expect(priced.lines.map((l) => l.productId)).toEqual(['b', 'a']);
  });

  it('refuses a reservation that differs from the request in products, quantities or sale', () => {
    expect(() => priceOrder([{ productId: 'a', quantity: 2 }], [reserved('a', 1, 10_000)])).toThrow(/quantity/);
    expect(() => priceOrder([{ productId: 'a', quantity: 1 }], [reserved('b', 1, 10_000)])).toThrow();
    expect(() => priceOrder([{ productId: 'a', quantity: 1 }], [reserved('a', 1, 4_900, 'e1')])).toThrow(/sale/);
    expect(() => priceOrder([{ productId: 'a', quantity: 1, saleEventId: 'e1' }], [reserved('a', 1, 10_000)])).toThrow(/sale/);
    expect(() => priceOrder([{ productId: 'a', quantity: 1 }], [reserved('a', 1, -5)])).toThrow(/price/);
  });

  it('refuses a total the API could not carry', () => {
    expect(() => priceOrder([{ productId: 'a', quantity: 100 }], [reserved('a', 100, MAX_ORDER_TOTAL)])).toThrow(OrderTotalTooLargeError);
  });
});
