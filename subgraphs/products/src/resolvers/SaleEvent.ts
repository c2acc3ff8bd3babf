import type { ProductsContext } from '../context.js';

/** The representation the router sends: the key plus the `quantity` that `remaining` requires. */
export interface SaleEventRef {
  id: string;
  quantity?: number | null;
}

export const SaleEvent = {
  __resolveReference: (ref: SaleEventRef) => ref,
  remaining: async (event: SaleEventRef, _: unknown, ctx: ProductsContext) => {
    if (typeof event.quantity !== 'number') return null;
    return Math.max(0, event.quantity - (await ctx.loaders.saleSold.load(event.id)));
  },
};
