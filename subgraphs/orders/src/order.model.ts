import type { PaymentMethod, ReturnReason } from './db/schema.js';
import type { OrderStatus, ReturnRefusal } from './order-status.js';

/**
 * What the API returns. Every result carries `__typename`, which is how GraphQL picks the
 * member of a result union and how the internal API names the outcome in JSON.
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

export interface InsufficientStock {
  __typename: 'InsufficientStock';
  productId: string;
  requested: number;
  available: number;
}
export interface ProductNotFound {
  __typename: 'ProductNotFound';
  productId: string;
}
export interface SaleNotLive {
  __typename: 'SaleNotLive';
  productId: string;
  saleEventId: string;
}
export interface SaleSoldOut {
  __typename: 'SaleSoldOut';
  productId: string;
  saleEventId: string;
  requested: number;
  remaining: number;
}
export interface PurchaseLimitExceeded {
  __typename: 'PurchaseLimitExceeded';
  productId: string;
  saleEventId: string;
  limit: number;
  alreadyPurchased: number;
}
/** Inventory's business refusals; stored with a REJECTED order so a replay answers the same. */
export type Rejection = InsufficientStock | ProductNotFound | SaleNotLive | SaleSoldOut | PurchaseLimitExceeded;

export interface InventoryUnavailable {
  __typename: 'InventoryUnavailable';
  message: string;
  retryable: true;
  retryAfterSeconds: number;
}

export type PlaceOrderResult = OrderView | Rejection | InventoryUnavailable;

export interface PaymentDeclined {
  __typename: 'PaymentDeclined';
  orderId: string;
  method: PaymentMethod;
  reason: string;
}
export interface OrderNotPayable {
  __typename: 'OrderNotPayable';
  orderId: string;
  status: OrderStatus;
}
export type PayOrderResult = OrderView | PaymentDeclined | OrderNotPayable;

export interface OrderNotCancellable {
  __typename: 'OrderNotCancellable';
  orderId: string;
  status: OrderStatus;
}
export type CancelOrderResult = OrderView | OrderNotCancellable;

export interface ReturnNotAllowed {
  __typename: 'ReturnNotAllowed';
  orderId: string;
  reason: ReturnRefusal;
  status: OrderStatus;
}
export type RequestReturnResult = OrderView | ReturnNotAllowed;

export interface OrderConnectionView {
  edges: { cursor: string; node: OrderView }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  totalCount: number;
}
