import { requireUser } from '@bth/platform/identity';
import type { MutationResolvers } from '../generated/graphql.js';

export const Mutation: MutationResolvers = {
  addToWishlist: (_, args, ctx) => ctx.wishlists.add(requireUser(ctx.identity), args.productId, args.quantity),
  changeWishlistQuantity: (_, args, ctx) => ctx.wishlists.changeQuantity(requireUser(ctx.identity), args.productId, args.quantity),
  removeFromWishlist: (_, args, ctx) => ctx.wishlists.remove(requireUser(ctx.identity), args.productId),
  orderWishlist: (_, args, ctx) => ctx.wishlists.order(requireUser(ctx.identity), args.shipping, args.idempotencyKey),
};
