import type { ProductResolvers } from '../generated/graphql.js';

/** Products owns Product; events only adds `activeSale`, so a reference needs no lookup of its own. */
export const Product: ProductResolvers = {
  __resolveReference: (ref) => ({ id: ref.id }),
  activeSale: (product, _, ctx) => ctx.loaders.activeSale.load(product.id),
};
