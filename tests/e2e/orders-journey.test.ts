import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CANCEL_ORDER, PAY_ORDER, REQUEST_RETURN, SHIPPING, startStack, type Member, type Stack } from '../support/stack.js';

/**
 * A buyer's whole journey through the router, with the order lifecycle sped up: the scheduler
 * ships 2 s after payment, delivers 1 s later, completes a return after 1 s, and lets an unpaid
 * order expire after 5 s (long enough for the journey to pay in time on a busy machine).
 */
let stack: Stack;
let admin: Member;
beforeAll(async () => {
  stack = await startStack({
    only: ['users', 'products', 'orders', 'wishlists'],
    envFor: {
      orders: {
        SHIP_AFTER_SECONDS: '2',
        DELIVER_AFTER_SECONDS: '1',
        RETURN_COMPLETE_AFTER_SECONDS: '1',
        ORDER_PAYMENT_TIMEOUT_SECONDS: '5',
        SCHEDULER_INTERVAL_MS: '200',
      },
    },
  });
  admin = await stack.signUpAdmin();
});
afterAll(async () => {
  await stack?.stop();
});

const ADD = `mutation($id: ID!, $q: Int!) { addToWishlist(productId: $id, quantity: $q) { __typename ... on Wishlist { totalQuantity } } }`;
const MY_WISHLIST = `{ myWishlist { totalQuantity items { productId quantity product { id name price stock } } } }`;
const ORDER_WISHLIST = `mutation($shipping: ShippingInput!, $key: String!) {
  orderWishlist(shipping: $shipping, idempotencyKey: $key) {
    __typename
    ... on WishlistOrderPlaced {
      order { id status totalAmount lines { quantity unitPrice product { id name } } }
      wishlist { totalQuantity items { productId } }
    }
    ... on WishlistOrderRejected { reason productId }
  }
}`;

const statuses = (history: Array<{ status: string }>) => history.map((h) => h.status);

