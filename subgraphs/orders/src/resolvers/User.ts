import type { OrdersContext } from '../context.js';

export const User = {
  __resolveReference: (ref: { id: string }) => ({ id: ref.id }),
  /** Only the member sees their orders; for anyone else (admins included) the field is null. */
  orders: (user: { id: string }, args: { first?: number | null; after?: string | null }, ctx: OrdersContext) =>
    ctx.identity?.userId === user.id ? ctx.orders.listOrders(user.id, args) : null,
};
