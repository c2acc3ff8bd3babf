import type { WishlistOrderPlacedView as Placed } from '../wishlist.service.js';

export const WishlistOrderPlaced = {
  // A reference only: the order's fields come from the orders subgraph through the router.
  order: (placed: Placed) => ({ __typename: 'Order' as const, id: placed.orderId }),
};
