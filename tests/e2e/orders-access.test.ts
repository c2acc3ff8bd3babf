import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCodes, type GraphQLResponse } from '@bth/testkit';
import {
  CANCEL_ORDER,
  ORDER,
  PAY_ORDER,
  PLACE_ORDER,
  REQUEST_RETURN,
  SHIPPING,
  startStack,
  type Member,
  type Stack,
} from '../support/stack.js';

/**
 * Whose data is whose, and what bad input does, through the router. Orders ship after 1 s and
 * are delivered 1 s later, so a delivered order exists for the return checks.
 */
let stack: Stack;
let admin: Member;
let alice: Member;
let bob: Member;
let productId: string;
let otherProductId: string;
beforeAll(async () => {
  stack = await startStack({
    only: ['users', 'products', 'orders', 'wishlists'],
    envFor: { orders: { SHIP_AFTER_SECONDS: '1', DELIVER_AFTER_SECONDS: '1', SCHEDULER_INTERVAL_MS: '200' } },
  });
  [admin, alice, bob] = await Promise.all([stack.signUpAdmin(), stack.signUp(), stack.signUp()]);
  [productId, otherProductId] = await Promise.all([
    stack.createProduct(admin, { stock: 50, price: 2_500 }),
    stack.createProduct(admin, { stock: 50, price: 1_000 }),
  ]);
});
afterAll(async () => {
  await stack?.stop();
});

const ADD = `mutation($id: ID!, $q: Int!) { addToWishlist(productId: $id, quantity: $q) { __typename ... on Wishlist { totalQuantity items { productId quantity } } } }`;
const CHANGE = `mutation($id: ID!, $q: Int!) { changeWishlistQuantity(productId: $id, quantity: $q) { __typename ... on Wishlist { totalQuantity } ... on NotInWishlist { productId } } }`;
const REMOVE = `mutation($id: ID!) { removeFromWishlist(productId: $id) { totalQuantity items { productId quantity } } }`;
const ORDER_WISHLIST = `mutation($shipping: ShippingInput!, $key: String!) {
  orderWishlist(shipping: $shipping, idempotencyKey: $key) { __typename ... on WishlistOrderPlaced { order { id } } ... on WishlistEmpty { message } }
}`;
const MY_WISHLIST = `{ myWishlist { totalQuantity items { productId quantity } } }`;

/** The field names of a BAD_USER_INPUT answer (and that it is one). */
function fieldErrors(response: GraphQLResponse): string[] {
  expect(errorCodes(response)).toEqual(['BAD_USER_INPUT']);
  return (response.errors![0]!.extensions!.fieldErrors as Array<{ field: string }>).map((f) => f.field).sort();
}

/** Every row an order, a payment or a reservation could add, and the stock of both products. */
async function writeCounts() {
  const count = async (service: string, table: string) =>
    Number((await stack.query<{ n: number }>(service, `SELECT COUNT(*) AS n FROM ${table}`))[0]!.n);
  return {
    orders: await count('orders', 'orders'),
    lines: await count('orders', 'order_lines'),
    history: await count('orders', 'order_events'),
    payments: await count('orders', 'payments'),
    refunds: await count('orders', 'refunds'),
    ledger: await count('products', 'stock_ledger'),
    reservations: await count('products', 'reservations'),
    wishlistOrders: await count('wishlists', 'wishlist_orders'),
    stock: [await stack.stockOf(productId), await stack.stockOf(otherProductId)],
  };
}

const wishlistRows = (member: Member) =>
  stack.query('wishlists', 'SELECT product_id, quantity, added_at, updated_at FROM wishlist_items WHERE user_id = ? ORDER BY product_id', [
    member.userId,
  ]);

