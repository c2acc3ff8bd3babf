import type { FieldCipher } from '@bth/platform/crypto';
import type { OrderRow } from './db/schema.js';
import type { PaymentMethod, ReturnReason } from './db/schema.js';
import type { ResolversParentTypes, ResolversTypes, ResolversUnionTypes } from './generated/graphql.js';
import type { OrderStatus, ReturnRefusal } from './order-status.js';

/**
 * An order as resolvers see it (the mapper of `Order` in codegen.ts): the decrypted row, with
 * what `Order`'s resolvers need beyond the schema's fields (the owner, payment and delivery times).
 * Every other result type is the schema's own, generated in src/generated/graphql.ts; each carries
 * its `__typename`, which is how GraphQL picks the member of a result union and how the internal
 * API names the outcome in JSON.
 */
export interface ShippingView {
  postalCode: string;
  address: string;
  phone: string;
}

export interface OrderView {
  __typename: 'Order';
  id: string;
  userId: string;
  status: OrderStatus;
  totalAmount: number | null;
  shipping: ShippingView;
  paymentDueAt: Date | null;
  paidAt: Date | null;
  deliveredAt: Date | null;
  returnRequest: { reason: ReturnReason; requestedAt: Date } | null;
  createdAt: Date;
  updatedAt: Date;
}

type Results = ResolversUnionTypes<ResolversTypes>;
export type PlaceOrderResult = Results['PlaceOrderResult'];
export type PayOrderResult = Results['PayOrderResult'];
export type CancelOrderResult = Results['CancelOrderResult'];
export type RequestReturnResult = Results['RequestReturnResult'];
export type OrderConnectionView = ResolversParentTypes['OrderConnection'];
/** A member of a result union by its `__typename`. */
export type ResultOf<U, T extends string> = Extract<U, { __typename: T }>;
export type InventoryUnavailable = ResultOf<PlaceOrderResult, 'InventoryUnavailable'>;
/** Inventory's business refusals; stored with a REJECTED order so a replay answers the same. */
export type Rejection = Exclude<PlaceOrderResult, { __typename: 'Order' | 'InventoryUnavailable' }>;
/** A refusal before its sentence is written. */
type RejectionFields = Rejection extends infer R ? (R extends Rejection ? Omit<R, 'message'> : never) : never;

/** The refusal with its sentence for people (rows stored before refusals had one get it here too). */
export function withMessage(rejection: RejectionFields): Rejection {
  switch (rejection.__typename) {
    case 'InsufficientStock':
      return { ...rejection, message: `Only ${rejection.available} left of product ${rejection.productId}` };
    case 'ProductNotFound':
      return { ...rejection, message: `Product ${rejection.productId} does not exist` };
    case 'SaleNotLive':
      return { ...rejection, message: `The sale of product ${rejection.productId} is not live` };
    case 'SaleSoldOut':
      return { ...rejection, message: `Only ${rejection.remaining} sale units of product ${rejection.productId} are left` };
    case 'PurchaseLimitExceeded':
      return { ...rejection, message: `At most ${rejection.limit} of product ${rejection.productId} per member in this sale` };
  }
}

export const paymentDeclined = (orderId: string, method: PaymentMethod, reason: string): ResultOf<PayOrderResult, 'PaymentDeclined'> => ({
  __typename: 'PaymentDeclined',
  message: `The ${method} payment was declined: ${reason}`,
  orderId,
  method,
  reason,
});

export const orderNotPayable = (orderId: string, status: OrderStatus): ResultOf<PayOrderResult, 'OrderNotPayable'> => ({
  __typename: 'OrderNotPayable',
  message: `The order is ${status} and cannot be paid`,
  orderId,
  status,
});

export const orderNotCancellable = (orderId: string, status: OrderStatus): ResultOf<CancelOrderResult, 'OrderNotCancellable'> => ({
  __typename: 'OrderNotCancellable',
  message: `The order is ${status}; only an order awaiting payment or paid and not yet shipped can be cancelled`,
  orderId,
  status,
});

const RETURN_REFUSALS: Record<ReturnRefusal, string> = {
  NOT_DELIVERED: 'Only a delivered order can be returned',
  WINDOW_CLOSED: 'The return window for this order has closed',
  ALREADY_REQUESTED: 'A return was already requested for this order',
};

export const returnNotAllowed = (
  orderId: string,
  reason: ReturnRefusal,
  status: OrderStatus,
): ResultOf<RequestReturnResult, 'ReturnNotAllowed'> => ({
  __typename: 'ReturnNotAllowed',
  message: RETURN_REFUSALS[reason],
  orderId,
  reason,
  status,
});

/**
 * Row ⇄ view mapping. The shipping address and phone are personal data: they are stored as one
 * AES-256-GCM ciphertext (random IV, so equal addresses look different at rest) and decrypted
 * only here.
 */
export function createOrderViews(cipher: FieldCipher) {
  return {
    encryptShipping(shipping: ShippingView): string {
      return cipher.encrypt(JSON.stringify({ postalCode: shipping.postalCode, address: shipping.address, phone: shipping.phone }));
    },

    toView(row: OrderRow): OrderView {
      const shipping = JSON.parse(cipher.decrypt(row.shippingEnc)) as ShippingView;
      return {
        __typename: 'Order',
        id: row.id,
        userId: row.userId,
        status: row.status,
        totalAmount: row.totalAmount,
        shipping,
        paymentDueAt: row.paymentDueAt,
        paidAt: row.paidAt,
        deliveredAt: row.deliveredAt,
        returnRequest: row.returnReason && row.returnRequestedAt ? { reason: row.returnReason, requestedAt: row.returnRequestedAt } : null,
        createdAt: row.createdAt,
        updatedAt: row.updatedAt,
      };
    },

    rejectionOf(row: OrderRow): Rejection {
      if (!row.rejection) throw new Error(`order ${row.id} is REJECTED without a recorded reason`);
      return withMessage(JSON.parse(row.rejection) as RejectionFields);
    },
  };
}

export type OrderViews = ReturnType<typeof createOrderViews>;
