import type { OrderResolvers } from '../generated/graphql.js';

export const Order: OrderResolvers = {
  /** Entity fetch from another subgraph: same rule as `order(id)`, but null instead of an error. */
  __resolveReference: (ref, ctx) => (ctx.identity ? ctx.orders.findVisibleOrder(ctx.identity, ref.id, ctx.loaders.order) : null),
  lines: (order, _, ctx) => ctx.loaders.lines.load(order.id),
  history: (order, _, ctx) => ctx.loaders.events.load(order.id),
  payment: async (order, _, ctx) => {
    const payment = await ctx.loaders.payment.load(order.id);
    return payment ? { method: payment.method, amount: payment.amount, paidAt: payment.updatedAt } : null;
  },
  refund: async (order, _, ctx) => {
    const refund = await ctx.loaders.refund.load(order.id);
    return refund ? { amount: refund.amount, reason: refund.reason, refundedAt: refund.createdAt } : null;
  },
};
