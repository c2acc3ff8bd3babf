import { DateTimeScalar } from '@bth/platform/scalars';
import type { Resolvers } from '../generated/graphql.js';
import { Mutation } from './Mutation.js';
import { Order } from './Order.js';
import { OrderLine } from './OrderLine.js';
import { Query } from './Query.js';
import { User } from './User.js';

// Result unions need no resolvers: every result object carries its `__typename`.
export const resolvers: Resolvers = { DateTime: DateTimeScalar, Query, Mutation, Order, OrderLine, User };
