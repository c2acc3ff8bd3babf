import { requireUser } from '@bth/platform/identity';
import type { QueryResolvers } from '../generated/graphql.js';

export const Query: QueryResolvers = {
  order: (_, args, ctx) => ctx.orders.getOrder(requireUser(ctx.identity), args.id, ctx.loaders.order),
  myOrders: (_, args, ctx) => ctx.orders.listOrders(requireUser(ctx.identity).userId, args),
};
