import { DateTimeScalar, type Resolvers } from '@bth/platform';
import type { OrdersContext } from '../context.js';
import { Mutation } from './Mutation.js';
import { Order } from './Order.js';
import { OrderLine } from './OrderLine.js';
import { Query } from './Query.js';
import { User } from './User.js';

// Result unions need no resolvers: every result object carries its `__typename`.
export const resolvers: Resolvers<OrdersContext> = { DateTime: DateTimeScalar, Query, Mutation, Order, OrderLine, User };
