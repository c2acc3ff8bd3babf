import type { OrderLineRow } from '../db/schema.js';

export const OrderLine = {
  product: (line: OrderLineRow) => ({ __typename: 'Product' as const, id: line.productId }),
  lineTotal: (line: OrderLineRow) => (line.unitPrice === null ? null : line.unitPrice * line.quantity),
};
