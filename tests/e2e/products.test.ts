import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { DEV_SECRET } from '@bth/platform/env';
import { IDENTITY_HEADER, signIdentityAssertion } from '@bth/platform/identity';
import { errorCodes, graphql, waitFor, type GraphQLResponse } from '@bth/testkit';
import { metricValue, startStack, type Member, type Stack } from '../support/stack.js';

/** The catalogue through the router, with two products replicas sharing one database and cache. */
let stack: Stack;
let admin: Member;
let member: Member;
beforeAll(async () => {
  stack = await startStack({ only: ['users', 'products'], productsReplicas: 2 });
  [admin, member] = await Promise.all([stack.signUpAdmin(), stack.signUp()]);
});
afterAll(async () => {
  await stack?.stop();
});

const PRODUCT = `query($id: ID!) { product(id: $id) { id name price stock } }`;
const LISTING = `query($first: Int!) { products(first: $first, orderBy: PRICE_ASC) { totalCount nodes { id name price stock } pageInfo { hasNextPage } } }`;

/** A listing counter summed over every products replica. */
async function listingCounter(name: 'cache_hits_total' | 'cache_misses_total'): Promise<number> {
  const texts = await Promise.all([0, 1].map((i) => stack.metrics('products', i)));
  return texts.reduce((sum, text) => sum + metricValue(text, name, { kind: 'listing' }), 0);
}

/** Row counts of every products table an admin mutation could touch. */
async function productsRowCounts() {
  const [row] = await stack.query<{ products: number; ledger: number; stock: number }>(
    'products',
    'SELECT (SELECT COUNT(*) FROM products) AS products, (SELECT COUNT(*) FROM stock_ledger) AS ledger, (SELECT COALESCE(SUM(stock), 0) FROM products) AS stock',
  );
  return { products: Number(row!.products), ledger: Number(row!.ledger), stock: Number(row!.stock) };
}

