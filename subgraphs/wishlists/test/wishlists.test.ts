import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deadUrl, errorCodes, graphql } from '@bth/testkit';
import { createProduct, startProducts, type Products } from '@bth/fixtures/products';
import { newMember, startWishlists } from '@bth/fixtures/wishlists';

/**
 * Wishlists against the real products subgraph in-process, behind a dead first replica so every
 * other existence check has to fail over. Orders is unreachable here (`orders.test.ts` has it).
 */
type Wishlists = Awaited<ReturnType<typeof startWishlists>>;
let wishlists: Wishlists;
let products: Products;

beforeAll(async () => {
  products = await startProducts();
  // The first replica is down on purpose: every call that reaches products must fail over.
  wishlists = await startWishlists({ productsUrls: [await deadUrl('/graphql'), products.url], ordersInternalUrl: await deadUrl() });
});
afterAll(async () => {
  await products?.close();
  // Last: drops every database of this run (products' and ours).
  await wishlists?.stop();
});

const WISHLIST = `items { productId product { id } quantity addedAt } totalQuantity`;
const MY = `{ myWishlist { ${WISHLIST} } }`;
const ADD = `mutation($p: ID!, $q: Int!) { addToWishlist(productId: $p, quantity: $q) {
  __typename ... on Wishlist { ${WISHLIST} } ... on ProductNotFound { productId } ... on WishlistFull { limit } ... on BusinessError { message } } }`;
const CHANGE = `mutation($p: ID!, $q: Int!) { changeWishlistQuantity(productId: $p, quantity: $q) {
  __typename ... on Wishlist { ${WISHLIST} } ... on NotInWishlist { productId } ... on BusinessError { message } } }`;
const REMOVE = `mutation($p: ID!) { removeFromWishlist(productId: $p) { ${WISHLIST} } }`;
const ORDER = `mutation($s: ShippingInput!, $k: String!) { orderWishlist(shipping: $s, idempotencyKey: $k) {
  __typename ... on WishlistEmpty { message } } }`;
const SHIPPING = { postalCode: '06236', address: 'Teheran-ro 123, Gangnam-gu', phone: '01012345678' };

const product = () => createProduct(products);

/**
 * GraphQL requests the real products has answered so far, every status, from its own /metrics.
 * It is observed before products' response leaves, and everything runs in this process, so the
 * count is exact by the time wishlists has answered.
 */
async function productsAsked(): Promise<number> {
  const text = await (await fetch(`${products.base}/metrics`)).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith('http_request_duration_seconds_count{') && line.includes('route="graphql"'))
    .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
}

type Member = Awaited<ReturnType<typeof newMember>>;
const add = (m: Member, productId: string, quantity = 1) => graphql(wishlists.url, ADD, { p: productId, q: quantity }, m.headers);
const mine = async (m: Member) => (await graphql(wishlists.url, MY, {}, m.headers)).data!.myWishlist;
const itemRows = (userId: string) => wishlists.count('SELECT COUNT(*) AS n FROM wishlist_items WHERE user_id = ?', [userId]);

