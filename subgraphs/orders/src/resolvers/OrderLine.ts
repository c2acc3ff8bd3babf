import type { OrderLineResolvers } from '../generated/graphql.js';

export const OrderLine: OrderLineResolvers = {
  product: (line) => ({ __typename: 'Product', id: line.productId }),
  lineTotal: (line) => (line.unitPrice === null ? null : line.unitPrice * line.quantity),
};
