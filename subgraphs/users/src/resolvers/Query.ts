import type { QueryResolvers } from '../generated/graphql.js';

export const Query: QueryResolvers = {
  me: (_, __, ctx) => (ctx.identity ? ctx.loaders.user.load(ctx.identity.userId) : null),
  user: (_, args, ctx) => ctx.users.getUser(ctx.identity, args.id, ctx.loaders.user),
};
