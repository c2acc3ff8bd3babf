import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropTestDatabases, errorCodes, graphql, waitFor } from '@bth/testkit';
import { createProduct, startProducts, stockOf, type Products } from '@bth/fixtures/products';
import {
  CANCEL,
  PAY,
  RETURN,
  age,
  ledgerOf,
  ledgerSum,
  newUser,
  paymentsOf,
  place,
  placeInput,
  PLACE,
  recordingProvider,
  refundsOf,
  startOrders,
  statusOf,
  type Orders,
  type User,
} from '@bth/fixtures/orders';

// Cancel, expiry, return and the reconcilers, through the real service with its scheduler
// running (every 100 ms) and the real products subgraph holding the stock. Time is moved by
// `age` (an order's clocks set back), never waited out; the config keeps the service defaults
// (15 min to pay, a day per step, a one-day return window, reconcile after 30 s).
const payments = recordingProvider();

let products: Products;
let orders: Orders;

beforeAll(async () => {
  products = await startProducts({ messaging: false });
  orders = await startOrders({ inventoryUrls: [products.base] }, { paymentProvider: payments.provider });
});
afterAll(async () => {
  await orders?.stop();
  await products?.close();
  await dropTestDatabases();
});

const PRICE = 12_900;
const DAY = 86_400;

async function placed(user: User, quantity = 2, stock = 10) {
  const productId = await createProduct(products, { stock, price: PRICE });
  const order = await place(orders, user, [{ productId, quantity }]);
  expect(order.status).toBe('AWAITING_PAYMENT');
  return { productId, orderId: order.id as string };
}

async function paid(user: User, quantity = 2) {
  const order = await placed(user, quantity);
  const answer = await graphql(orders.url, PAY, { id: order.orderId, method: 'CARD', key: `pay-${order.orderId}` }, user.headers);
  expect(answer.data!.payOrder.status).toBe('PAID');
  return order;
}

/** Moves a paid order on to DELIVERED the way the scheduler does, a day per step. */
async function delivered(user: User) {
  const order = await paid(user);
  await age(orders, order.orderId, DAY + 1);
  await waitFor(async () => (await statusOf(orders, order.orderId)) === 'SHIPPING');
  await age(orders, order.orderId, DAY + 1);
  await waitFor(async () => (await statusOf(orders, order.orderId)) === 'DELIVERED');
  return order;
}

const cancel = (user: User, id: string) => graphql(orders.url, CANCEL, { id }, user.headers);
const requestReturn = (user: User, id: string, reason = 'UNLIKE') => graphql(orders.url, RETURN, { id, reason }, user.headers);

/** Stock is back where it started and the product's ledger still adds up to its stock. */
async function expectStockBack(productId: string, orderId: string, quantity: number, kind: 'RELEASE' | 'RESTOCK') {
  expect(await stockOf(products, productId)).toBe(10);
  expect(await ledgerSum(products, productId)).toBe(10);
  expect(await ledgerOf(products, orderId)).toEqual([
    { kind: 'RESERVATION', quantity_delta: -quantity },
    { kind, quantity_delta: quantity },
  ]);
}

