import type { OrdersContext } from '../context.js';
import type { OrderView } from '../order.model.js';

export const Order = {
  /** Entity fetch from another subgraph: same rule as `order(id)`, but null instead of an error. */
  __resolveReference: (ref: { id: string }, ctx: OrdersContext): Promise<OrderView | null> | null =>
    ctx.identity ? ctx.orders.findVisibleOrder(ctx.identity, ref.id, ctx.loaders.order) : null,
  lines: (order: OrderView, _: unknown, ctx: OrdersContext) => ctx.loaders.lines.load(order.id),
  history: (order: OrderView, _: unknown, ctx: OrdersContext) => ctx.loaders.events.load(order.id),
  payment: async (order: OrderView, _: unknown, ctx: OrdersContext) => {
    const payment = await ctx.loaders.payment.load(order.id);
    return payment ? { method: payment.method, amount: payment.amount, paidAt: payment.updatedAt } : null;
  },
  refund: async (order: OrderView, _: unknown, ctx: OrdersContext) => {
    const refund = await ctx.loaders.refund.load(order.id);
    return refund ? { amount: refund.amount, reason: refund.reason, refundedAt: refund.createdAt } : null;
  },
};
