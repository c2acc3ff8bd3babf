import { describe, expect, it } from 'vitest';
import { readPlaceOrderResult } from './orders.client.js';

describe('reading orders’ PlaceOrderResult', () => {
  it('When orders answers a wrapper with the order and its lines, then it is placed with those lines', () => {
    const result = { __typename: 'OrderPlaced', order: { id: 'o-1', lines: [{ productId: 'p-1', quantity: 2, unitPrice: 1000 }] } };
    expect(readPlaceOrderResult(result)).toEqual({ placed: true, orderId: 'o-1', lines: [{ productId: 'p-1', quantity: 2 }] });
  });

  it('When orders answers the Order itself without lines, then it is placed and the sent lines will be used', () => {
    expect(readPlaceOrderResult({ __typename: 'Order', id: 'o-2' })).toEqual({ placed: true, orderId: 'o-2', lines: null });
  });

  it('When orders refuses, then the reason is its result type and the product is kept', () => {
    expect(readPlaceOrderResult({ __typename: 'InsufficientStock', productId: 'p-9', requested: 5, available: 1 })).toEqual({
      placed: false,
      reason: 'InsufficientStock',
      productId: 'p-9',
      message: null,
    });
  });

  it('When orders answers InventoryUnavailable, then it is "not now", not a refusal', () => {
    const result = { __typename: 'InventoryUnavailable', message: 'Inventory is unavailable', retryable: true, retryAfterSeconds: 5 };
    expect(readPlaceOrderResult(result)).toEqual({ unavailable: true, message: 'Inventory is unavailable', retryAfterSeconds: 5 });
  });

  it('When the result has no __typename, then it is unreadable', () => {
    expect(readPlaceOrderResult({ order: { id: 'o-3' } })).toBeNull();
    expect(readPlaceOrderResult(undefined)).toBeNull();
  });
});