describe('order journey through the router', () => {
  it('When a member wishes, orders the wishlist, pays, receives and returns, then each status follows and the stock comes back', async () => {
    const member = await stack.signUp();
    const vitamin = await stack.createProduct(admin, { stock: 10, price: 12_900, name: `Journey Vitamin ${randomUUID().slice(0, 6)}` });
    const omega = await stack.createProduct(admin, { stock: 10, price: 5_000, name: `Journey Omega ${randomUUID().slice(0, 6)}` });

    // Browse: both products are listed to anyone.
    const listing = await stack.gql(`{ products(first: 50) { nodes { id name price stock } } }`);
    expect(listing.errors).toBeUndefined();
    const listed = listing.data!.products.nodes as Array<{ id: string; price: number; stock: number }>;
    expect(listed).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ id: vitamin, price: 12_900, stock: 10 }),
        expect.objectContaining({ id: omega, price: 5_000, stock: 10 }),
      ]),
    );

    expect((await stack.gql(ADD, { id: vitamin, q: 2 }, member.accessToken)).data!.addToWishlist).toEqual({
      __typename: 'Wishlist',
      totalQuantity: 2,
    });
    expect((await stack.gql(ADD, { id: omega, q: 1 }, member.accessToken)).data!.addToWishlist).toEqual({
      __typename: 'Wishlist',
      totalQuantity: 3,
    });

    // The wishlist subgraph stores ids only; names, prices and stock come from products through the router.
    const wishlist = await stack.gql(MY_WISHLIST, {}, member.accessToken);
    expect(wishlist.errors).toBeUndefined();
    expect(wishlist.data!.myWishlist.totalQuantity).toBe(3);
    expect(wishlist.data!.myWishlist.items).toHaveLength(2);
    expect(wishlist.data!.myWishlist.items).toEqual(
      expect.arrayContaining([
        { productId: omega, quantity: 1, product: { id: omega, name: expect.stringMatching(/^Journey Omega /), price: 5_000, stock: 10 } },
        {
          productId: vitamin,
          quantity: 2,
          product: { id: vitamin, name: expect.stringMatching(/^Journey Vitamin /), price: 12_900, stock: 10 },
        },
      ]),
    );

    const ordered = await stack.gql(ORDER_WISHLIST, { shipping: SHIPPING, key: randomUUID() }, member.accessToken);
    expect(ordered.errors).toBeUndefined();
    const placed = ordered.data!.orderWishlist;
    expect(placed.__typename).toBe('WishlistOrderPlaced');
    const total = 2 * 12_900 + 5_000;
    expect(placed.order).toMatchObject({ status: 'AWAITING_PAYMENT', totalAmount: total });
    expect(placed.order.lines).toEqual(
      expect.arrayContaining([
        { quantity: 2, unitPrice: 12_900, product: { id: vitamin, name: expect.any(String) } },
        { quantity: 1, unitPrice: 5_000, product: { id: omega, name: expect.any(String) } },
      ]),
    );
    expect(placed.wishlist).toEqual({ totalQuantity: 0, items: [] });
    const orderId = placed.order.id as string;

    const paid = await stack.gql(PAY_ORDER, { id: orderId, method: 'CARD', key: randomUUID() }, member.accessToken);
    expect(paid.data!.payOrder).toEqual({ __typename: 'Order', id: orderId, status: 'PAID', payment: { method: 'CARD', amount: total } });
    expect(await stack.stockOf(vitamin)).toBe(8);
    expect(await stack.stockOf(omega)).toBe(9);

    const delivered = await stack.waitForStatus(member, orderId, 'DELIVERED');
    expect(statuses(delivered.history)).toEqual(['PENDING', 'AWAITING_PAYMENT', 'PAID', 'SHIPPING', 'DELIVERED']);
    // Delivered goods are sold, not back on the shelf.
    expect(await stack.stockOf(vitamin)).toBe(8);

    const requested = await stack.gql(REQUEST_RETURN, { id: orderId, reason: 'UNLIKE' }, member.accessToken);
    expect(requested.data!.requestReturn).toEqual({
      __typename: 'Order',
      id: orderId,
      status: 'RETURN_REQUESTED',
      returnRequest: { reason: 'UNLIKE' },
    });
    const again = await stack.gql(REQUEST_RETURN, { id: orderId, reason: 'UNLIKE' }, member.accessToken);
    expect(again.data!.requestReturn).toEqual({
      __typename: 'ReturnNotAllowed',
      orderId,
      reason: 'ALREADY_REQUESTED',
      status: 'RETURN_REQUESTED',
    });

    const returned = await stack.waitForStatus(member, orderId, 'RETURNED');
    expect(statuses(returned.history)).toEqual([
      'PENDING',
      'AWAITING_PAYMENT',
      'PAID',
      'SHIPPING',
      'DELIVERED',
      'RETURN_REQUESTED',
      'RETURNED',
    ]);
    expect(returned.refund).toEqual({ amount: total, reason: 'RETURNED' });
    expect(returned.payment).toEqual({ method: 'CARD', amount: total });
    expect(await stack.stockOf(vitamin)).toBe(10);
    expect(await stack.stockOf(omega)).toBe(10);

    const report = await stack.inventoryReport(admin, [vitamin, omega]);
    expect(report).toMatchObject({ consistent: true, totalDifference: 0, soldUnits: 0, totalStock: 20 });
    expect(report.products).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ productId: vitamin, reserved: 2, restocked: 2, released: 0, sold: 0, stock: 10 }),
        expect.objectContaining({ productId: omega, reserved: 1, restocked: 1, released: 0, sold: 0, stock: 10 }),
      ]),
    );
    // Exactly one payment and one refund exist for the order.
    const money = await stack.query<{ payments: number; refunds: number }>(
      'orders',
      `SELECT (SELECT COUNT(*) FROM payments WHERE order_id = ? AND status = 'SUCCEEDED') AS payments, (SELECT COUNT(*) FROM refunds WHERE order_id = ?) AS refunds`,
      [orderId, orderId],
    );
    expect(money.map((r) => ({ payments: Number(r.payments), refunds: Number(r.refunds) }))).toEqual([{ payments: 1, refunds: 1 }]);
  });

  it('When an unpaid and a paid order are cancelled, then both end CANCELLED, the stock is released and only the paid one is refunded', async () => {
    const member = await stack.signUp();
    const product = await stack.createProduct(admin, { stock: 10, price: 3_000 });

    const unpaid = (await stack.placeOrder(member, [{ productId: product, quantity: 3 }])).data!.placeOrder;
    expect(unpaid).toMatchObject({ __typename: 'Order', status: 'AWAITING_PAYMENT', totalAmount: 9_000 });
    const paidOrder = (await stack.placeOrder(member, [{ productId: product, quantity: 2 }])).data!.placeOrder;
    expect(paidOrder).toMatchObject({ __typename: 'Order', status: 'AWAITING_PAYMENT', totalAmount: 6_000 });
    expect(await stack.stockOf(product)).toBe(5);
    const pay = await stack.gql(PAY_ORDER, { id: paidOrder.id, method: 'TRANSFER', key: randomUUID() }, member.accessToken);
    expect(pay.data!.payOrder).toMatchObject({ __typename: 'Order', status: 'PAID' });

    // Cancel the paid one first: it ships 2 s after payment, and a shipped order can no longer be cancelled.
    const cancelledPaid = (await stack.gql(CANCEL_ORDER, { id: paidOrder.id }, member.accessToken)).data!.cancelOrder;
    const cancelledUnpaid = (await stack.gql(CANCEL_ORDER, { id: unpaid.id }, member.accessToken)).data!.cancelOrder;
    // The answer is CANCELLED, or CANCELLING when the scheduler happens to be finishing that very
    // cancellation at the moment (documented); either way the order ends CANCELLED.
    for (const [answer, id] of [
      [cancelledPaid, paidOrder.id],
      [cancelledUnpaid, unpaid.id],
    ]) {
      expect(answer).toMatchObject({ __typename: 'Order', id, status: expect.stringMatching(/^CANCELL(ING|ED)$/) });
    }
    const paidEnd = await stack.waitForStatus(member, paidOrder.id, 'CANCELLED');
    const unpaidEnd = await stack.waitForStatus(member, unpaid.id, 'CANCELLED');
    expect(paidEnd.refund).toEqual({ amount: 6_000, reason: 'CANCELLED' });
    expect(unpaidEnd.refund).toBeNull();
    expect(statuses(unpaidEnd.history)).toEqual(['PENDING', 'AWAITING_PAYMENT', 'CANCELLING', 'CANCELLED']);
    expect(statuses(paidEnd.history)).toEqual(['PENDING', 'AWAITING_PAYMENT', 'PAID', 'CANCELLING', 'CANCELLED']);
    expect(await stack.stockOf(product)).toBe(10);

    // A double click changes nothing; a cancelled order can no longer be paid.
    expect((await stack.gql(CANCEL_ORDER, { id: unpaid.id }, member.accessToken)).data!.cancelOrder).toMatchObject({ status: 'CANCELLED' });
    const payCancelled = await stack.gql(PAY_ORDER, { id: unpaid.id, method: 'CARD', key: randomUUID() }, member.accessToken);
    expect(payCancelled.data!.payOrder).toEqual({ __typename: 'OrderNotPayable', orderId: unpaid.id, status: 'CANCELLED' });

    const refunds = await stack.query<{ order_id: string; amount: number; reason: string }>(
      'orders',
      'SELECT order_id, amount, reason FROM refunds WHERE order_id IN (?, ?)',
      [unpaid.id, paidOrder.id],
    );
    expect(refunds.map((r) => ({ ...r, amount: Number(r.amount) }))).toEqual([
      { order_id: paidOrder.id, amount: 6_000, reason: 'CANCELLED' },
    ]);
    const report = await stack.inventoryReport(admin, [product]);
    expect(report).toMatchObject({ consistent: true, soldUnits: 0, totalStock: 10 });
    expect(report.products[0]).toMatchObject({ reserved: 5, released: 5, restocked: 0 });
  });

  it('When an order is not paid in time, then it EXPIRES, its stock goes back on sale and it can no longer be paid', async () => {
    const member = await stack.signUp();
    const product = await stack.createProduct(admin, { stock: 4, price: 8_000 });
    const placed = (await stack.placeOrder(member, [{ productId: product, quantity: 4 }])).data!.placeOrder;
    expect(placed).toMatchObject({ __typename: 'Order', status: 'AWAITING_PAYMENT' });
    expect(new Date(placed.paymentDueAt).getTime()).toBeLessThanOrEqual(Date.now() + 5_000 + 1_000);
    expect(await stack.stockOf(product)).toBe(0);
    // Sold out while the order holds the stock.
    const other = await stack.signUp();
    expect((await stack.placeOrder(other, [{ productId: product, quantity: 1 }])).data!.placeOrder).toEqual({
      __typename: 'InsufficientStock',
      productId: product,
      requested: 1,
      available: 0,
    });

    const expired = await stack.waitForStatus(member, placed.id, 'EXPIRED');
    expect(statuses(expired.history)).toEqual(['PENDING', 'AWAITING_PAYMENT', 'EXPIRED']);
    expect(expired.payment).toBeNull();
    expect(await stack.stockOf(product)).toBe(4);
    const late = await stack.gql(PAY_ORDER, { id: placed.id, method: 'CARD', key: randomUUID() }, member.accessToken);
    expect(late.data!.payOrder).toEqual({ __typename: 'OrderNotPayable', orderId: placed.id, status: 'EXPIRED' });
    const report = await stack.inventoryReport(admin, [product]);
    expect(report).toMatchObject({ consistent: true, soldUnits: 0, totalStock: 4 });
    expect(report.products[0]).toMatchObject({ reserved: 4, released: 4 });
    // The released stock is on sale again.
    expect((await stack.placeOrder(other, [{ productId: product, quantity: 4 }])).data!.placeOrder).toMatchObject({
      __typename: 'Order',
      status: 'AWAITING_PAYMENT',
    });
  });
});
