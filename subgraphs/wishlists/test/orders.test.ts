import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deadUrl, errorCodes, graphql, serviceToken } from '@bth/testkit';
import { startOrders, type Orders } from '@bth/fixtures/orders';
import { createProduct, startProducts, stockOf, type Products } from '@bth/fixtures/products';
import { newMember, startWishlists } from '@bth/fixtures/wishlists';

/**
 * Wishlists against the real products and orders subgraphs, all in-process: existence checks go
 * to products' `product(id:)` query, `orderWishlist` goes through orders' internal API, which
 * reserves stock in products' inventory.
 */
type Wishlists = Awaited<ReturnType<typeof startWishlists>>;
let products: Products;
let orders: Orders;
let wishlists: Wishlists;

beforeAll(async () => {
  products = await startProducts();
  // No scheduler: these tests need placing only, and no timer should outlive them.
  orders = await startOrders({ inventoryUrls: [products.base] }, { scheduler: false });
  wishlists = await startWishlists({ productsUrls: [products.url], ordersInternalUrl: orders.base });
});
afterAll(async () => {
  await orders?.stop();
  await products?.close();
  // Last: drops every database of this run (products', orders' and ours).
  await wishlists?.stop();
});

const WISHLIST = `items { productId quantity } totalQuantity`;
const ADD = `mutation($p: ID!, $q: Int!) { addToWishlist(productId: $p, quantity: $q) {
  __typename ... on Wishlist { ${WISHLIST} } ... on ProductNotFound { productId } } }`;
const ORDER = `mutation($s: ShippingInput!, $k: String!) { orderWishlist(shipping: $s, idempotencyKey: $k) {
  __typename
  ... on WishlistOrderPlaced { order { id } wishlist { ${WISHLIST} } }
  ... on WishlistOrderRejected { reason productId message }
} }`;
const MY = `{ myWishlist { ${WISHLIST} } }`;
const SHIPPING = { postalCode: '06236', address: 'Teheran-ro 123, Gangnam-gu', phone: '01012345678' };

type Member = Awaited<ReturnType<typeof newMember>>;
const add = (m: Member, productId: string, quantity = 1) => graphql(wishlists.url, ADD, { p: productId, q: quantity }, m.headers);
const order = (m: Member, key: string, url = wishlists.url) => graphql(url, ORDER, { s: SHIPPING, k: key }, m.headers);
const mine = async (m: Member) => (await graphql(wishlists.url, MY, {}, m.headers)).data!.myWishlist;

async function ordersOf(userId: string): Promise<Array<{ id: string; status: string }>> {
  const [rows] = (await orders.database.pool.query('SELECT id, status FROM orders WHERE user_id = ?', [userId])) as unknown as [
    Array<{ id: string; status: string }>,
  ];
  return rows;
}

async function linesOf(orderId: string): Promise<Array<{ productId: string; quantity: number }>> {
  const [rows] = (await orders.database.pool.query(
    'SELECT product_id AS productId, quantity FROM order_lines WHERE order_id = ? ORDER BY product_id',
    [orderId],
  )) as unknown as [Array<{ productId: string; quantity: number }>];
  return rows;
}

