import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForRedis, type Redis } from '@bth/platform/redis';
import { dropTestDatabases, graphql, silentLogger, testMetrics, waitFor, type GraphQLResponse } from '@bth/testkit';
import { cacheKeys, createProductCache } from '../src/product-cache.js';
import type { ProductView } from '../src/product.model.js';
import { asAdmin, createProduct, inventory, rawRedis, startProducts, stockOf, USER, type Products } from '@bth/fixtures/products';

let products: Products;
let raw: Redis;
let monitor: Redis;
const seen: string[][] = [];

beforeAll(async () => {
  products = await startProducts({ name: 'cache' });
  raw = rawRedis();
  await waitForRedis(raw, 5_000);
  monitor = await raw.monitor();
  // Only what clients sent (round trips): commands a script runs inside Redis show as source "lua".
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    if (source !== 'lua') seen.push(args);
  });
});
afterAll(async () => {
  monitor?.disconnect();
  raw?.disconnect();
  await products?.close();
  await dropTestDatabases();
});

/** Waits until MONITOR has streamed a marker command: everything Redis ran before it has been seen. */
async function markSeen(): Promise<number> {
  const marker = `${products.keyPrefix}marker:${randomUUID()}`;
  await raw.get(marker);
  await waitFor(() => seen.findIndex((args) => args.includes(marker)) + 1);
  return seen.findIndex((args) => args.includes(marker)) + 1;
}

/** Redis commands on this run's keys and SELECTs on `products` issued while `work` ran. */
async function countDuring(work: () => Promise<unknown>) {
  const from = await markSeen();
  const sqlFrom = products.statements.length;
  await work();
  const to = (await markSeen()) - 1;
  const redis = seen.slice(from, to).filter((args) => args.some((arg) => arg.startsWith(products.keyPrefix)));
  const named = (name: string) => redis.filter((args) => args[0]!.toLowerCase() === name);
  const selects = products.statements.slice(sqlFrom).filter((sql) => /^select .* from `products`/is.test(sql));
  return { commands: redis, mget: named('mget'), eval: named('eval'), set: named('set'), selects };
}

const PRODUCT = `query($id: ID!) { product(id: $id) { id name price stock } }`;
const ENTITIES = `query($r: [_Any!]!) { _entities(representations: $r) { ... on Product { id name price stock } } }`;
const LIST = `query($first: Int, $filter: ProductFilter) {
  products(first: $first, filter: $filter) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id name stock } } }
}`;
const LIST_AFTER = `query($first: Int, $after: String, $filter: ProductFilter, $orderBy: ProductOrder) {
  products(first: $first, after: $after, filter: $filter, orderBy: $orderBy) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id name stock } } }
}`;
const UPDATE = `mutation($id: ID!, $input: UpdateProductInput!) { updateProduct(id: $id, input: $input) { __typename ... on Product { price } } }`;
const ADJUST = `mutation($id: ID!, $delta: Int!) { adjustStock(productId: $id, delta: $delta, reason: "count") { __typename ... on Product { stock } } }`;

