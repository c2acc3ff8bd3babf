import type { EventsContext } from '../context.js';

/** Products owns Product; events only adds `activeSale`, so a reference needs no lookup of its own. */
export const Product = {
  __resolveReference: (ref: { id: string }) => ({ id: ref.id }),
  activeSale: (product: { id: string }, _: unknown, ctx: EventsContext) => ctx.loaders.activeSale.load(product.id),
};
