import type { UsersContext } from '../context.js';
import type { UserResolvers } from '../generated/graphql.js';
import type { UserView } from '../users.service.js';

/** Private fields resolve to null unless the caller is the member or an admin. */
const privately =
  <T>(pick: (user: UserView) => T) =>
  (user: UserView, _: unknown, ctx: UsersContext): T | null =>
    ctx.users.canSeePrivate(ctx.identity, user) ? pick(user) : null;

export const User: UserResolvers = {
  __resolveReference: (ref, ctx) => ctx.loaders.user.load(ref.id),
  email: privately((u) => u.email),
  name: privately((u) => u.name),
  phone: privately((u) => u.phone),
  role: privately((u) => u.role),
  address: privately((u) => ({ postalCode: u.postalCode, address: u.address })),
};
