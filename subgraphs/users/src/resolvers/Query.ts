import { isUuid, requireAdmin } from '@bth/platform';
import type { UsersContext } from '../context.js';

export const Query = {
  me: (_: unknown, __: unknown, ctx: UsersContext) => (ctx.identity ? ctx.loaders.user.load(ctx.identity.userId) : null),
  user: (_: unknown, args: { id: string }, ctx: UsersContext) => {
    requireAdmin(ctx.identity);
    return isUuid(args.id) ? ctx.loaders.user.load(args.id) : null;
  },
};
