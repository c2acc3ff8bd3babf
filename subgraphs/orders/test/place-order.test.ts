import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deadUrl, dropTestDatabases, errorCodes, graphql, serviceToken } from '@bth/testkit';
import { createProduct, startProducts, stockOf, type Products } from '@bth/fixtures/products';
import { ORDER, PLACE, SHIPPING, ledgerOf, newUser, place, placeInput, startOrders, type Orders } from '@bth/fixtures/orders';

let products: Products;
let orders: Orders;

beforeAll(async () => {
  products = await startProducts({ messaging: false });
  // A dead replica first in the list: every call must fail over to the live one.
  orders = await startOrders({ inventoryUrls: [await deadUrl(), products.base] });
});
afterAll(async () => {
  await orders?.stop();
  await products?.close();
  await dropTestDatabases();
});

const countOrders = async () => Number((await orders.query<{ n: number }>('SELECT COUNT(*) AS n FROM orders'))[0]!.n);

describe('placeOrder', () => {
  it('When a member orders in-stock products, then stock is reserved and the order awaits payment with server-side prices', async () => {
    const a = await createProduct(products, { stock: 10, price: 12_900 });
    const b = await createProduct(products, { stock: 5, price: 3_000 });
    const user = await newUser();
    const order = await place(orders, user, [
      { productId: a, quantity: 2 },
      { productId: b, quantity: 3 },
    ]);
    expect(order.__typename).toBe('Order');
    expect(order.status).toBe('AWAITING_PAYMENT');
    expect(order.totalAmount).toBe(2 * 12_900 + 3 * 3_000);
    expect(order.lines).toEqual([
      { product: { id: a }, quantity: 2, unitPrice: 12_900, regularPrice: 12_900, lineTotal: 25_800 },
      { product: { id: b }, quantity: 3, unitPrice: 3_000, regularPrice: 3_000, lineTotal: 9_000 },
    ]);
    expect(order.shipping).toEqual(SHIPPING);
    expect(order.history.map((h: { status: string }) => h.status)).toEqual(['PENDING', 'AWAITING_PAYMENT']);
    expect(new Date(order.paymentDueAt).getTime()).toBeGreaterThan(Date.now() + 800_000);
    expect(await stockOf(products, a)).toBe(8);
    expect(await stockOf(products, b)).toBe(2);
  });

  it('When the order is stored, then the shipping address and phone are encrypted at rest', async () => {
    const a = await createProduct(products, { stock: 5 });
    const order = await place(orders, await newUser(), [{ productId: a, quantity: 1 }]);
    const [row] = await orders.query('SELECT * FROM orders WHERE id = ?', [order.id]);
    const raw = JSON.stringify(row);
    for (const plain of [SHIPPING.phone, SHIPPING.postalCode, 'Teheran-ro']) expect(raw).not.toContain(plain);
  });

  it('When every rule is broken, then each is reported at once and nothing is written or reserved', async () => {
    const a = await createProduct(products, { stock: 5 });
    const before = await countOrders();
    const user = await newUser();
    const response = await graphql(
      orders.url,
      PLACE,
      {
        input: {
          lines: [
            { productId: a, quantity: 0 },
            { productId: a, quantity: 101 },
            { productId: 'not-a-uuid', quantity: 1 },
          ],
          shipping: { postalCode: '123', address: '   ', phone: '0212345678' },
          idempotencyKey: 'short',
        },
      },
      user.headers,
    );
    expect(errorCodes(response)).toEqual(['BAD_USER_INPUT']);
    const fields = (response.errors![0]!.extensions!.fieldErrors as { field: string }[]).map((f) => f.field);
    expect(new Set(fields)).toEqual(
      new Set([
        'lines[0].quantity',
        'lines[1].productId',
        'lines[1].quantity',
        'lines[2].productId',
        'shipping.postalCode',
        'shipping.address',
        'shipping.phone',
        'idempotencyKey',
      ]),
    );
    expect(await countOrders()).toBe(before);
    expect(await stockOf(products, a)).toBe(5);
  });

  it('When an order has no lines or more than 50, then it is refused with a field error on lines', async () => {
    const user = await newUser();
    const none = await graphql(orders.url, PLACE, { input: placeInput([]) }, user.headers);
    expect(none.errors![0]!.extensions!.fieldErrors).toEqual([{ field: 'lines', message: expect.any(String) }]);
    const many = Array.from({ length: 51 }, () => ({ productId: randomUUID(), quantity: 1 }));
    const tooMany = await graphql(orders.url, PLACE, { input: placeInput(many) }, user.headers);
    expect(errorCodes(tooMany)).toEqual(['BAD_USER_INPUT']);
    expect((tooMany.errors![0]!.extensions!.fieldErrors as { field: string }[]).map((f) => f.field)).toEqual(['lines']);
  });

  it('When nobody is signed in, then placing an order is UNAUTHENTICATED and nothing is written', async () => {
    const before = await countOrders();
    const response = await graphql(orders.url, PLACE, { input: placeInput([{ productId: randomUUID(), quantity: 1 }]) });
    expect(errorCodes(response)).toEqual(['UNAUTHENTICATED']);
    expect(await countOrders()).toBe(before);
  });

  it('When stock is short or the product is unknown, then a typed result says so and nothing is reserved', async () => {
    const a = await createProduct(products, { stock: 3 });
    const user = await newUser();
    const short = await place(orders, user, [{ productId: a, quantity: 4 }]);
    expect(short).toEqual({ __typename: 'InsufficientStock', productId: a, requested: 4, available: 3 });
    const ghost = randomUUID();
    const missing = await place(orders, user, [{ productId: ghost, quantity: 1 }]);
    expect(missing).toEqual({ __typename: 'ProductNotFound', productId: ghost });
    expect(await stockOf(products, a)).toBe(3);
    const statuses = await orders.query<{ status: string }>('SELECT status FROM orders WHERE user_id = ?', [user.identity.userId]);
    expect(statuses.map((s) => s.status)).toEqual(['REJECTED', 'REJECTED']);
  });

  it('When one key is sent 20 times at once, then exactly one order exists and stock is reserved once', async () => {
    const a = await createProduct(products, { stock: 50 });
    const user = await newUser();
    const input = placeInput([{ productId: a, quantity: 2 }]);
    const answers = await Promise.all(Array.from({ length: 20 }, () => graphql(orders.url, PLACE, { input }, user.headers)));
    const ids = new Set(answers.map((r) => r.data?.placeOrder?.id));
    expect(answers.every((r) => r.data?.placeOrder?.__typename === 'Order')).toBe(true);
    expect(ids.size).toBe(1);
    const [orderId] = [...ids] as string[];
    expect(await orders.query('SELECT id FROM orders WHERE user_id = ?', [user.identity.userId])).toHaveLength(1);
    expect(await ledgerOf(products, orderId!)).toEqual([{ kind: 'RESERVATION', quantity_delta: -2 }]);
    expect(await stockOf(products, a)).toBe(48);
  });

  it('When a rejected order is replayed with its key, then the same refusal comes back without a new order', async () => {
    const a = await createProduct(products, { stock: 1 });
    const user = await newUser();
    const input = placeInput([{ productId: a, quantity: 2 }]);
    const first = await graphql(orders.url, PLACE, { input }, user.headers);
    const again = await graphql(orders.url, PLACE, { input }, user.headers);
    expect(again.data).toEqual(first.data);
    expect(first.data!.placeOrder.__typename).toBe('InsufficientStock');
    expect(await orders.query('SELECT id FROM orders WHERE user_id = ?', [user.identity.userId])).toHaveLength(1);
  });

  it('When an order is refused, then the refusal is a BusinessError with its sentence, first and on every replay (rows stored without one too)', async () => {
    const refusal = `mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { __typename ... on BusinessError { message } } }`;
    const a = await createProduct(products, { stock: 1 });
    const user = await newUser();
    const input = placeInput([{ productId: a, quantity: 2 }]);
    const expected = { __typename: 'InsufficientStock', message: `Only 1 left of product ${a}` };
    expect((await graphql(orders.url, refusal, { input }, user.headers)).data!.placeOrder).toEqual(expected);
    expect((await graphql(orders.url, refusal, { input }, user.headers)).data!.placeOrder).toEqual(expected);
    // A refusal recorded before refusals carried a sentence gets it on the way out.
    await orders.query(`UPDATE orders SET rejection = JSON_REMOVE(rejection, '$.message') WHERE user_id = ?`, [user.identity.userId]);
    expect(
      await orders.query(`SELECT rejection FROM orders WHERE user_id = ? AND rejection LIKE '%message%'`, [user.identity.userId]),
    ).toHaveLength(0);
    expect((await graphql(orders.url, refusal, { input }, user.headers)).data!.placeOrder).toEqual(expected);
  });

  it('When a key is reused for a different order, then it is refused on idempotencyKey and nothing changes', async () => {
    const a = await createProduct(products, { stock: 10 });
    const user = await newUser();
    const input = placeInput([{ productId: a, quantity: 1 }]);
    expect((await graphql(orders.url, PLACE, { input }, user.headers)).data!.placeOrder.__typename).toBe('Order');
    const other = await graphql(orders.url, PLACE, { input: { ...input, lines: [{ productId: a, quantity: 2 }] } }, user.headers);
    expect(errorCodes(other)).toEqual(['BAD_USER_INPUT']);
    expect(other.errors![0]!.extensions!.fieldErrors).toEqual([{ field: 'idempotencyKey', message: expect.any(String) }]);
    expect(await stockOf(products, a)).toBe(9);
  });

  it('When two members use the same key, then each gets their own order (keys are per member)', async () => {
    const a = await createProduct(products, { stock: 10 });
    const key = randomUUID();
    const first = await place(orders, await newUser(), [{ productId: a, quantity: 1 }], { idempotencyKey: key });
    const second = await place(orders, await newUser(), [{ productId: a, quantity: 1 }], { idempotencyKey: key });
    expect(first.id).not.toBe(second.id);
    expect(await stockOf(products, a)).toBe(8);
  });
});

