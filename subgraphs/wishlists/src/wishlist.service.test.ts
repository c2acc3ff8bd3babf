import { describe, expect, it } from 'vitest';
import type { WishlistItemRow } from './db/schema.js';
import { afterOrder, toWishlistView } from './wishlist.service.js';

const at = new Date('2026-11-25T14:00:00.000Z');
const row = (productId: string, quantity: number): WishlistItemRow => ({ userId: 'u', productId, quantity, addedAt: at, updatedAt: at });

describe('wishlist rules', () => {
  it('When a wishlist is viewed, then totalQuantity is the sum of its items', () => {
    expect(toWishlistView([row('a', 2), row('b', 3)])).toMatchObject({ __typename: 'Wishlist', totalQuantity: 5 });
    expect(toWishlistView([])).toEqual({ __typename: 'Wishlist', items: [], totalQuantity: 0 });
  });

  it('When items were ordered, then exactly the ordered quantities leave; more added meanwhile stays', () => {
    const items = [row('a', 5), row('b', 1), row('c', 4)];
    const ordered = [
      { productId: 'a', quantity: 2 },
      { productId: 'b', quantity: 1 },
      { productId: 'gone', quantity: 1 },
    ];
    expect(afterOrder(items, ordered)).toEqual([
      { productId: 'a', quantity: 3 },
      { productId: 'b', quantity: 0 },
    ]);
  });

  it('When an item was lowered below what was ordered, then it is removed, never negative', () => {
    expect(afterOrder([row('a', 1)], [{ productId: 'a', quantity: 3 }])).toEqual([{ productId: 'a', quantity: 0 }]);
  });
});
