import type { QueryResolvers } from '../generated/graphql.js';

export const Query: QueryResolvers = {
  product: (_, args, ctx) => ctx.products.getProduct(args.id, ctx.loaders.product),
  products: (_, args, ctx) => ctx.products.listProducts(args, ctx.loaders.product),
  // The admin check is the service's.
  inventoryReport: (_, args, ctx) => ctx.inventory.inventoryReport(ctx.identity, args.productIds ?? null),
};
