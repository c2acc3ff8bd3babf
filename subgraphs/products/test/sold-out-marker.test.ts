import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { dropTestDatabases, graphql, startPrivateRedis, waitFor } from '@bth/testkit';
import { createSoldOutMarker, soldOutKeys } from '../src/sold-out-marker.js';
import { asAdmin, createProduct, inventory, startProducts, stockOf, type Products } from '@bth/fixtures/products';

/**
 * The sold-out marker orders' fast path reads (sold-out-marker.ts): set once the stock is 0,
 * gone before any transaction that puts stock back answers, never set by a writer that a restock
 * overtook, and a restock of a marked product fails closed when Redis cannot delete the marker.
 */
let products: Products;

beforeAll(async () => {
  products = await startProducts({ name: 'marker', messaging: false });
});
afterAll(async () => {
  await products?.close();
  await dropTestDatabases();
});

const ADJUST = `mutation($id: ID!, $delta: Int!) { adjustStock(productId: $id, delta: $delta, reason: "delivery") { __typename ... on Product { stock } } }`;
const reserve = (productId: string, orderId = randomUUID()) =>
  inventory(products, 'reserve', { orderId, userId: randomUUID(), lines: [{ productId, quantity: 1 }] });
const markerOf = (productId: string) => products.redis.get(soldOutKeys.marker(productId));
const flagOf = async (productId: string) => {
  const [rows] = (await products.database.pool.query('SELECT sold_out_marked AS f FROM products WHERE id = ?', [productId])) as unknown as [
    { f: number }[],
  ];
  return rows[0]!.f;
};

async function soldOut(units: number): Promise<{ productId: string; orderIds: string[] }> {
  const productId = await createProduct(products, { stock: units });
  const orderIds = [];
  for (let i = 0; i < units; i++) {
    const orderId = randomUUID();
    expect((await reserve(productId, orderId)).body.outcome).toBe('RESERVED');
    orderIds.push(orderId);
  }
  await waitFor(async () => (await markerOf(productId)) !== null, 10_000);
  return { productId, orderIds };
}

describe('sold-out marker', () => {
  it('When the last unit is taken, then the product is marked (and flagged), and a release deletes the marker before it answers', async () => {
    const { productId, orderIds } = await soldOut(2);
    expect(await markerOf(productId)).toBe('-');
    expect(await flagOf(productId)).toBe(1);
    const released = await inventory(products, 'release', { orderId: orderIds[0] });
    expect(released.body.outcome).toBe('RELEASED');
    expect(await markerOf(productId)).toBeNull();
    expect(await flagOf(productId)).toBe(0);
    expect(await stockOf(products, productId)).toBe(1);
  });

  it('When stock went back after a writer read the generation, then its late write sets nothing', async () => {
    const productId = randomUUID();
    const marker = createSoldOutMarker(products.redis);
    const seen = await marker.generation(productId);
    expect(seen).not.toBe('0');
    await marker.clear([productId]);
    expect(await marker.markIfUnchanged(productId, seen, '-')).toBe(false);
    expect(await markerOf(productId)).toBeNull();
    // With nothing in between, the same write goes through.
    expect(await marker.markIfUnchanged(productId, await marker.generation(productId), '-')).toBe(true);
  });

  it('When Redis cannot delete the marker, then a restock of that product fails and changes nothing, while a product never marked restocks as usual', async () => {
    const { productId } = await soldOut(1);
    const unmarked = await createProduct(products, { stock: 5 });
    products.redis.disconnect();
    try {
      const refused = await graphql(products.url, ADJUST, { id: productId, delta: 3 }, await asAdmin());
      expect(refused.errors?.[0]?.extensions?.code).toBe('LOCK_TIMEOUT');
      expect(await stockOf(products, productId)).toBe(0);
      expect(await flagOf(productId)).toBe(1);
      const adjusted = await graphql(products.url, ADJUST, { id: unmarked, delta: 3 }, await asAdmin());
      expect(adjusted.data?.adjustStock).toEqual({ __typename: 'Product', stock: 8 });
    } finally {
      await products.redis.connect();
    }
    const adjusted = await graphql(products.url, ADJUST, { id: productId, delta: 3 }, await asAdmin());
    expect(adjusted.data?.adjustStock).toEqual({ __typename: 'Product', stock: 3 });
    expect(await markerOf(productId)).toBeNull();
  });

  it('When Redis hangs (SIGSTOP), then a clear under the row lock gives up within its deadline instead of holding the lock', async () => {
    const hung = await startPrivateRedis();
    const client = new Redis(hung.url, { maxRetriesPerRequest: 1 });
    client.on('error', () => undefined);
    try {
      await client.ping();
      hung.pause();
      const started = Date.now();
      await expect(createSoldOutMarker(client).clear([randomUUID()])).rejects.toThrow(/did not answer within 500 ms/);
      // 500 ms deadline plus one event-loop turn; far below the 5 s lock wait it protects.
      expect(Date.now() - started).toBeLessThan(2_000);
    } finally {
      hung.resume();
      client.disconnect();
      await hung.dispose();
    }
  });
});
