import type { MutationResolvers } from '../generated/graphql.js';

// The admin check is the service's (see the README: the service that owns an operation checks the role).
export const Mutation: MutationResolvers = {
  createSaleEvent: (_, args, ctx) => ctx.saleEvents.createSaleEvent(ctx.identity, args.input),
  updateSaleEvent: (_, args, ctx) => ctx.saleEvents.updateSaleEvent(ctx.identity, args.id, args.input),
  cancelSaleEvent: (_, args, ctx) => ctx.saleEvents.cancelSaleEvent(ctx.identity, args.id),
};
