import type { ProductResolvers } from '../generated/graphql.js';
import { currentSale } from '../product.model.js';

/** Sale fields by the clock at read time (a cached view carries the windows, not a price). */
export const Product: ProductResolvers = {
  __resolveReference: (ref, ctx) => ctx.products.getProduct(ref.id, ctx.loaders.product),
  salePrice: (product) => currentSale(product, new Date())?.salePrice ?? null,
  saleEndsAt: (product) => currentSale(product, new Date())?.endsAt ?? null,
};
