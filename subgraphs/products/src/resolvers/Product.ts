import type { ProductsContext } from '../context.js';
import { currentSale, type ProductView } from '../product.model.js';

/** Sale fields by the clock at read time (a cached view carries the windows, not a price). */
export const Product = {
  __resolveReference: (ref: { id: string }, ctx: ProductsContext) => ctx.products.getProduct(ref.id, ctx.loaders.product),
  salePrice: (product: ProductView) => currentSale(product, new Date())?.salePrice ?? null,
  saleEndsAt: (product: ProductView) => currentSale(product, new Date())?.endsAt ?? null,
};
