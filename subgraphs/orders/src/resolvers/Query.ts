import { requireUser } from '@bth/platform';
import type { OrdersContext } from '../context.js';
import type { OrderStatus } from '../order-status.js';

export const Query = {
  order: (_: unknown, args: { id: string }, ctx: OrdersContext) => ctx.orders.getOrder(requireUser(ctx.identity), args.id, ctx.loaders.order),
  myOrders: (_: unknown, args: { first?: number | null; after?: string | null; status?: OrderStatus | null }, ctx: OrdersContext) =>
    ctx.orders.listOrders(requireUser(ctx.identity).userId, args),
};
