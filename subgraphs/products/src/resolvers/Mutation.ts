import type { ProductsContext } from '../context.js';
import type { AdjustStockResult } from '../inventory.service.js';
import type { SaveProductResult } from '../product.service.js';
import type { CreateProductInput, UpdateProductInput } from '../product.validation.js';

/** Business outcomes become the union members of the schema (`__typename` picks the member). */
const saved = (result: SaveProductResult) =>
  result.kind === 'SAVED'
    ? { __typename: 'Product' as const, ...result.product }
    : {
        __typename: 'DuplicateProduct' as const,
        message: `A product named "${result.name}" by ${result.producer} already exists`,
        name: result.name,
        producer: result.producer,
        existingProductId: result.existingProductId,
      };

const adjusted = (result: AdjustStockResult) =>
  result.kind === 'ADJUSTED'
    ? { __typename: 'Product' as const, ...result.product }
    : {
        __typename: 'StockBelowZero' as const,
        message: `Only ${result.stock} units are on the shelf; removing ${-result.delta} would go below zero`,
        productId: result.productId,
        stock: result.stock,
        delta: result.delta,
      };

export const Mutation = {
  createProduct: async (_: unknown, args: { input: CreateProductInput }, ctx: ProductsContext) =>
    saved(await ctx.products.createProduct(ctx.identity, args.input)),
  updateProduct: async (_: unknown, args: { id: string; input: UpdateProductInput }, ctx: ProductsContext) =>
    saved(await ctx.products.updateProduct(ctx.identity, args.id, args.input)),
  deleteProduct: (_: unknown, args: { id: string }, ctx: ProductsContext) => ctx.products.deleteProduct(ctx.identity, args.id),
  adjustStock: async (_: unknown, args: { productId: string; delta: number; reason: string }, ctx: ProductsContext) =>
    adjusted(await ctx.inventory.adjustStock(ctx.identity, args.productId, args.delta, args.reason)),
};
