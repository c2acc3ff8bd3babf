import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropTestDatabases, graphql, identityHeaders } from '@bth/testkit';
import { ADMIN, createProduct, startProducts, stockOf, type Products } from '@bth/fixtures/products';
import { CANCEL, PLACE, newUser, place, placeInput, startOrders, type Orders, type User } from '@bth/fixtures/orders';

/**
 * Issue 10: the two answers orders gives without the whole order path — admission control
 * (too many orders of one product in flight) and the sold-out fast path (products' marker in
 * Redis) — against a real products subgraph, MariaDB and Redis.
 */
let products: Products;
let orders: Orders;

beforeAll(async () => {
  products = await startProducts({ messaging: false });
  // One order of a product at a time: a second one is refused while the first is in flight.
  orders = await startOrders({ inventoryUrls: [products.base], admission: { perProduct: 1, total: 100 } }, { redis: products.redis });
});
afterAll(async () => {
  await orders?.stop();
  await products?.close();
  await dropTestDatabases();
});

const ADJUST = `mutation($id: ID!, $delta: Int!) { adjustStock(productId: $id, delta: $delta, reason: "delivery") { __typename } }`;
const reserveCalls = () => products.metric('inventory_outcomes_total', { operation: 'reserve', outcome: 'INSUFFICIENT_STOCK' });
const ordersOf = async (user: User) =>
  Number((await orders.query<{ n: number }>('SELECT COUNT(*) AS n FROM orders WHERE user_id = ?', [user.identity.userId]))[0]!.n);

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Sells the product out and waits until products has set its sold-out marker. */
async function sellOut(productId: string, units: number): Promise<Array<{ user: User; key: string; order: Record<string, any> }>> {
  const sold = [];
  for (let i = 0; i < units; i++) {
    const user = await newUser();
    const key = randomUUID();
    const order = await place(orders, user, [{ productId, quantity: 1 }], { idempotencyKey: key });
    expect(order.__typename).toBe('Order');
    sold.push({ user, key, order });
  }
  // The next buyer hears it from products (orders learns the product is worth a look)…
  expect((await place(orders, await newUser(), [{ productId, quantity: 1 }])).__typename).toBe('InsufficientStock');
  // …and products marks it sold out in the background.
  await until('the sold-out marker', async () => (await products.redis.get(`inventory:sold-out:${productId}`)) !== null);
  return sold;
}

describe('sold-out fast path', () => {
  it('When a product is marked sold out, then its buyers are refused without an order row or an inventory call, and a replayed placed order still answers its order', async () => {
    const productId = await createProduct(products, { stock: 1 });
    const [first] = await sellOut(productId, 1);
    const callsBefore = await reserveCalls();
    const late = await newUser();
    const refused = await place(orders, late, [{ productId, quantity: 2 }]);
    expect(refused).toEqual({ __typename: 'InsufficientStock', productId, requested: 2, available: 0 });
    expect(await ordersOf(late)).toBe(0);
    expect(await reserveCalls()).toBe(callsBefore);

    // The first buyer retries their (placed) order with the same key: their order, not "sold out".
    const replay = await graphql(
      orders.url,
      PLACE,
      { input: placeInput([{ productId, quantity: 1 }], { idempotencyKey: first!.key }) },
      first!.user.headers,
    );
    expect(replay.data!.placeOrder).toMatchObject({ __typename: 'Order', id: first!.order.id });
  });

  it('When a sold-out product gets a unit back by a cancel, then the very next buyer gets it', async () => {
    const productId = await createProduct(products, { stock: 2 });
    const [first] = await sellOut(productId, 2);
    const cancelled = await graphql(orders.url, CANCEL, { id: first!.order.id }, first!.user.headers);
    expect(cancelled.data!.cancelOrder).toMatchObject({ __typename: 'Order', status: 'CANCELLED' });
    // Right after the cancel's answer: no wait, no retry.
    expect((await place(orders, await newUser(), [{ productId, quantity: 1 }])).__typename).toBe('Order');
    expect(await stockOf(products, productId)).toBe(0);
  });

  it('When an admin restocks a sold-out product, then the very next buyer gets a unit', async () => {
    const productId = await createProduct(products, { stock: 1 });
    await sellOut(productId, 1);
    const adjusted = await graphql(products.url, ADJUST, { id: productId, delta: 3 }, await identityHeaders(ADMIN));
    expect(adjusted.data!.adjustStock.__typename).toBe('Product');
    expect(await products.redis.get(`inventory:sold-out:${productId}`)).toBeNull();
    expect((await place(orders, await newUser(), [{ productId, quantity: 3 }])).__typename).toBe('Order');
  });
});

describe('admission control', () => {
  it('When a product has as many orders in flight as allowed, then the next is refused at once with a retry delay, nothing written, and a placed order replayed meanwhile still answers its order', async () => {
    const productId = await createProduct(products, { stock: 10 });
    const other = await createProduct(products, { stock: 10 });
    const placed = await newUser();
    const key = randomUUID();
    const firstOrder = (
      await graphql(orders.url, PLACE, { input: placeInput([{ productId, quantity: 1 }], { idempotencyKey: key }) }, placed.headers)
    ).data!.placeOrder;
    expect(firstOrder.__typename).toBe('Order');

    // Hold the product row, so the next order of it stays in flight (waiting in inventory).
    const conn = await products.database.pool.getConnection();
    let slow: Promise<Record<string, any>> | undefined;
    try {
      await conn.query('BEGIN');
      await conn.query('SELECT stock FROM products WHERE id = ? FOR UPDATE', [productId]);
      const waiting = await newUser();
      slow = place(orders, waiting, [{ productId, quantity: 1 }]);
      await until('the order in flight', async () => (await ordersOf(waiting)) === 1);

      const crowd = await newUser();
      const started = Date.now();
      const refused = await place(orders, crowd, [{ productId, quantity: 1 }]);
      expect(refused).toMatchObject({ __typename: 'InventoryUnavailable', retryable: true, retryAfterSeconds: 1 });
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(await ordersOf(crowd)).toBe(0);

      const replay = await graphql(
        orders.url,
        PLACE,
        { input: placeInput([{ productId, quantity: 1 }], { idempotencyKey: key }) },
        placed.headers,
      );
      expect(replay.data!.placeOrder).toMatchObject({ __typename: 'Order', id: firstOrder.id });
      // Another product is not held up by this one.
      expect((await place(orders, crowd, [{ productId: other, quantity: 1 }])).__typename).toBe('Order');
    } finally {
      await conn.query('ROLLBACK');
      conn.release();
    }
    // The order that was admitted is placed once the row is free.
    expect((await slow!).__typename).toBe('Order');
    expect((await place(orders, await newUser(), [{ productId, quantity: 1 }])).__typename).toBe('Order');
  });
});
