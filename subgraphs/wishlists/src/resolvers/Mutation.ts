import { requireUser } from '@bth/platform';
import type { WishlistsContext } from '../context.js';
import type { ShippingInput } from '../validation.js';

export const Mutation = {
  addToWishlist: (_: unknown, args: { productId: string; quantity: number }, ctx: WishlistsContext) =>
    ctx.wishlists.add(requireUser(ctx.identity), args.productId, args.quantity),
  changeWishlistQuantity: (_: unknown, args: { productId: string; quantity: number }, ctx: WishlistsContext) =>
    ctx.wishlists.changeQuantity(requireUser(ctx.identity), args.productId, args.quantity),
  removeFromWishlist: (_: unknown, args: { productId: string }, ctx: WishlistsContext) =>
    ctx.wishlists.remove(requireUser(ctx.identity), args.productId),
  orderWishlist: (_: unknown, args: { shipping: ShippingInput; idempotencyKey: string }, ctx: WishlistsContext) =>
    ctx.wishlists.order(requireUser(ctx.identity), args.shipping, args.idempotencyKey),
};