describe('a member acts only on their own orders and wishlist', () => {
  it("When another member reads, pays, cancels or returns someone's order, then it is NOT_FOUND and the order does not change", async () => {
    const delivered = (await stack.placeOrder(alice, [{ productId, quantity: 2 }])).data!.placeOrder;
    expect(delivered).toMatchObject({ __typename: 'Order', status: 'AWAITING_PAYMENT' });
    const pay = await stack.gql(PAY_ORDER, { id: delivered.id, method: 'CARD', key: randomUUID() }, alice.accessToken);
    expect(pay.data!.payOrder).toMatchObject({ status: 'PAID' });
    const awaiting = (await stack.placeOrder(alice, [{ productId, quantity: 1 }])).data!.placeOrder;
    expect(awaiting).toMatchObject({ __typename: 'Order', status: 'AWAITING_PAYMENT' });
    await stack.waitForStatus(alice, delivered.id, 'DELIVERED');
    const before = await writeCounts();

    for (const id of [awaiting.id, delivered.id]) {
      const attempts = [
        stack.gql(ORDER, { id }, bob.accessToken),
        stack.gql(PAY_ORDER, { id, method: 'CARD', key: randomUUID() }, bob.accessToken),
        stack.gql(CANCEL_ORDER, { id }, bob.accessToken),
        stack.gql(REQUEST_RETURN, { id, reason: 'JUST_CANCEL' }, bob.accessToken),
      ];
      for (const response of await Promise.all(attempts)) {
        expect(errorCodes(response)).toEqual(['NOT_FOUND']);
        expect(response.data ?? null).toBeNull();
        // The same answer as for an id that never existed: nothing says the order is there.
        expect(JSON.stringify(response)).not.toContain(alice.userId);
      }
      // Anonymous callers are not even asked which order they mean.
      expect(errorCodes(await stack.gql(ORDER, { id }))).toEqual(['UNAUTHENTICATED']);
      expect(errorCodes(await stack.gql(CANCEL_ORDER, { id }))).toEqual(['UNAUTHENTICATED']);
    }
    expect(errorCodes(await stack.gql(ORDER, { id: randomUUID() }, bob.accessToken))).toEqual(['NOT_FOUND']);

    const bobsView = await stack.gql(`{ myOrders { totalCount edges { node { id } } } me { orders { totalCount } } }`, {}, bob.accessToken);
    expect(bobsView.data).toEqual({ myOrders: { totalCount: 0, edges: [] }, me: { orders: { totalCount: 0 } } });
    // Nor through Alice's user record.
    const viaUser = await stack.gql(
      `query($id: ID!) { user(id: $id) { id orders { totalCount } wishlist { totalQuantity } } }`,
      { id: alice.userId },
      bob.accessToken,
    );
    expect(errorCodes(viaUser)).toEqual(['FORBIDDEN']);

    expect(await writeCounts()).toEqual(before);
    expect((await stack.order(alice, awaiting.id)).status).toBe('AWAITING_PAYMENT');
    const stillDelivered = await stack.order(alice, delivered.id);
    expect(stillDelivered).toMatchObject({ status: 'DELIVERED', returnRequest: null, refund: null });
    // Alice herself still can: the refusals were about Bob.
    const ownReturn = await stack.gql(REQUEST_RETURN, { id: delivered.id, reason: 'UNLIKE' }, alice.accessToken);
    expect(ownReturn.data!.requestReturn).toMatchObject({ __typename: 'Order', status: 'RETURN_REQUESTED' });
  });

  it("When another member uses the wishlist operations, then they act on their own wishlist and never change someone else's", async () => {
    await stack.gql(ADD, { id: productId, q: 3 }, alice.accessToken);
    await stack.gql(ADD, { id: otherProductId, q: 1 }, alice.accessToken);
    const alicesRows = await wishlistRows(alice);
    expect(alicesRows).toHaveLength(2);
    const alicesView = (await stack.gql(MY_WISHLIST, {}, alice.accessToken)).data!.myWishlist;
    expect(alicesView.totalQuantity).toBe(4);

    // Bob names Alice's products; each operation works on Bob's own wishlist.
    expect((await stack.gql(ADD, { id: productId, q: 5 }, bob.accessToken)).data!.addToWishlist).toEqual({
      __typename: 'Wishlist',
      totalQuantity: 5,
      items: [{ productId, quantity: 5 }],
    });
    expect((await stack.gql(CHANGE, { id: otherProductId, q: 50 }, bob.accessToken)).data!.changeWishlistQuantity).toEqual({
      __typename: 'NotInWishlist',
      productId: otherProductId,
    });
    expect((await stack.gql(REMOVE, { id: productId }, bob.accessToken)).data!.removeFromWishlist).toEqual({ totalQuantity: 0, items: [] });
    expect((await stack.gql(REMOVE, { id: otherProductId }, bob.accessToken)).data!.removeFromWishlist).toEqual({
      totalQuantity: 0,
      items: [],
    });
    const bobOrders = await stack.gql(ORDER_WISHLIST, { shipping: SHIPPING, key: randomUUID() }, bob.accessToken);
    expect(bobOrders.data!.orderWishlist.__typename).toBe('WishlistEmpty');
    expect((await stack.gql(MY_WISHLIST, {}, bob.accessToken)).data!.myWishlist).toEqual({ totalQuantity: 0, items: [] });
    expect(errorCodes(await stack.gql(MY_WISHLIST))).toEqual(['UNAUTHENTICATED']);
    expect(errorCodes(await stack.gql(ADD, { id: productId, q: 1 }))).toEqual(['UNAUTHENTICATED']);

    expect(await wishlistRows(alice)).toEqual(alicesRows);
    expect((await stack.gql(MY_WISHLIST, {}, alice.accessToken)).data!.myWishlist).toEqual(alicesView);
  });
});

