import { requireUser } from '@bth/platform/identity';
import type { MutationResolvers } from '../generated/graphql.js';

export const Mutation: MutationResolvers = {
  // The buyer is always the verified identity; the input has no user field to forge.
  placeOrder: (_, args, ctx) => ctx.orders.placeOrder(requireUser(ctx.identity).userId, args.input, ctx.deadline),
  payOrder: (_, args, ctx) => ctx.payments.payOrder(requireUser(ctx.identity), args.orderId, args.method, args.idempotencyKey),
  cancelOrder: (_, args, ctx) => ctx.lifecycle.cancelOrder(requireUser(ctx.identity), args.orderId),
  requestReturn: (_, args, ctx) => ctx.lifecycle.requestReturn(requireUser(ctx.identity), args.orderId, args.reason),
};
