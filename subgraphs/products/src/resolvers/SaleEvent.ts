import type { SaleEventResolvers } from '../generated/graphql.js';

/** The representation the router sends: the key plus the `quantity` that `remaining` requires. */
export interface SaleEventRef {
  id: string;
  quantity?: number | null;
}

export const SaleEvent: SaleEventResolvers = {
  __resolveReference: (ref) => ref,
  remaining: async (event, _, ctx) => {
    if (typeof event.quantity !== 'number') return null;
    return Math.max(0, event.quantity - (await ctx.loaders.saleSold.load(event.id)));
  },
};
