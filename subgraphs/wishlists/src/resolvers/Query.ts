import { requireUser } from '@bth/platform';
import type { WishlistsContext } from '../context.js';

export const Query = {
  myWishlist: (_: unknown, __: unknown, ctx: WishlistsContext) => ctx.loaders.wishlist.load(requireUser(ctx.identity).userId),
};
