import { DateTimeScalar, type Resolvers } from '@bth/platform';
import type { ProductsContext } from '../context.js';
import { Mutation } from './Mutation.js';
import { Product } from './Product.js';
import { Query } from './Query.js';
import { SaleEvent } from './SaleEvent.js';

export const resolvers: Resolvers<ProductsContext> = { DateTime: DateTimeScalar, Query, Mutation, Product, SaleEvent };
