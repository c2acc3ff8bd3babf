import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropTestDatabases, errorCodes, graphql } from '@bth/testkit';
import { createProduct, startProducts, stockOf, type Products } from '@bth/fixtures/products';
import {
  PAY,
  age,
  newUser,
  paymentsOf,
  place,
  recordingProvider,
  startOrders,
  statusOf,
  type Orders,
  type User,
} from '@bth/fixtures/orders';

// "Never charges twice", through the real service: payOrder over HTTP, MariaDB, and the real
// products subgraph holding the stock. The provider is the service's simulator with every call
// recorded; a charge stays in flight for CHARGE_MS so concurrent requests really overlap it.
// No scheduler here: every outcome below is the request path's own.
const CHARGE_MS = 300;
const payments = recordingProvider({ delayMs: CHARGE_MS });

let products: Products;
let orders: Orders;

beforeAll(async () => {
  products = await startProducts({ messaging: false });
  orders = await startOrders({ inventoryUrls: [products.base] }, { scheduler: false, paymentProvider: payments.provider });
});
afterAll(async () => {
  await orders?.stop();
  await products?.close();
  await dropTestDatabases();
});

const PRICE = 12_900;

async function awaitingPayment(user: User, quantity = 1) {
  const productId = await createProduct(products, { stock: 10, price: PRICE });
  const order = await place(orders, user, [{ productId, quantity }]);
  expect(order.status).toBe('AWAITING_PAYMENT');
  return { productId, orderId: order.id as string };
}

const pay = (user: User, id: string, method: string, key: string) => graphql(orders.url, PAY, { id, method, key }, user.headers);

