import { DateTimeScalar, type Resolvers } from '@bth/platform';
import type { UsersContext } from '../context.js';
import { Mutation } from './Mutation.js';
import { Query } from './Query.js';
import { User } from './User.js';

export const resolvers: Resolvers<UsersContext> = { DateTime: DateTimeScalar, Query, Mutation, User };
