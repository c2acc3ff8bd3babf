import { DateTimeScalar, type Resolvers } from '@bth/platform';
import type { WishlistsContext } from '../context.js';
import { Mutation } from './Mutation.js';
import { Query } from './Query.js';
import { User } from './User.js';
import { WishlistItem } from './WishlistItem.js';
import { WishlistOrderPlaced } from './WishlistOrderPlaced.js';

/** Union members are told apart by the `__typename` every service result carries. */
export const resolvers: Resolvers<WishlistsContext> = { DateTime: DateTimeScalar, Query, Mutation, User, WishlistItem, WishlistOrderPlaced };
