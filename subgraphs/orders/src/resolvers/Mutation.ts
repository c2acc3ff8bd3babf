import { requireUser } from '@bth/platform';
import type { OrdersContext } from '../context.js';
import type { PaymentMethod, ReturnReason } from '../db/schema.js';
import type { PlaceOrderInput } from '../validation.js';

export const Mutation = {
  // The buyer is always the verified identity; the input has no user field to forge.
  placeOrder: (_: unknown, args: { input: PlaceOrderInput }, ctx: OrdersContext) =>
    ctx.orders.placeOrder(requireUser(ctx.identity).userId, args.input, ctx.deadline),
  payOrder: (_: unknown, args: { orderId: string; method: PaymentMethod; idempotencyKey: string }, ctx: OrdersContext) =>
    ctx.payments.payOrder(requireUser(ctx.identity), args.orderId, args.method, args.idempotencyKey),
  cancelOrder: (_: unknown, args: { orderId: string }, ctx: OrdersContext) => ctx.lifecycle.cancelOrder(requireUser(ctx.identity), args.orderId),
  requestReturn: (_: unknown, args: { orderId: string; reason: ReturnReason }, ctx: OrdersContext) =>
    ctx.lifecycle.requestReturn(requireUser(ctx.identity), args.orderId, args.reason),
};