describe('catalogue through the router', () => {
  it('When the same products listing is asked for twice, then the repeat is served from the Redis cache', async () => {
    const ids = await Promise.all([3_100, 3_200, 3_300].map((price) => stack.createProduct(admin, { stock: 5, price })));
    // A page size no other test asks for: the first call must be a miss, whatever ran before.
    const first = 17;
    const hitsBefore = await listingCounter('cache_hits_total');
    const missesBefore = await listingCounter('cache_misses_total');

    const cold = await stack.gql(LISTING, { first });
    expect(cold.errors).toBeUndefined();
    expect(cold.data!.products.nodes.map((p: { id: string }) => p.id)).toEqual(expect.arrayContaining(ids));
    expect(await listingCounter('cache_misses_total')).toBe(missesBefore + 1);
    expect(await listingCounter('cache_hits_total')).toBe(hitsBefore);

    // The page now lives in Redis under this stack's key prefix.
    const redis = new Redis('redis://127.0.0.1:6379', { lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await redis.connect();
      expect((await redis.keys(`${stack.redisPrefix}products:listing:*`)).length).toBeGreaterThanOrEqual(1);
    } finally {
      redis.disconnect();
    }

    const warm = await stack.gql(LISTING, { first });
    expect(warm.errors).toBeUndefined();
    expect(warm.data).toEqual(cold.data);
    expect(await listingCounter('cache_hits_total')).toBe(hitsBefore + 1);
    expect(await listingCounter('cache_misses_total')).toBe(missesBefore + 1);
  });

  it('When a member or an anonymous caller uses admin operations, then FORBIDDEN or UNAUTHENTICATED and nothing changes', async () => {
    const id = await stack.createProduct(admin, { stock: 9, price: 4_500 });
    const before = await productsRowCounts();
    const calls: Array<[string, Record<string, unknown>]> = [
      [
        `mutation($input: CreateProductInput!) { createProduct(input: $input) { __typename } }`,
        {
          input: {
            name: `Sneaky ${randomUUID().slice(0, 6)}`,
            producer: 'Nobody',
            price: 1,
            function: 'LIVER_HEALTH',
            type: 'PILL',
            stock: 1_000,
          },
        },
      ],
      [`mutation($id: ID!) { adjustStock(productId: $id, delta: 500, reason: "free stock") { __typename } }`, { id }],
      [`mutation($id: ID!) { adjustStock(productId: $id, delta: -9, reason: "gone") { __typename } }`, { id }],
      [`mutation($id: ID!) { deleteProduct(id: $id) }`, { id }],
      [`query($ids: [ID!]) { inventoryReport(productIds: $ids) { soldUnits consistent } }`, { ids: [id] }],
    ];
    for (const [query, variables] of calls) {
      const asMember = await stack.gql(query, variables, member.accessToken);
      expect(errorCodes(asMember)).toEqual(['FORBIDDEN']);
      expect(asMember.data ?? null).toBeNull();
      const anonymous = await stack.gql(query, variables);
      expect(errorCodes(anonymous)).toEqual(['UNAUTHENTICATED']);
      expect(anonymous.data ?? null).toBeNull();
    }
    expect(await productsRowCounts()).toEqual(before);
    expect((await stack.gql(PRODUCT, { id })).data!.product).toMatchObject({ id, price: 4_500, stock: 9 });
    // The same report is there for an admin: the refusals above were about the caller, not the query.
    expect((await stack.inventoryReport(admin, [id])).products).toEqual([
      expect.objectContaining({ productId: id, stock: 9, initialStock: 9, reserved: 0 }),
    ]);
  });

  it('When one products replica dies, then the router routes around it; once restarted, it serves again', async () => {
    const id = await stack.createProduct(admin, { stock: 12, price: 7_700 });
    const expectAnswers = async () => {
      for (let i = 0; i < 10; i++) {
        const [one, page] = await Promise.all([stack.gql(PRODUCT, { id }), stack.gql(LISTING, { first: 5 + (i % 3) })]);
        expect(one.errors).toBeUndefined();
        expect(one.data!.product).toMatchObject({ id, price: 7_700, stock: 12 });
        expect(page.errors).toBeUndefined();
        expect(page.data!.products.nodes.length).toBeGreaterThan(0);
      }
    };
    await expectAnswers();
    // Both replicas took part: the router spreads the load, it does not pin one replica.
    for (const index of [0, 1]) {
      expect(
        metricValue(await stack.metrics('products', index), 'http_request_duration_seconds_count', { route: 'graphql' }),
      ).toBeGreaterThan(0);
    }

    const second = stack.service('products', 1);
    await second.kill();
    expect((await fetch(`${second.base}/health/live`).catch(() => null))?.ok ?? false).toBe(false);
    await expectAnswers();
    expect(stack.logs.some((l) => l.startsWith('router ') && l.includes('routing around it') && l.includes(second.base))).toBe(true);

    await second.start();
    // A new process: its counters start from zero, so any GraphQL request it counts came after the restart.
    const served = async () =>
      metricValue(await stack.metrics('products', 1), 'http_request_duration_seconds_count', { route: 'graphql', status: '200' });
    expect(await served()).toBe(0);
    await waitFor(async () => {
      expect((await stack.gql(PRODUCT, { id })).data!.product.stock).toBe(12);
      return (await served()) > 0;
    }, 15_000);
    await expectAnswers();
  });

  it('When a replica is stopped gracefully or killed while queries are in flight, then every query still answers without an error', async () => {
    const id = await stack.createProduct(admin, { stock: 4, price: 2_200 });
    /** Four clients query without pause from before `during` starts until well after it ended. */
    const underLoad = async (during: () => Promise<void>) => {
      let done = false;
      const responses: GraphQLResponse[] = [];
      const clients = Array.from({ length: 4 }, async (_, c) => {
        while (!done) responses.push(await (c % 2 === 0 ? stack.gql(PRODUCT, { id }) : stack.gql(LISTING, { first: 3 })));
      });
      try {
        await waitFor(() => responses.length >= 8);
        await during();
        const after = responses.length;
        await waitFor(() => responses.length >= after + 20);
      } finally {
        done = true;
        await Promise.all(clients);
      }
      return responses;
    };
    const expectAllAnswered = (responses: GraphQLResponse[]) => {
      expect(responses.flatMap((r) => r.errors ?? [])).toEqual([]);
      for (const r of responses) expect(r.data!.product?.stock ?? r.data!.products.nodes.length).toBeGreaterThan(0);
    };

    const first = stack.service('products', 0);
    const second = stack.service('products', 1);
    expectAllAnswered(await underLoad(() => first.stop()));
    expectAllAnswered(await underLoad(() => first.start()));
    expectAllAnswered(await underLoad(() => second.kill()));
    expectAllAnswered(await underLoad(() => second.start()));
  });

  it('When the internal inventory API is called through the router or without a service token, then it is refused and stock does not move', async () => {
    const id = await stack.createProduct(admin, { stock: 3 });
    const body = JSON.stringify({ orderId: randomUUID(), userId: member.userId, lines: [{ productId: id, quantity: 3 }] });
    const routerBase = stack.routerUrl.replace(/\/graphql$/, '');
    const viaRouter = await fetch(`${routerBase}/internal/inventory/reserve`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${admin.accessToken}` },
      body,
    });
    expect(viaRouter.status).toBe(404);
    // Nor is it a field of the supergraph.
    const asField = await stack.gql(`mutation($id: ID!) { reserveStock(productId: $id, quantity: 3) }`, { id }, admin.accessToken);
    expect(errorCodes(asField)).toEqual(['GRAPHQL_VALIDATION_FAILED']);

    const replica = stack.service('products', 0).base;
    const identity = await signIdentityAssertion(DEV_SECRET, { userId: admin.userId, role: 'ADMIN', sessionId: 's' });
    // None of these is a service token for the inventory audience: a user's token, even an
    // admin's, or a valid router identity assertion must not move stock.
    const attempts: Record<string, string>[] = [
      {},
      { authorization: `Bearer ${admin.accessToken}` },
      { [IDENTITY_HEADER]: identity },
      { authorization: `Bearer ${identity}` },
    ];
    for (const headers of attempts) {
      const direct = await fetch(`${replica}/internal/inventory/reserve`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body,
      });
      expect(direct.status).toBe(401);
      expect(await direct.json()).toMatchObject({ error: { code: 'UNAUTHENTICATED' } });
    }
    expect(await stack.stockOf(id)).toBe(3);
    const [ledger] = await stack.query<{ n: number }>(
      'products',
      `SELECT COUNT(*) AS n FROM stock_ledger WHERE product_id = ? AND kind <> 'INITIAL'`,
      [id],
    );
    expect(Number(ledger!.n)).toBe(0);
    // A direct GraphQL call to the replica with nothing but a user's token is anonymous there.
    const direct = await graphql(
      `${replica}/graphql`,
      `query($ids: [ID!]) { inventoryReport(productIds: $ids) { soldUnits } }`,
      { ids: [id] },
      { authorization: `Bearer ${admin.accessToken}` },
    );
    expect(errorCodes(direct)).toEqual(['UNAUTHENTICATED']);
  });
});
