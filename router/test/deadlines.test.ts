import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis, type Redis } from '@bth/platform/redis';
import { dropTestDatabases, silentLogger, testMetrics, testRedisPrefix } from '@bth/testkit';
import { createProduct, startProducts, type Products } from '@bth/fixtures/products';
import { createRouter } from '../src/server.js';
import { testRouterConfig } from './harness.js';

/**
 * The router in-process, through the real gateway, with the products subgraph as two replicas:
 * the real service and a frozen one (accepts connections, reads requests, never answers: what a
 * SIGSTOPped process looks like from outside). Frozen first in line, so it is met at once.
 */
let products: Products;
let frozen: Server;
let frozenSeen: { deadline: number; at: number }[];
let redis: Redis;
let router: { url: string; close(): Promise<void> };
let productId: string;

// Short per-attempt deadlines so the test is quick; the defaults' reasoning is in DEFAULT_DEADLINES.
const QUERY_TIMEOUT_MS = 800;
const REQUEST_BUDGET_MS = 3_000;

beforeAll(async () => {
  products = await startProducts({ messaging: false });
  productId = await createProduct(products, { stock: 5 });
  frozenSeen = [];
  frozen = createServer((req) => {
    frozenSeen.push({ deadline: Number(req.headers['x-bth-deadline']), at: Date.now() });
    req.resume();
  });
  await new Promise<void>((resolve) => frozen.listen(0, '127.0.0.1', resolve));
  const frozenUrl = `http://127.0.0.1:${(frozen.address() as AddressInfo).port}/graphql`;
  redis = createRedis({ url: 'redis://127.0.0.1:6379', keyPrefix: testRedisPrefix('deadlines'), logger: silentLogger });
  const created = createRouter({
    config: await testRouterConfig(
      { products: [frozenUrl, products.url] },
      { subgraphTimeouts: { queryMs: QUERY_TIMEOUT_MS, mutationMs: 2_000 }, requestBudgetMs: REQUEST_BUDGET_MS },
    ),
    logger: silentLogger,
    metrics: testMetrics('router'),
    redis,
  });
  router = await created.listen(0, '127.0.0.1');
});
afterAll(async () => {
  await router?.close();
  frozen?.closeAllConnections();
  await new Promise((resolve) => frozen?.close(resolve));
  redis?.disconnect();
  await products?.close();
  await dropTestDatabases();
});

const percentile = (values: number[], p: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((p / 100) * values.length))]!;

async function readProduct(): Promise<{ ok: boolean; ms: number }> {
  const started = performance.now();
  const response = await fetch(router.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: 'query($id: ID!) { product(id: $id) { id stock } }', variables: { id: productId } }),
  });
  const body = (await response.json()) as { data?: { product?: { id: string } | null }; errors?: unknown };
  return { ok: body.errors === undefined && body.data?.product?.id === productId, ms: performance.now() - started };
}

describe('router deadlines and failover', () => {
  it('When a products replica is frozen, then reads through the router keep answering, none later than one attempt deadline plus the retry, and the subgraph is told the deadline', async () => {
    const answers: { ok: boolean; ms: number }[] = [];
    // Shoppers browsing at ~20 reads/s for 3 s, four at a time.
    for (let wave = 0; wave < 15; wave++) {
      answers.push(...(await Promise.all(Array.from({ length: 4 }, readProduct))));
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
    const ms = answers.map((a) => a.ms);
    console.info(
      `router, one products replica frozen: ${answers.length} reads, p50 ${percentile(ms, 50).toFixed(0)} ms, p99 ${percentile(ms, 99).toFixed(0)} ms`,
    );
    expect(answers.filter((a) => !a.ok)).toEqual([]);
    expect(Math.max(...ms)).toBeLessThan(QUERY_TIMEOUT_MS + 700);
    expect(percentile(ms, 50)).toBeLessThan(200);
    // The frozen replica got the first requests, each with its attempt's own absolute deadline.
    expect(frozenSeen.length).toBeGreaterThan(0);
    for (const seen of frozenSeen) {
      expect(seen.deadline).toBeGreaterThan(seen.at);
      expect(seen.deadline).toBeLessThanOrEqual(seen.at + QUERY_TIMEOUT_MS + 50);
    }
  });
});
