import type { EventsContext } from '../context.js';
import type { SaleEventView } from '../sale-event.model.js';

export const SaleEvent = {
  /** Entity fetch (products' `remaining` needs `quantity`): batched with every other event of the request. */
  __resolveReference: (ref: { id: string }, ctx: EventsContext) => ctx.saleEvents.getSaleEvent(ref.id, ctx.loaders.saleEvent),
  product: (event: SaleEventView) => ({ __typename: 'Product' as const, id: event.productId }),
};
