import { DateTimeScalar } from '@bth/platform/scalars';
import type { Resolvers } from '../generated/graphql.js';
import { Mutation } from './Mutation.js';
import { Product } from './Product.js';
import { Query } from './Query.js';
import { SaleEvent } from './SaleEvent.js';

// Result unions need no resolvers: every result object carries its `__typename`.
export const resolvers: Resolvers = { DateTime: DateTimeScalar, Query, Mutation, Product, SaleEvent };
