import type { EventsContext } from '../context.js';
import type { SaleEventsArgs } from '../sale-event.service.js';

export const Query = {
  saleEvent: (_: unknown, args: { id: string }, ctx: EventsContext) => ctx.saleEvents.getSaleEvent(args.id, ctx.loaders.saleEvent),
  saleEvents: (_: unknown, args: SaleEventsArgs, ctx: EventsContext) => ctx.saleEvents.listSaleEvents(args),
};
