import { requireUser } from '@bth/platform';
import type { UsersContext } from '../context.js';
import type { SignUpInput } from '../validation.js';
import type { UpdateProfileInput } from '../users.service.js';

export const Mutation = {
  requestEmailVerification: (_: unknown, args: { email: string }, ctx: UsersContext) => ctx.verification.request(args.email),
  verifyEmail: (_: unknown, args: { email: string; code: string }, ctx: UsersContext) => ctx.verification.verify(args.email, args.code),
  signUp: async (_: unknown, args: { input: SignUpInput }, ctx: UsersContext) => ctx.users.toView(await ctx.auth.signUp(args.input)),
  login: async (_: unknown, args: { email: string; password: string }, ctx: UsersContext) => {
    const tokens = await ctx.auth.login(args.email, args.password);
    return { ...tokens, user: ctx.users.toView(tokens.user) };
  },
  refreshSession: async (_: unknown, args: { refreshToken: string }, ctx: UsersContext) => {
    const tokens = await ctx.auth.refresh(args.refreshToken);
    return { ...tokens, user: ctx.users.toView(tokens.user) };
  },
  logout: async (_: unknown, __: unknown, ctx: UsersContext) => {
    await ctx.auth.logout(requireUser(ctx.identity));
    return true;
  },
  changePassword: async (_: unknown, args: { oldPassword: string; newPassword: string }, ctx: UsersContext) => {
    await ctx.auth.changePassword(requireUser(ctx.identity), args.oldPassword, args.newPassword);
    return true;
  },
  updateProfile: (_: unknown, args: { input: UpdateProfileInput }, ctx: UsersContext) =>
    ctx.users.updateProfile(requireUser(ctx.identity), args.input),
};
