import type { WishlistItemView } from '../wishlist.service.js';

export const WishlistItem = {
  // A reference only: the router fetches the product's fields from products in one batched call.
  product: (item: WishlistItemView) => ({ __typename: 'Product' as const, id: item.productId }),
};
