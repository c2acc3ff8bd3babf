import type { WishlistItemResolvers } from '../generated/graphql.js';

export const WishlistItem: WishlistItemResolvers = {
  // A reference only: the router fetches the product's fields from products in one batched call.
  product: (item) => ({ __typename: 'Product', id: item.productId }),
};
