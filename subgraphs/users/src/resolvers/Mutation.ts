import { requireUser } from '@bth/platform/identity';
import type { MutationResolvers } from '../generated/graphql.js';

export const Mutation: MutationResolvers = {
  requestEmailVerification: (_, args, ctx) => ctx.verification.request(args.email),
  verifyEmail: (_, args, ctx) => ctx.verification.verify(args.email, args.code),
  signUp: async (_, args, ctx) => ctx.users.toView(await ctx.auth.signUp(args.input)),
  login: async (_, args, ctx) => {
    const tokens = await ctx.auth.login(args.email, args.password);
    return { ...tokens, user: ctx.users.toView(tokens.user) };
  },
  refreshSession: async (_, args, ctx) => {
    const tokens = await ctx.auth.refresh(args.refreshToken);
    return { ...tokens, user: ctx.users.toView(tokens.user) };
  },
  logout: async (_, __, ctx) => {
    await ctx.auth.logout(requireUser(ctx.identity));
    return true;
  },
  changePassword: async (_, args, ctx) => {
    await ctx.auth.changePassword(requireUser(ctx.identity), args.oldPassword, args.newPassword);
    return true;
  },
  updateProfile: (_, args, ctx) => ctx.users.updateProfile(requireUser(ctx.identity), args.input),
};
