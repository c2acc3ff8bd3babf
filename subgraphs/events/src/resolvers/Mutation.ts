import type { EventsContext } from '../context.js';
import type { CreateSaleEventInput, UpdateSaleEventInput } from '../sale-event.validation.js';

// The admin check is the service's (principle 5: the subgraph that owns the operation checks the role).
export const Mutation = {
  createSaleEvent: (_: unknown, args: { input: CreateSaleEventInput }, ctx: EventsContext) =>
    ctx.saleEvents.createSaleEvent(ctx.identity, args.input),
  updateSaleEvent: (_: unknown, args: { id: string; input: UpdateSaleEventInput }, ctx: EventsContext) =>
    ctx.saleEvents.updateSaleEvent(ctx.identity, args.id, args.input),
  cancelSaleEvent: (_: unknown, args: { id: string }, ctx: EventsContext) => ctx.saleEvents.cancelSaleEvent(ctx.identity, args.id),
};
