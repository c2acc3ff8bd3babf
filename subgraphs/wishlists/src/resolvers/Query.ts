import { requireUser } from '@bth/platform/identity';
import type { QueryResolvers } from '../generated/graphql.js';

export const Query: QueryResolvers = {
  myWishlist: (_, __, ctx) => ctx.loaders.wishlist.load(requireUser(ctx.identity).userId),
};