describe('reading orders', () => {
  it('When another member or an anonymous caller asks for an order, then it is NOT_FOUND; an admin may read it', async () => {
    const a = await createProduct(products, { stock: 5 });
    const owner = await newUser();
    const order = await place(orders, owner, [{ productId: a, quantity: 1 }]);
    expect((await graphql(orders.url, ORDER, { id: order.id }, owner.headers)).data!.order.id).toBe(order.id);
    expect(errorCodes(await graphql(orders.url, ORDER, { id: order.id }, (await newUser()).headers))).toEqual(['NOT_FOUND']);
    expect(errorCodes(await graphql(orders.url, ORDER, { id: order.id }))).toEqual(['UNAUTHENTICATED']);
    expect(errorCodes(await graphql(orders.url, ORDER, { id: 'nope' }, owner.headers))).toEqual(['NOT_FOUND']);
    expect((await graphql(orders.url, ORDER, { id: order.id }, (await newUser('ADMIN')).headers)).data!.order.id).toBe(order.id);
  });

  it('When a member lists their orders, then they come newest first in pages with a total count and a status filter', async () => {
    const a = await createProduct(products, { stock: 20 });
    const user = await newUser();
    const placed: string[] = [];
    for (let i = 0; i < 5; i++) placed.push((await place(orders, user, [{ productId: a, quantity: 1 }])).id);
    await place(orders, user, [{ productId: a, quantity: 99 }]);
    await place(orders, await newUser(), [{ productId: a, quantity: 1 }]);
    const LIST = `query($first: Int, $after: String, $status: OrderStatus) {
      myOrders(first: $first, after: $after, status: $status) { totalCount edges { cursor node { id status } } pageInfo { hasNextPage endCursor } }
    }`;
    const page1 = (await graphql(orders.url, LIST, { first: 2, status: 'AWAITING_PAYMENT' }, user.headers)).data!.myOrders;
    expect(page1.totalCount).toBe(5);
    expect(page1.edges.map((e: { node: { id: string } }) => e.node.id)).toEqual([placed[4], placed[3]]);
    expect(page1.pageInfo.hasNextPage).toBe(true);
    const rest = (await graphql(orders.url, LIST, { first: 10, after: page1.pageInfo.endCursor, status: 'AWAITING_PAYMENT' }, user.headers))
      .data!.myOrders;
    expect(rest.edges.map((e: { node: { id: string } }) => e.node.id)).toEqual([placed[2], placed[1], placed[0]]);
    expect(rest.pageInfo.hasNextPage).toBe(false);
    const all = (await graphql(orders.url, LIST, {}, user.headers)).data!.myOrders;
    expect(all.totalCount).toBe(6);
    expect(all.edges[0].node.status).toBe('REJECTED');
    const bad = await graphql(orders.url, LIST, { first: 0, after: 'garbage' }, user.headers);
    expect((bad.errors![0]!.extensions!.fieldErrors as { field: string }[]).map((f) => f.field)).toEqual(['first', 'after']);
  });

  it('When User.orders is resolved, then only the member themself sees their orders', async () => {
    const a = await createProduct(products, { stock: 5 });
    const user = await newUser();
    const order = await place(orders, user, [{ productId: a, quantity: 1 }]);
    const ENTITIES = `query($reps: [_Any!]!) { _entities(representations: $reps) { ... on User { id orders(first: 5) { totalCount edges { node { id } } } } } }`;
    const reps = [{ __typename: 'User', id: user.identity.userId }];
    const own = await graphql(orders.url, ENTITIES, { reps }, user.headers);
    expect(own.data!._entities[0].orders.edges[0].node.id).toBe(order.id);
    const other = await graphql(orders.url, ENTITIES, { reps }, (await newUser()).headers);
    expect(other.data!._entities[0].orders).toBeNull();
  });
});

