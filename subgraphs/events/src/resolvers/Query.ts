import type { QueryResolvers } from '../generated/graphql.js';

export const Query: QueryResolvers = {
  saleEvent: (_, args, ctx) => ctx.saleEvents.getSaleEvent(args.id, ctx.loaders.saleEvent),
  saleEvents: (_, args, ctx) => ctx.saleEvents.listSaleEvents(args),
};
