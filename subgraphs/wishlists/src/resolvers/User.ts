import type { WishlistsContext } from '../context.js';
import type { WishlistView } from '../wishlist.service.js';

export const User = {
  // Nothing to load for the reference itself: `wishlist` below goes through the per-request loader.
  __resolveReference: (ref: { id: string }) => ({ id: ref.id }),
  /** A wishlist is private: only its owner sees it, never another member (admins included). */
  wishlist: (user: { id: string }, _: unknown, ctx: WishlistsContext): Promise<WishlistView> | null =>
    ctx.identity?.userId === user.id ? ctx.loaders.wishlist.load(user.id) : null,
};
