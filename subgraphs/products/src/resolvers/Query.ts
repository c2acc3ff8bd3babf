import type { ProductsContext } from '../context.js';
import type { ProductsArgs } from '../product.service.js';

export const Query = {
  product: (_: unknown, args: { id: string }, ctx: ProductsContext) => ctx.products.getProduct(args.id, ctx.loaders.product),
  products: (_: unknown, args: ProductsArgs, ctx: ProductsContext) => ctx.products.listProducts(args, ctx.loaders.product),
  inventoryReport: (_: unknown, args: { productIds?: string[] | null }, ctx: ProductsContext) =>
    ctx.inventory.inventoryReport(ctx.identity, args.productIds ?? null),
};