describe('internal API for wishlists', () => {
  const call = async (body: unknown, token?: string) => {
    const response = await fetch(`${orders.base}/internal/orders/place`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  };

  it('When wishlists places an order with a service token, then it is placed for the user in the body, idempotently', async () => {
    const a = await createProduct(products, { stock: 10 });
    const userId = randomUUID();
    const body = { userId, ...placeInput([{ productId: a, quantity: 3 }]) };
    const token = await serviceToken('wishlists', 'orders');
    const first = await call(body, token);
    expect(first.status).toBe(200);
    expect(first.body.result).toMatchObject({ __typename: 'Order', status: 'AWAITING_PAYMENT', totalAmount: 3 * 12_900 });
    expect(first.body.result.lines).toEqual([{ productId: a, quantity: 3, unitPrice: 12_900, regularPrice: 12_900, saleEventId: null }]);
    expect(first.body.result.shipping).toBeUndefined();
    const again = await call(body, token);
    expect(again.body.result.id).toBe(first.body.result.id);
    const [row] = await orders.query<{ user_id: string }>('SELECT user_id FROM orders WHERE id = ?', [first.body.result.id]);
    expect(row!.user_id).toBe(userId);
    expect(await stockOf(products, a)).toBe(7);
  });

  it('When the token is missing or for another audience, then 401; a bad body is 400 with field errors', async () => {
    const body = { userId: randomUUID(), ...placeInput([{ productId: randomUUID(), quantity: 1 }]) };
    expect((await call(body)).status).toBe(401);
    expect((await call(body, await serviceToken('wishlists', 'inventory'))).status).toBe(401);
    const bad = await call({ ...body, lines: [{ productId: randomUUID(), quantity: 0 }] }, await serviceToken('wishlists', 'orders'));
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('BAD_USER_INPUT');
    expect(bad.body.error.fieldErrors).toEqual([{ field: 'lines[0].quantity', message: expect.any(String) }]);
    const refused = await call(body, await serviceToken('wishlists', 'orders'));
    expect(refused.body.result).toMatchObject({ __typename: 'ProductNotFound', message: expect.any(String) });
  });
});
