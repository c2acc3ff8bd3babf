import type { ProductsContext } from '../context.js';
import { isOnSale, type ProductView } from '../product.model.js';

/** Sale fields show only while the sale is live (a cached row may outlive the sale's end). */
export const Product = {
  __resolveReference: (ref: { id: string }, ctx: ProductsContext) => ctx.products.getProduct(ref.id, ctx.loaders.product),
  salePrice: (product: ProductView) => (isOnSale(product, new Date()) ? product.salePrice : null),
  saleEndsAt: (product: ProductView) => (isOnSale(product, new Date()) ? product.saleEndsAt : null),
};
