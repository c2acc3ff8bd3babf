import { DateTimeScalar, type Resolvers } from '@bth/platform';
import type { EventsContext } from '../context.js';
import { Mutation } from './Mutation.js';
import { Product } from './Product.js';
import { Query } from './Query.js';
import { SaleEvent } from './SaleEvent.js';

// Result unions need no resolvers: every result object carries its `__typename`.
export const resolvers: Resolvers<EventsContext> = { DateTime: DateTimeScalar, Query, Mutation, SaleEvent, Product };