describe('invalid input through the router', () => {
  it('When an order breaks every rule at once, then BAD_USER_INPUT lists each broken field and nothing is written or reserved', async () => {
    const before = await writeCounts();
    const place = (
      lines: Array<{ productId: string; quantity: number }>,
      shipping: Record<string, string> = SHIPPING,
      idempotencyKey: string = randomUUID(),
    ) => stack.gql(PLACE_ORDER, { input: { lines, shipping, idempotencyKey } }, alice.accessToken);

    const everything = await place(
      [
        { productId, quantity: 0 },
        { productId: otherProductId, quantity: 101 },
        { productId, quantity: 1 },
        { productId: 'not-a-product', quantity: 1 },
      ],
      { postalCode: '1234', address: '   ', phone: '02-123-4567' },
      'short',
    );
    expect(fieldErrors(everything)).toEqual(
      [
        'idempotencyKey',
        'lines[0].quantity',
        'lines[1].quantity',
        'lines[2].productId',
        'lines[3].productId',
        'shipping.address',
        'shipping.phone',
        'shipping.postalCode',
      ].sort(),
    );
    expect(fieldErrors(await place(Array.from({ length: 51 }, () => ({ productId: randomUUID(), quantity: 1 }))))).toEqual(['lines']);
    expect(fieldErrors(await place([]))).toEqual(['lines']);
    expect(fieldErrors(await place([{ productId, quantity: -5 }]))).toEqual(['lines[0].quantity']);
    for (const postalCode of ['abcde', '123456'])
      expect(fieldErrors(await place([{ productId, quantity: 1 }], { ...SHIPPING, postalCode }))).toEqual(['shipping.postalCode']);
    for (const phone of ['12345', '010-1234-5678', '0101234567x'])
      expect(fieldErrors(await place([{ productId, quantity: 1 }], { ...SHIPPING, phone }))).toEqual(['shipping.phone']);
    expect(fieldErrors(await place([{ productId, quantity: 1 }], { ...SHIPPING, address: 'x'.repeat(101) }))).toEqual(['shipping.address']);
    for (const key of ['1234567', 'has a space', 'k'.repeat(101), 'ключ-ключ-ключ']) {
      expect(fieldErrors(await place([{ productId, quantity: 1 }], SHIPPING, key))).toEqual(['idempotencyKey']);
    }
    expect(await writeCounts()).toEqual(before);
  });

  it('When a payment key or the wishlist input is invalid, then BAD_USER_INPUT names the field and nothing changes', async () => {
    const order = (await stack.placeOrder(bob, [{ productId: otherProductId, quantity: 1 }])).data!.placeOrder;
    expect(order).toMatchObject({ __typename: 'Order', status: 'AWAITING_PAYMENT' });
    await stack.gql(ADD, { id: otherProductId, q: 60 }, bob.accessToken);
    const rows = await wishlistRows(bob);
    expect(rows).toEqual([expect.objectContaining({ product_id: otherProductId, quantity: 60 })]);
    const before = await writeCounts();

    for (const key of ['short', 'with space', '']) {
      expect(fieldErrors(await stack.gql(PAY_ORDER, { id: order.id, method: 'CARD', key }, bob.accessToken))).toEqual(['idempotencyKey']);
    }
    for (const q of [0, -1, 101]) {
      expect(fieldErrors(await stack.gql(ADD, { id: productId, q }, bob.accessToken))).toEqual(['quantity']);
      expect(fieldErrors(await stack.gql(CHANGE, { id: otherProductId, q }, bob.accessToken))).toEqual(['quantity']);
    }
    // 60 there, 41 more would pass the 100 per product.
    expect(fieldErrors(await stack.gql(ADD, { id: otherProductId, q: 41 }, bob.accessToken))).toEqual(['quantity']);
    const badOrder = await stack.gql(
      ORDER_WISHLIST,
      { shipping: { postalCode: '12', address: '', phone: 'call me' }, key: 'tiny' },
      bob.accessToken,
    );
    expect(fieldErrors(badOrder)).toEqual(['idempotencyKey', 'shipping.address', 'shipping.phone', 'shipping.postalCode']);

    expect(await writeCounts()).toEqual(before);
    expect(await wishlistRows(bob)).toEqual(rows);
    expect((await stack.order(bob, order.id)).status).toBe('AWAITING_PAYMENT');
  });
});