describe('product cache', () => {
  it('When _entities asks for N products, then one MGET and one SELECT fetch them; on repeat, one MGET and no SELECT', async () => {
    const ids = await Promise.all(Array.from({ length: 6 }, () => createProduct(products)));
    const unknown = randomUUID();
    const representations = [...ids, unknown, 'not-a-uuid'].map((id) => ({ __typename: 'Product', id }));
    let response: GraphQLResponse | undefined;
    const cold = await countDuring(async () => (response = await graphql(products.url, ENTITIES, { r: representations })));
    expect(response!.errors).toBeUndefined();
    expect(response!.data!._entities.map((p: { id: string } | null) => p?.id ?? null)).toEqual([...ids, null, null]);
    expect(cold.mget).toHaveLength(1);
    for (const id of [...ids, unknown]) expect(cold.mget[0]).toContain(`${products.keyPrefix}${cacheKeys.item(id)}`);
    expect(cold.selects).toHaveLength(1);
    expect(cold.eval).toHaveLength(1);

    // Unknown ids are not cached (no negative entries), so the repeat asks only for known ones.
    const hitsBefore = await products.metric('cache_hits_total', { kind: 'product' });
    const warm = await countDuring(() => graphql(products.url, ENTITIES, { r: representations.slice(0, ids.length) }));
    expect(warm.mget).toHaveLength(1);
    expect(warm.selects).toEqual([]);
    expect(warm.eval).toEqual([]);
    expect(await products.metric('cache_hits_total', { kind: 'product' })).toBe(hitsBefore + ids.length);
  });

  it('When a listing page is asked for twice, then the second is served from Redis in one round trip, page and products, without SQL', async () => {
    const filter = { function: 'EYE_HEALTH', type: 'POWDER' };
    await Promise.all(Array.from({ length: 3 }, () => createProduct(products, filter)));
    let coldResponse: GraphQLResponse | undefined;
    const cold = await countDuring(async () => (coldResponse = await graphql(products.url, LIST, { first: 2, filter })));
    expect(cold.selects.length).toBeGreaterThan(0);
    const hitsBefore = await products.metric('cache_hits_total', { kind: 'listing' });
    let warmResponse: GraphQLResponse | undefined;
    const warm = await countDuring(async () => (warmResponse = await graphql(products.url, LIST, { first: 2, filter })));
    expect(warm.selects).toEqual([]);
    expect(warm.commands).toHaveLength(1);
    expect(warm.commands[0]![0]!.toLowerCase()).toMatch(/^eval/);
    expect(warmResponse!.data!.products).toMatchObject({ totalCount: 3, pageInfo: { hasNextPage: true } });
    expect(warmResponse!.data!.products).toEqual(coldResponse!.data!.products);
    expect(await products.metric('cache_hits_total', { kind: 'listing' })).toBe(hitsBefore + 1);
  });

  it('When the next page or another order of a listed filter is asked for, then its count is not taken again until the catalogue changes', async () => {
    const filter = { function: 'BONE_HEALTH', type: 'SPRAY' };
    await Promise.all(Array.from({ length: 3 }, () => createProduct(products, filter)));
    const counts = (selects: string[]) => selects.filter((sql) => /count\(/i.test(sql));
    let first: GraphQLResponse | undefined;
    const cold = await countDuring(async () => (first = await graphql(products.url, LIST, { first: 2, filter })));
    expect(counts(cold.selects)).toHaveLength(1);
    const after = first!.data!.products.pageInfo.endCursor as string;
    let next: GraphQLResponse | undefined;
    const nextPage = await countDuring(async () => (next = await graphql(products.url, LIST_AFTER, { first: 2, after, filter })));
    expect(nextPage.selects.length).toBeGreaterThan(0);
    expect(counts(nextPage.selects)).toEqual([]);
    expect(next!.data!.products).toMatchObject({ totalCount: 3, pageInfo: { hasNextPage: false } });
    const otherOrder = await countDuring(() => graphql(products.url, LIST_AFTER, { first: 3, filter, orderBy: 'PRICE_ASC' }));
    expect(counts(otherOrder.selects)).toEqual([]);

    await createProduct(products, filter);
    let changed: GraphQLResponse | undefined;
    const afterWrite = await countDuring(async () => (changed = await graphql(products.url, LIST_AFTER, { first: 2, after, filter })));
    expect(counts(afterWrite.selects)).toHaveLength(1);
    expect(changed!.data!.products.totalCount).toBe(4);
  });

  it('When a product is created, changed or deleted, then cached pages and entries show it at once', async () => {
    const filter = { function: 'LIVER_HEALTH', type: 'DRINK' };
    await createProduct(products, filter);
    const before = await graphql(products.url, LIST, { first: 10, filter });
    expect(before.data!.products.totalCount).toBe(1);
    const id = await createProduct(products, filter);
    const afterCreate = await graphql(products.url, LIST, { first: 10, filter });
    expect(afterCreate.data!.products.totalCount).toBe(2);
    expect(afterCreate.data!.products.edges[0].node.id).toBe(id);

    await graphql(products.url, PRODUCT, { id });
    await inventory(products, 'reserve', { orderId: randomUUID(), userId: USER.userId, lines: [{ productId: id, quantity: 3 }] });
    expect((await graphql(products.url, PRODUCT, { id })).data!.product.stock).toBe(7);

    await graphql(products.url, `mutation($id: ID!) { deleteProduct(id: $id) }`, { id }, await asAdmin());
    expect((await graphql(products.url, PRODUCT, { id })).data).toEqual({ product: null });
    expect((await graphql(products.url, LIST, { first: 10, filter })).data!.products.totalCount).toBe(1);
  });

  it('When a reader that read before a write tries to write its old row back after the invalidation, then nothing is written', async () => {
    const cache = createProductCache({
      redis: products.redis,
      logger: silentLogger,
      metrics: testMetrics('race'),
      productTtlSeconds: 60,
      listingTtlSeconds: 10,
    });
    const stale = (id: string): ProductView => ({
      id,
      name: 'stale copy',
      producer: 'nobody',
      price: 1,
      function: 'EYE_HEALTH',
      type: 'PILL',
      nutritionFacts: null,
      stock: 999,
      sales: [],
      createdAt: new Date(),
      updatedAt: new Date(),
    });

    const raced = await createProduct(products);
    const read = await cache.getProducts([raced]);
    expect(read.misses).toEqual([raced]);
    await cache.invalidate([raced], { listings: false });
    await cache.putProducts([stale(raced)], read.token);
    expect(await products.redis.get(cacheKeys.item(raced))).toBeNull();
    expect((await graphql(products.url, PRODUCT, { id: raced })).data!.product.name).not.toBe('stale copy');

    // Control: without a write in between, the same write-back does land (so the check above can fail).
    const quiet = await createProduct(products);
    const quietRead = await cache.getProducts([quiet]);
    await cache.putProducts([stale(quiet)], quietRead.token);
    expect((await graphql(products.url, PRODUCT, { id: quiet })).data!.product.name).toBe('stale copy');
    await cache.invalidate([quiet], { listings: false });
  });

  it('When writers and readers race, then after the last write every read returns the final values', async () => {
    const id = await createProduct(products, { price: 1_000, stock: 100 });
    const headers = await asAdmin();
    let writing = true;
    const readers = Array.from({ length: 6 }, async (_, i) => {
      while (writing) {
        if (i % 2) await graphql(products.url, PRODUCT, { id });
        else await graphql(products.url, ENTITIES, { r: [{ __typename: 'Product', id }] });
      }
    });
    const priceWriter = (async () => {
      for (let price = 1_001; price <= 1_030; price++) await graphql(products.url, UPDATE, { id, input: { price } }, headers);
    })();
    const stockWriters = Array.from({ length: 3 }, async () => {
      for (let i = 0; i < 10; i++) await graphql(products.url, ADJUST, { id, delta: 1 }, headers);
    });
    await Promise.all([priceWriter, ...stockWriters]);
    writing = false;
    await Promise.all(readers);

    expect(await stockOf(products, id)).toBe(130);
    const finals = await Promise.all([
      ...Array.from({ length: 5 }, () => graphql(products.url, PRODUCT, { id }).then((r) => r.data!.product)),
      ...Array.from({ length: 5 }, () =>
        graphql(products.url, ENTITIES, { r: [{ __typename: 'Product', id }] }).then((r) => r.data!._entities[0]),
      ),
    ]);
    for (const product of finals) expect(product).toMatchObject({ price: 1_030, stock: 130 });
  });

  it('When Redis is unreachable, then reads, writes and reservations still answer from MariaDB', async () => {
    const id = await createProduct(products, { stock: 10, function: 'SKIN_HEALTH', type: 'SPRAY' });
    const offline = await startProducts({ name: 'cache', keyPrefix: products.keyPrefix, redisUrl: 'redis://127.0.0.1:1' });
    try {
      expect((await fetch(`${offline.base}/health/ready`)).status).toBe(200);
      const one = await graphql(offline.url, PRODUCT, { id });
      expect(one.errors).toBeUndefined();
      expect(one.data!.product.stock).toBe(10);
      const list = await graphql(offline.url, LIST, { first: 5, filter: { function: 'SKIN_HEALTH', type: 'SPRAY' } });
      expect(list.errors).toBeUndefined();
      expect(list.data!.products.edges.map((e: { node: { id: string } }) => e.node.id)).toContain(id);
      const entities = await graphql(offline.url, ENTITIES, { r: [{ __typename: 'Product', id }] });
      expect(entities.data!._entities[0].id).toBe(id);
      const updated = await graphql(offline.url, UPDATE, { id, input: { price: 777 } }, await asAdmin());
      expect(updated.data!.updateProduct).toEqual({ __typename: 'Product', price: 777 });
      const reserved = await inventory(offline, 'reserve', {
        orderId: randomUUID(),
        userId: USER.userId,
        lines: [{ productId: id, quantity: 1 }],
      });
      expect(reserved.body.outcome).toBe('RESERVED');
      expect((await graphql(offline.url, PRODUCT, { id })).data!.product).toMatchObject({ price: 777, stock: 9 });
      expect(await offline.metric('cache_misses_total', { kind: 'product' })).toBeGreaterThan(0);
    } finally {
      await offline.stop();
    }
  });
});