describe('wishlists with the real products and orders', () => {
  it('When a real product is added, then it is in the wishlist; an unknown id gives ProductNotFound', async () => {
    const member = await newMember();
    const id = await createProduct(products, { stock: 5 });
    expect((await add(member, id, 2)).data!.addToWishlist).toEqual({
      __typename: 'Wishlist',
      items: [{ productId: id, quantity: 2 }],
      totalQuantity: 2,
    });
    const unknown = randomUUID();
    expect((await add(member, unknown)).data!.addToWishlist).toEqual({ __typename: 'ProductNotFound', productId: unknown });
  });

  it('When the wishlist is ordered, then one order holds every item, stock is reserved and the items leave', async () => {
    const member = await newMember();
    const a = await createProduct(products, { stock: 10 });
    const b = await createProduct(products, { stock: 10 });
    await add(member, a, 2);
    await add(member, b, 3);
    const placed = await order(member, randomUUID());
    expect(placed.errors).toBeUndefined();
    expect(placed.data!.orderWishlist).toMatchObject({ __typename: 'WishlistOrderPlaced', wishlist: { items: [], totalQuantity: 0 } });
    const orderId = placed.data!.orderWishlist.order.id as string;
    expect(await ordersOf(member.userId)).toEqual([{ id: orderId, status: 'AWAITING_PAYMENT' }]);
    expect(await linesOf(orderId)).toEqual(
      [
        { productId: a, quantity: 2 },
        { productId: b, quantity: 3 },
      ].sort((x, y) => x.productId.localeCompare(y.productId)),
    );
    expect(await stockOf(products, a)).toBe(8);
    expect(await stockOf(products, b)).toBe(7);
    expect(await mine(member)).toEqual({ items: [], totalQuantity: 0 });
  });

  it('When the same key is sent again, then the same order is answered and nothing is ordered or removed twice', async () => {
    const member = await newMember();
    const id = await createProduct(products, { stock: 10 });
    await add(member, id, 1);
    const key = randomUUID();
    const first = await order(member, key);
    const orderId = first.data!.orderWishlist.order.id as string;
    // Added after the order: a replay must not take it out.
    await add(member, id, 4);
    const replay = await order(member, key);
    expect(replay.data!.orderWishlist).toEqual({
      __typename: 'WishlistOrderPlaced',
      order: { id: orderId },
      wishlist: { items: [{ productId: id, quantity: 4 }], totalQuantity: 4 },
    });
    expect(await ordersOf(member.userId)).toHaveLength(1);
    expect(await stockOf(products, id)).toBe(9);
  });

  it('When the same key arrives several times at once, then all answer one order and the items leave once', async () => {
    const member = await newMember();
    const id = await createProduct(products, { stock: 10 });
    await add(member, id, 3);
    const key = randomUUID();
    const racing = await Promise.all(Array.from({ length: 5 }, () => order(member, key)));
    const ids = new Set(racing.map((r) => r.data?.orderWishlist?.order?.id ?? JSON.stringify(r.errors)));
    expect(ids.size).toBe(1);
    expect(await ordersOf(member.userId)).toHaveLength(1);
    expect(await stockOf(products, id)).toBe(7);
    expect(await mine(member)).toEqual({ items: [], totalQuantity: 0 });
    expect(await wishlists.count('SELECT COUNT(*) AS n FROM wishlist_orders WHERE user_id = ?', [member.userId])).toBe(1);
  });

  it('When wishlists crashed after orders placed the order, then the retry with the same key finishes the job', async () => {
    const member = await newMember();
    const id = await createProduct(products, { stock: 10 });
    await add(member, id, 2);
    const key = randomUUID();
    // What the lost first attempt did: the order was placed, but the wishlist never heard back.
    const direct = await fetch(`${orders.base}/internal/orders/place`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await serviceToken('wishlists', 'orders')}` },
      body: JSON.stringify({ userId: member.userId, lines: [{ productId: id, quantity: 2 }], shipping: SHIPPING, idempotencyKey: key }),
    });
    const firstOrderId = ((await direct.json()) as { result: { id: string } }).result.id;
    const retry = await order(member, key);
    expect(retry.data!.orderWishlist).toMatchObject({
      __typename: 'WishlistOrderPlaced',
      order: { id: firstOrderId },
      wishlist: { items: [] },
    });
    expect(await ordersOf(member.userId)).toHaveLength(1);
    expect(await stockOf(products, id)).toBe(8);
  });

  it('When orders refuses (not enough stock), then WishlistOrderRejected names the product and the wishlist is unchanged', async () => {
    const member = await newMember();
    const plenty = await createProduct(products, { stock: 10 });
    const scarce = await createProduct(products, { stock: 1 });
    await add(member, plenty, 1);
    await add(member, scarce, 2);
    const before = await mine(member);
    const refused = await order(member, randomUUID());
    expect(refused.data!.orderWishlist).toEqual({
      __typename: 'WishlistOrderRejected',
      reason: 'InsufficientStock',
      productId: scarce,
      message: expect.any(String),
    });
    expect(await mine(member)).toEqual(before);
    expect(await stockOf(products, plenty)).toBe(10);
    expect(await stockOf(products, scarce)).toBe(1);
  });

  it('When the orders server is stopped, then UPSTREAM_UNAVAILABLE (retryable) and the wishlist is unchanged', async () => {
    const member = await newMember();
    const id = await createProduct(products, { stock: 10 });
    await add(member, id, 3);
    const before = await mine(member);
    const doomed = await startOrders({ inventoryUrls: [products.base] }, { database: orders.database, scheduler: false });
    const viaDoomed = await wishlists.withUpstreams({ productsUrls: [products.url], ordersInternalUrl: doomed.base });
    try {
      await doomed.stop();
      const response = await order(member, randomUUID(), viaDoomed.url);
      expect(errorCodes(response)).toEqual(['UPSTREAM_UNAVAILABLE']);
      expect(response.errors![0]!.extensions!.retryable).toBe(true);
    } finally {
      await viaDoomed.close();
    }
    expect(await mine(member)).toEqual(before);
    expect(await ordersOf(member.userId)).toHaveLength(0);
    expect(await stockOf(products, id)).toBe(10);
  });

  it('When orders cannot reach inventory, then UPSTREAM_UNAVAILABLE (retryable) and the wishlist is unchanged', async () => {
    const member = await newMember();
    const id = await createProduct(products, { stock: 10 });
    await add(member, id, 1);
    const before = await mine(member);
    const blind = await startOrders({ inventoryUrls: [await deadUrl()] }, { database: orders.database, scheduler: false });
    const viaBlind = await wishlists.withUpstreams({ productsUrls: [products.url], ordersInternalUrl: blind.base });
    try {
      const response = await order(member, randomUUID(), viaBlind.url);
      expect(errorCodes(response)).toEqual(['UPSTREAM_UNAVAILABLE']);
      expect(response.errors![0]!.extensions!.retryable).toBe(true);
    } finally {
      await viaBlind.close();
      await blind.stop();
    }
    expect(await mine(member)).toEqual(before);
    expect(await stockOf(products, id)).toBe(10);
  });
});
