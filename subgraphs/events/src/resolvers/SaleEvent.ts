import type { SaleEventResolvers } from '../generated/graphql.js';

export const SaleEvent: SaleEventResolvers = {
  /** Entity fetch (products' `remaining` needs `quantity`): batched with every other event of the request. */
  __resolveReference: (ref, ctx) => ctx.saleEvents.getSaleEvent(ref.id, ctx.loaders.saleEvent),
  product: (event) => ({ __typename: 'Product', id: event.productId }),
};