describe('cancelOrder', () => {
  it('When an unpaid order is cancelled, then it is CANCELLED, its stock is back, nothing is refunded and it can no longer be paid', async () => {
    const user = await newUser();
    const { productId, orderId } = await placed(user);
    const answer = (await cancel(user, orderId)).data!.cancelOrder;
    expect(answer).toMatchObject({ __typename: 'Order', status: 'CANCELLED', refund: null });
    expect(answer.history.map((h: { status: string }) => h.status)).toEqual(['PENDING', 'AWAITING_PAYMENT', 'CANCELLING', 'CANCELLED']);
    await expectStockBack(productId, orderId, 2, 'RELEASE');
    expect(await refundsOf(orders, orderId)).toEqual([]);
    const late = await graphql(orders.url, PAY, { id: orderId, method: 'CARD', key: 'pay-after-cancel-1' }, user.headers);
    expect(late.data!.payOrder).toEqual({ __typename: 'OrderNotPayable', orderId, status: 'CANCELLED' });
    expect(payments.chargedKeys(orderId).size).toBe(0);
  });

  it('When a paid order is cancelled twice, then its stock is back and the whole payment is refunded once', async () => {
    const user = await newUser();
    const { productId, orderId } = await paid(user);
    const first = (await cancel(user, orderId)).data!.cancelOrder;
    expect(first).toMatchObject({ __typename: 'Order', status: 'CANCELLED', refund: { amount: 2 * PRICE, reason: 'CANCELLED' } });
    const second = (await cancel(user, orderId)).data!.cancelOrder;
    expect(second).toMatchObject({ __typename: 'Order', status: 'CANCELLED', refund: first.refund });
    await expectStockBack(productId, orderId, 2, 'RELEASE');
    const [payment] = await paymentsOf(orders, orderId);
    expect(await refundsOf(orders, orderId)).toEqual([{ payment_id: payment!.id, amount: 2 * PRICE, reason: 'CANCELLED' }]);
    expect(payments.refundedKeys(orderId).size).toBe(1);
  });

  it('When a shipped or delivered order is cancelled, then OrderNotCancellable with its status; stock and money stay', async () => {
    const user = await newUser();
    const { productId, orderId } = await delivered(user);
    expect((await cancel(user, orderId)).data!.cancelOrder).toEqual({ __typename: 'OrderNotCancellable', orderId, status: 'DELIVERED' });
    const shipping = await paid(user);
    await age(orders, shipping.orderId, DAY + 1);
    await waitFor(async () => (await statusOf(orders, shipping.orderId)) === 'SHIPPING');
    expect((await cancel(user, shipping.orderId)).data!.cancelOrder).toEqual({
      __typename: 'OrderNotCancellable',
      orderId: shipping.orderId,
      status: 'SHIPPING',
    });
    expect(await stockOf(products, productId)).toBe(8);
    expect(await refundsOf(orders, orderId)).toEqual([]);
    expect(await refundsOf(orders, shipping.orderId)).toEqual([]);
  });

  it('When a payment is in flight, then cancel is CONFLICT and the order stays payable', async () => {
    const user = await newUser();
    const { productId, orderId } = await placed(user);
    payments.state.down = true;
    try {
      const pay = await graphql(orders.url, PAY, { id: orderId, method: 'CARD', key: 'pay-in-flight-0001' }, user.headers);
      expect(errorCodes(pay)).toEqual(['UPSTREAM_UNAVAILABLE']);
      expect(errorCodes(await cancel(user, orderId))).toEqual(['CONFLICT']);
      expect(await statusOf(orders, orderId)).toBe('AWAITING_PAYMENT');
    } finally {
      payments.state.down = false;
    }
    const retried = await graphql(orders.url, PAY, { id: orderId, method: 'CARD', key: 'pay-in-flight-0001' }, user.headers);
    expect(retried.data!.payOrder.status).toBe('PAID');
    expect(await stockOf(products, productId)).toBe(8);
  });
});

describe('expiry of unpaid orders', () => {
  it('When an order is not paid by its deadline, then the scheduler gives its stock back and it is EXPIRED', async () => {
    const user = await newUser();
    const { productId, orderId } = await placed(user);
    await age(orders, orderId, 901);
    await waitFor(async () => (await statusOf(orders, orderId)) === 'EXPIRED');
    await expectStockBack(productId, orderId, 2, 'RELEASE');
    expect((await cancel(user, orderId)).data!.cancelOrder).toEqual({ __typename: 'OrderNotCancellable', orderId, status: 'EXPIRED' });
  });

  it('When a charge is in flight at the deadline, then the order is not expired, and the lost attempt is charged once later', async () => {
    const user = await newUser();
    const { productId, orderId } = await placed(user);
    payments.state.down = true;
    try {
      const pay = await graphql(orders.url, PAY, { id: orderId, method: 'CARD', key: 'pay-at-deadline-01' }, user.headers);
      expect(errorCodes(pay)).toEqual(['UPSTREAM_UNAVAILABLE']);
      await age(orders, orderId, 901);
      // Two other orders past their deadline, one after the other: once the second has expired,
      // the expiry job has run over ours in at least one whole tick.
      for (let i = 0; i < 2; i++) {
        const sentinel = await placed(user, 1);
        await age(orders, sentinel.orderId, 901);
        await waitFor(async () => (await statusOf(orders, sentinel.orderId)) === 'EXPIRED');
      }
      expect(await statusOf(orders, orderId)).toBe('AWAITING_PAYMENT');
      expect(await stockOf(products, productId)).toBe(8);
    } finally {
      payments.state.down = false;
    }
    // The request that started the attempt is gone; after 30 s the scheduler asks the provider
    // again with the attempt's own key, which can charge only once.
    await orders.query('UPDATE payments SET created_at = created_at - INTERVAL 31 SECOND WHERE order_id = ?', [orderId]);
    await waitFor(async () => (await statusOf(orders, orderId)) === 'PAID');
    const rows = await paymentsOf(orders, orderId);
    expect(rows.map((p) => [p.idempotency_key, p.status])).toEqual([['pay-at-deadline-01', 'SUCCEEDED']]);
    expect([...payments.chargedKeys(orderId)]).toEqual([rows[0]!.id]);
    expect(await stockOf(products, productId)).toBe(8);
  });
});

