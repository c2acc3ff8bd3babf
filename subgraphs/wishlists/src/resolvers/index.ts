import { DateTimeScalar } from '@bth/platform/scalars';
import type { Resolvers } from '../generated/graphql.js';
import { Mutation } from './Mutation.js';
import { Query } from './Query.js';
import { User } from './User.js';
import { WishlistItem } from './WishlistItem.js';
import { WishlistOrderPlaced } from './WishlistOrderPlaced.js';

/** Union members are told apart by the `__typename` every service result carries. */
export const resolvers: Resolvers = { DateTime: DateTimeScalar, Query, Mutation, User, WishlistItem, WishlistOrderPlaced };
