import type { MutationResolvers } from '../generated/graphql.js';

// The admin check is the service's (see the README: the service that owns an operation checks the role).
export const Mutation: MutationResolvers = {
  createProduct: (_, args, ctx) => ctx.products.createProduct(ctx.identity, args.input),
  updateProduct: (_, args, ctx) => ctx.products.updateProduct(ctx.identity, args.id, args.input),
  deleteProduct: (_, args, ctx) => ctx.products.deleteProduct(ctx.identity, args.id),
  adjustStock: (_, args, ctx) => ctx.inventory.adjustStock(ctx.identity, args.productId, args.delta, args.reason),
};