describe('requestReturn', () => {
  it('When a delivered order is returned inside the window, then RETURN_REQUESTED, later restocked and refunded once', async () => {
    const user = await newUser();
    const { productId, orderId } = await delivered(user);
    const answer = (await requestReturn(user, orderId, 'SIDE_EFFECT')).data!.requestReturn;
    expect(answer).toMatchObject({ __typename: 'Order', status: 'RETURN_REQUESTED', returnRequest: { reason: 'SIDE_EFFECT' } });
    expect((await requestReturn(user, orderId)).data!.requestReturn).toEqual({
      __typename: 'ReturnNotAllowed',
      orderId,
      reason: 'ALREADY_REQUESTED',
      status: 'RETURN_REQUESTED',
    });
    await age(orders, orderId, DAY + 1);
    await waitFor(async () => (await statusOf(orders, orderId)) === 'RETURNED');
    await expectStockBack(productId, orderId, 2, 'RESTOCK');
    const [payment] = await paymentsOf(orders, orderId);
    expect(await refundsOf(orders, orderId)).toEqual([{ payment_id: payment!.id, amount: 2 * PRICE, reason: 'RETURNED' }]);
    expect(payments.refundedKeys(orderId).size).toBe(1);
    expect((await requestReturn(user, orderId)).data!.requestReturn).toMatchObject({ reason: 'ALREADY_REQUESTED', status: 'RETURNED' });
  });

  it('When the window has closed or the order was never delivered, then ReturnNotAllowed says which; nothing changes', async () => {
    const user = await newUser();
    const late = await delivered(user);
    await age(orders, late.orderId, DAY + 1);
    expect((await requestReturn(user, late.orderId)).data!.requestReturn).toEqual({
      __typename: 'ReturnNotAllowed',
      orderId: late.orderId,
      reason: 'WINDOW_CLOSED',
      status: 'DELIVERED',
    });
    const early = await paid(user);
    expect((await requestReturn(user, early.orderId)).data!.requestReturn).toEqual({
      __typename: 'ReturnNotAllowed',
      orderId: early.orderId,
      reason: 'NOT_DELIVERED',
      status: 'PAID',
    });
    expect(await statusOf(orders, late.orderId)).toBe('DELIVERED');
    expect(await statusOf(orders, early.orderId)).toBe('PAID');
    expect(await refundsOf(orders, late.orderId)).toEqual([]);
  });
});

describe('reconciliation of a lost PENDING order', () => {
  it('When an order was reserved but its request died before confirming, then the reconciler releases it, FAILED, key freed', async () => {
    const user = await newUser();
    const productId = await createProduct(products, { stock: 10, price: PRICE });
    const input = placeInput([{ productId, quantity: 3 }]);
    const first = (await graphql(orders.url, PLACE, { input }, user.headers)).data!.placeOrder;
    // The state a crash between reserve and confirm leaves: inventory holds the stock, the order
    // is PENDING; set back past the reconcile age (30 s here).
    await orders.query("UPDATE orders SET status = 'PENDING', status_changed_at = NOW(3) - INTERVAL 31 SECOND WHERE id = ?", [first.id]);
    expect(await stockOf(products, productId)).toBe(7);
    await waitFor(async () => (await statusOf(orders, first.id)) === 'FAILED');
    await expectStockBack(productId, first.id, 3, 'RELEASE');
    const [row] = await orders.query<{ idempotency_claim: string | null }>('SELECT idempotency_claim FROM orders WHERE id = ?', [first.id]);
    expect(row!.idempotency_claim).toBeNull();
    // The key is free again: the buyer's retry places a fresh order (a new id).
    const retry = (await graphql(orders.url, PLACE, { input }, user.headers)).data!.placeOrder;
    expect(retry).toMatchObject({ __typename: 'Order', status: 'AWAITING_PAYMENT' });
    expect(retry.id).not.toBe(first.id);
    expect(await stockOf(products, productId)).toBe(7);
  });
});
