import type { UserResolvers } from '../generated/graphql.js';

export const User: UserResolvers = {
  // Nothing to load for the reference itself: `wishlist` below goes through the per-request loader.
  __resolveReference: (ref) => ({ id: ref.id }),
  wishlist: (user, _, ctx) => ctx.wishlists.wishlistOf(ctx.identity, user.id, ctx.loaders.wishlist),
};
