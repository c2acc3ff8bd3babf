import type { WishlistOrderPlacedResolvers } from '../generated/graphql.js';

export const WishlistOrderPlaced: WishlistOrderPlacedResolvers = {
  // A reference only: the order's fields come from the orders subgraph through the router.
  order: (placed) => ({ __typename: 'Order', id: placed.orderId }),
};