describe('payOrder', () => {
  it('When one key is sent twice, in turn and then five times at once, then the order is paid once with one charge', async () => {
    const user = await newUser();
    const { orderId, productId } = await awaitingPayment(user, 2);
    const first = await pay(user, orderId, 'CARD', 'pay-key-once-0001');
    expect(first.data!.payOrder).toMatchObject({ __typename: 'Order', status: 'PAID', payment: { method: 'CARD', amount: 2 * PRICE } });
    const again = await pay(user, orderId, 'CARD', 'pay-key-once-0001');
    expect(again.data!.payOrder).toMatchObject({ __typename: 'Order', status: 'PAID', payment: first.data!.payOrder.payment });

    const other = await awaitingPayment(user);
    const burst = await Promise.all(Array.from({ length: 5 }, () => pay(user, other.orderId, 'CARD', 'pay-key-burst-0001')));
    for (const answer of burst) expect(answer.data!.payOrder).toMatchObject({ __typename: 'Order', status: 'PAID' });

    for (const id of [orderId, other.orderId]) {
      expect((await paymentsOf(orders, id)).map((p) => p.status)).toEqual(['SUCCEEDED']);
      expect(payments.chargedKeys(id).size).toBe(1);
    }
    expect(await stockOf(products, productId)).toBe(8);
  });

  it('When a used key comes back with another method, then BAD_USER_INPUT on idempotencyKey and nothing is charged', async () => {
    const user = await newUser();
    const { orderId } = await awaitingPayment(user);
    expect((await pay(user, orderId, 'CARD', 'pay-key-method-01')).data!.payOrder.status).toBe('PAID');
    const reused = await pay(user, orderId, 'TRANSFER', 'pay-key-method-01');
    expect(errorCodes(reused)).toEqual(['BAD_USER_INPUT']);
    expect(reused.errors![0]!.extensions!.fieldErrors).toEqual([{ field: 'idempotencyKey', message: expect.any(String) }]);
    expect(reused.data?.payOrder ?? null).toBeNull();
    expect((await paymentsOf(orders, orderId)).map((p) => [p.method, p.status])).toEqual([['CARD', 'SUCCEEDED']]);
    expect(payments.chargedKeys(orderId).size).toBe(1);
  });

  it('When a payment is declined, then the order still awaits payment, the key replays the decline, and a new key pays', async () => {
    const user = await newUser();
    const { orderId } = await awaitingPayment(user);
    const declined = await pay(user, orderId, 'MOBILE', 'pay-key-decline-1');
    expect(declined.data!.payOrder).toEqual({ __typename: 'PaymentDeclined', orderId, method: 'MOBILE', reason: expect.any(String) });
    expect(await statusOf(orders, orderId)).toBe('AWAITING_PAYMENT');
    const chargesAfterDecline = payments.charges.length;
    expect((await pay(user, orderId, 'MOBILE', 'pay-key-decline-1')).data!.payOrder).toEqual(declined.data!.payOrder);
    expect(payments.charges.length).toBe(chargesAfterDecline);

    const paid = await pay(user, orderId, 'CARD', 'pay-key-decline-2');
    expect(paid.data!.payOrder).toMatchObject({ __typename: 'Order', status: 'PAID', payment: { method: 'CARD', amount: PRICE } });
    expect((await paymentsOf(orders, orderId)).map((p) => [p.method, p.status])).toEqual([
      ['MOBILE', 'DECLINED'],
      ['CARD', 'SUCCEEDED'],
    ]);
  });

  it('When six different keys pay one order at the same moment, then one is charged and the others hear the order is PAID', async () => {
    const user = await newUser();
    const { orderId } = await awaitingPayment(user);
    const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => pay(user, orderId, 'CARD', `pay-key-race-${i}-0001`)));
    const results = answers.map((a) => a.data!.payOrder);
    expect(results.filter((r) => r.__typename === 'Order')).toHaveLength(1);
    expect(results.filter((r) => r.__typename === 'OrderNotPayable')).toEqual(
      Array.from({ length: 5 }, () => ({ __typename: 'OrderNotPayable', orderId, status: 'PAID' })),
    );
    expect((await paymentsOf(orders, orderId)).map((p) => p.status)).toEqual(['SUCCEEDED']);
    expect(payments.chargedKeys(orderId).size).toBe(1);
  });

  it('When the provider fails, then UPSTREAM_UNAVAILABLE, another key is refused as CONFLICT, and the same key later pays once', async () => {
    const user = await newUser();
    const { orderId } = await awaitingPayment(user);
    payments.state.down = true;
    try {
      expect(errorCodes(await pay(user, orderId, 'CARD', 'pay-key-outage-01'))).toEqual(['UPSTREAM_UNAVAILABLE']);
      expect((await paymentsOf(orders, orderId)).map((p) => p.status)).toEqual(['PENDING']);
      // The attempt in flight blocks a second key for its whole wait (3 s), then CONFLICT.
      expect(errorCodes(await pay(user, orderId, 'CARD', 'pay-key-outage-02'))).toEqual(['CONFLICT']);
    } finally {
      payments.state.down = false;
    }
    const retried = await pay(user, orderId, 'CARD', 'pay-key-outage-01');
    expect(retried.data!.payOrder).toMatchObject({ __typename: 'Order', status: 'PAID' });
    const rows = await paymentsOf(orders, orderId);
    expect(rows.map((p) => [p.idempotency_key, p.status])).toEqual([['pay-key-outage-01', 'SUCCEEDED']]);
    expect([...payments.chargedKeys(orderId)]).toEqual([rows[0]!.id]);
  });

  it('When the payment deadline has passed, then OrderNotPayable EXPIRED and nothing is charged', async () => {
    const user = await newUser();
    const { orderId } = await awaitingPayment(user);
    await age(orders, orderId, 901);
    expect((await pay(user, orderId, 'CARD', 'pay-key-late-0001')).data!.payOrder).toEqual({
      __typename: 'OrderNotPayable',
      orderId,
      status: 'EXPIRED',
    });
    expect(await paymentsOf(orders, orderId)).toEqual([]);
    expect(payments.chargedKeys(orderId).size).toBe(0);
  });

  it('When someone else pays a member’s order, then NOT_FOUND and nothing is charged', async () => {
    const { orderId } = await awaitingPayment(await newUser());
    expect(errorCodes(await pay(await newUser(), orderId, 'CARD', 'pay-key-thief-001'))).toEqual(['NOT_FOUND']);
    expect(await paymentsOf(orders, orderId)).toEqual([]);
  });
});