describe('wishlists subgraph', () => {
  it('When a member adds a product, then the wishlist lists it with a product reference for the router', async () => {
    const member = await newMember();
    const id = await product();
    const added = await add(member, id, 2);
    expect(added.errors).toBeUndefined();
    expect(added.data!.addToWishlist).toMatchObject({
      __typename: 'Wishlist',
      items: [{ productId: id, product: { id }, quantity: 2, addedAt: expect.stringMatching(/Z$/) }],
      totalQuantity: 2,
    });
    const { __typename: _, ...wishlist } = added.data!.addToWishlist;
    expect(await mine(member)).toEqual(wishlist);
  });

  it('When the same product is added again, then its quantity grows on the same row and addedAt stays', async () => {
    const member = await newMember();
    const id = await product();
    const first = await add(member, id, 3);
    const second = await add(member, id, 4);
    expect(second.data!.addToWishlist.items).toEqual([{ ...first.data!.addToWishlist.items[0], quantity: 7 }]);
    expect(await itemRows(member.userId)).toBe(1);
  });

  it('When an add would take a product past 100, then BAD_USER_INPUT names the room left and nothing changes', async () => {
    const member = await newMember();
    const id = await product();
    await add(member, id, 98);
    const over = await add(member, id, 3);
    expect(errorCodes(over)).toEqual(['BAD_USER_INPUT']);
    expect(over.errors![0]!.extensions!.fieldErrors).toEqual([{ field: 'quantity', message: expect.stringContaining('at most 2 more') }]);
    expect((await mine(member)).items[0].quantity).toBe(98);
    expect((await add(member, id, 2)).data!.addToWishlist.totalQuantity).toBe(100);
  });

  it('When the quantity is out of range, then BAD_USER_INPUT before products is even asked, and nothing is written', async () => {
    const member = await newMember();
    const id = await product();
    const askedBefore = await productsAsked();
    for (const q of [0, -5, 101]) {
      const response = await add(member, id, q);
      expect(errorCodes(response)).toEqual(['BAD_USER_INPUT']);
      expect(response.errors![0]!.extensions!.fieldErrors).toEqual([{ field: 'quantity', message: expect.any(String) }]);
    }
    expect(await productsAsked()).toBe(askedBefore);
    expect(await itemRows(member.userId)).toBe(0);
    // The count does see wishlists' calls: a valid add asks products exactly once.
    expect((await add(member, id, 1)).data!.addToWishlist.__typename).toBe('Wishlist');
    expect(await productsAsked()).toBe(askedBefore + 1);
  });

  it('When the product does not exist, then ProductNotFound and nothing is written', async () => {
    const member = await newMember();
    // An unknown UUID is products answering `product: null`; a non-UUID cannot exist and is not asked about.
    for (const [unknown, asked] of [
      [randomUUID(), 1],
      ['not-a-uuid', 0],
    ] as const) {
      const askedBefore = await productsAsked();
      const response = await add(member, unknown);
      expect(response.data!.addToWishlist).toEqual({
        __typename: 'ProductNotFound',
        message: `Product ${unknown} does not exist`,
        productId: unknown,
      });
      expect(await productsAsked()).toBe(askedBefore + asked);
    }
    expect(await itemRows(member.userId)).toBe(0);
  });

  it('When the quantity is changed, then it is set; a product not in the wishlist gives NotInWishlist', async () => {
    const member = await newMember();
    const id = await product();
    await add(member, id, 5);
    const changed = await graphql(wishlists.url, CHANGE, { p: id, q: 2 }, member.headers);
    expect(changed.data!.changeWishlistQuantity).toMatchObject({ __typename: 'Wishlist', totalQuantity: 2 });
    const missing = randomUUID();
    const notThere = await graphql(wishlists.url, CHANGE, { p: missing, q: 2 }, member.headers);
    expect(notThere.data!.changeWishlistQuantity).toEqual({
      __typename: 'NotInWishlist',
      message: `Product ${missing} is not in the wishlist`,
      productId: missing,
    });
    const bad = await graphql(wishlists.url, CHANGE, { p: id, q: 101 }, member.headers);
    expect(errorCodes(bad)).toEqual(['BAD_USER_INPUT']);
    expect((await mine(member)).totalQuantity).toBe(2);
  });

  it('When a product is removed twice, then both answer the wishlist without it', async () => {
    const member = await newMember();
    const keep = await product();
    const drop = await product();
    await add(member, keep);
    await add(member, drop);
    for (let i = 0; i < 2; i++) {
      const removed = await graphql(wishlists.url, REMOVE, { p: drop }, member.headers);
      expect(removed.errors).toBeUndefined();
      expect(removed.data!.removeFromWishlist.items.map((item: { productId: string }) => item.productId)).toEqual([keep]);
    }
  });

  it('When the wishlist holds 50 products, then a 51st gives WishlistFull; more of one already there is still fine', async () => {
    const member = await newMember();
    const ids = await Promise.all(Array.from({ length: 50 }, () => product()));
    for (const id of ids) expect((await add(member, id)).data!.addToWishlist.__typename).toBe('Wishlist');
    expect((await add(member, await product())).data!.addToWishlist).toEqual({
      __typename: 'WishlistFull',
      message: expect.stringContaining('50 different products'),
      limit: 50,
    });
    expect((await add(member, ids[0]!, 5)).data!.addToWishlist.__typename).toBe('Wishlist');
    expect(await itemRows(member.userId)).toBe(50);
  });

  it('When many adds of one member race, then the per-product cap and the item limit still hold exactly', async () => {
    const member = await newMember();
    const id = await product();
    const racing = await Promise.all(Array.from({ length: 20 }, () => add(member, id, 7)));
    const accepted = racing.filter((r) => r.errors === undefined).length;
    expect(accepted).toBe(14);
    expect(racing.filter((r) => errorCodes(r)[0] === 'BAD_USER_INPUT')).toHaveLength(6);
    expect((await mine(member)).totalQuantity).toBe(98);

    const fresh = await Promise.all(Array.from({ length: 60 }, () => product()));
    const others = await Promise.all(fresh.map((other) => add(member, other)));
    expect(others.filter((r) => r.data?.addToWishlist.__typename === 'WishlistFull')).toHaveLength(11);
    expect(await itemRows(member.userId)).toBe(50);
  });

  it('When another member acts, then they neither see nor change the first member’s wishlist', async () => {
    const alice = await newMember();
    const bob = await newMember();
    const id = await product();
    await add(alice, id, 4);
    expect(await mine(bob)).toEqual({ items: [], totalQuantity: 0 });
    const change = await graphql(wishlists.url, CHANGE, { p: id, q: 9 }, bob.headers);
    expect(change.data!.changeWishlistQuantity.__typename).toBe('NotInWishlist');
    await graphql(wishlists.url, REMOVE, { p: id }, bob.headers);
    const viaEntity = await graphql(
      wishlists.url,
      `query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id wishlist { totalQuantity } } } }`,
      { r: [{ __typename: 'User', id: alice.userId }] },
      bob.headers,
    );
    expect(viaEntity.data!._entities).toEqual([{ id: alice.userId, wishlist: null }]);
    const own = await graphql(
      wishlists.url,
      `query($r: [_Any!]!) { _entities(representations: $r) { ... on User { wishlist { totalQuantity } } } }`,
      { r: [{ __typename: 'User', id: alice.userId }] },
      alice.headers,
    );
    expect(own.data!._entities).toEqual([{ wishlist: { totalQuantity: 4 } }]);
  });

  it('When a caller forges identity headers, then it is anonymous: UNAUTHENTICATED and nothing written', async () => {
    const victim = await newMember();
    await add(victim, await product(), 1);
    const forged = { 'x-user-id': victim.userId, 'x-bth-identity': 'not-a-jwt', 'x-user-role': 'ADMIN' };
    expect(errorCodes(await graphql(wishlists.url, MY, {}, forged))).toEqual(['UNAUTHENTICATED']);
    expect(errorCodes(await graphql(wishlists.url, ADD, { p: await product(), q: 1 }, forged))).toEqual(['UNAUTHENTICATED']);
    expect(errorCodes(await graphql(wishlists.url, ORDER, { s: SHIPPING, k: randomUUID() }, forged))).toEqual(['UNAUTHENTICATED']);
    const entity = await graphql(
      wishlists.url,
      `query($r: [_Any!]!) { _entities(representations: $r) { ... on User { wishlist { totalQuantity } } } }`,
      { r: [{ __typename: 'User', id: victim.userId }] },
      forged,
    );
    expect(entity.data!._entities).toEqual([{ wishlist: null }]);
    expect(await itemRows(victim.userId)).toBe(1);
  });

  it('When no products replica answers, then UPSTREAM_UNAVAILABLE (retryable) and nothing is written', async () => {
    const down = await wishlists.withUpstreams({
      productsUrls: [await deadUrl('/graphql'), await deadUrl('/graphql')],
      ordersInternalUrl: await deadUrl(),
    });
    try {
      const member = await newMember();
      const response = await graphql(down.url, ADD, { p: await product(), q: 1 }, member.headers);
      expect(errorCodes(response)).toEqual(['UPSTREAM_UNAVAILABLE']);
      expect(response.errors![0]!.extensions!.retryable).toBe(true);
      expect(await itemRows(member.userId)).toBe(0);
    } finally {
      await down.close();
    }
  });

  it('When every order field is broken, then each is reported and orders is never called', async () => {
    const member = await newMember();
    await add(member, await product());
    const response = await graphql(
      wishlists.url,
      ORDER,
      { s: { postalCode: '1', address: ' ', phone: '123' }, k: 'short' },
      member.headers,
    );
    expect(errorCodes(response)).toEqual(['BAD_USER_INPUT']);
    const fields = (response.errors![0]!.extensions!.fieldErrors as { field: string }[]).map((f) => f.field);
    expect(fields).toEqual(['shipping.postalCode', 'shipping.address', 'shipping.phone', 'idempotencyKey']);
  });

  it('When the wishlist is empty, then ordering answers WishlistEmpty without calling orders', async () => {
    const member = await newMember();
    const response = await graphql(wishlists.url, ORDER, { s: SHIPPING, k: randomUUID() }, member.headers);
    expect(response.data!.orderWishlist).toEqual({ __typename: 'WishlistEmpty', message: expect.any(String) });
  });

  it('When orders cannot be reached, then UPSTREAM_UNAVAILABLE (retryable) and the wishlist is unchanged', async () => {
    const member = await newMember();
    const id = await product();
    await add(member, id, 3);
    const before = await mine(member);
    const response = await graphql(wishlists.url, ORDER, { s: SHIPPING, k: randomUUID() }, member.headers);
    expect(errorCodes(response)).toEqual(['UPSTREAM_UNAVAILABLE']);
    expect(response.errors![0]!.extensions!.retryable).toBe(true);
    expect(await mine(member)).toEqual(before);
    expect(await wishlists.count('SELECT COUNT(*) AS n FROM wishlist_orders WHERE user_id = ?', [member.userId])).toBe(0);
  });
});
