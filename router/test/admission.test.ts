import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IDENTITY_HEADER, REVOCATIONS_COMPLETE_KEY, signAccessToken } from '@bth/platform/identity';
import { createRedis, type Redis } from '@bth/platform/redis';
import { TEST_SECRETS, dropTestDatabases, silentLogger, testMetrics, testRedisPrefix } from '@bth/testkit';
import { productInput, startProducts, type Products } from '@bth/fixtures/products';
import { createRouter } from '../src/server.js';
import { testRouterConfig } from './harness.js';

/**
 * Admission control through the real gateway and the real products subgraph. Between them sits a
 * pass-through that can hold answers back (a gate), so "two operations are running" is a fact of
 * the test, not of timing. The router runs 2 operations at once and lets 2 more wait.
 */
let products: Products;
let relay: Server;
let reached = 0;
let gate: Promise<void> | undefined;
let openGate: () => void = () => undefined;
let redis: Redis;
let router: { url: string; close(): Promise<void> };

const MAX_WAIT_MS = 1_500;

function closeGate() {
  gate = new Promise((resolve) => (openGate = resolve));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

beforeAll(async () => {
  products = await startProducts({ messaging: false });
  relay = createServer(async (req, res) => {
    const body = await readBody(req);
    // The replica client's liveness probe (sent after a second without an answer) is no operation.
    if (req.url === '/health/live') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    reached += 1;
    await gate;
    const headers: Record<string, string> = {};
    for (const name of ['content-type', IDENTITY_HEADER, 'x-request-id', 'x-bth-deadline']) {
      const value = req.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    const answer = await fetch(products.url, { method: 'POST', headers, body });
    res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' }).end(await answer.text());
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  const relayUrl = `http://127.0.0.1:${(relay.address() as AddressInfo).port}/graphql`;
  redis = createRedis({ url: 'redis://127.0.0.1:6379', keyPrefix: testRedisPrefix('admission'), logger: silentLogger });
  // The revocation cache vouches for itself (users would write this marker): signed-in requests pass.
  if (redis.status !== 'ready') await new Promise((resolve) => redis.once('ready', resolve));
  await redis.set(REVOCATIONS_COMPLETE_KEY, String(Date.now()));
  const created = createRouter({
    config: await testRouterConfig(
      { products: [relayUrl] },
      {
        // Mutations may wait at the gate for the whole test; no deadline may end them first.
        subgraphTimeouts: { queryMs: 10_000, mutationMs: 10_000 },
        requestBudgetMs: 20_000,
        deduplicateQueries: false,
        admission: { maxInFlight: 2, maxQueued: 2, maxWaitMs: MAX_WAIT_MS },
      },
    ),
    logger: silentLogger,
    metrics: testMetrics('router'),
    redis,
  });
  router = await created.listen(0, '127.0.0.1');
});
afterAll(async () => {
  openGate();
  await router?.close();
  relay?.closeAllConnections();
  await new Promise((resolve) => relay?.close(resolve));
  if (redis?.status === 'ready') await redis.del(REVOCATIONS_COMPLETE_KEY);
  redis?.disconnect();
  await products?.close();
  await dropTestDatabases();
});

const LISTING = 'query Listing($first: Int!) { products(first: $first) { totalCount nodes { id name } } }';
const CREATE = 'mutation Create($input: CreateProductInput!) { createProduct(input: $input) { __typename ... on Product { id name } } }';

type Answer = {
  status: number;
  retryAfter: string | null;
  body: { data?: Record<string, unknown> | null; errors?: { message: string; extensions?: Record<string, unknown> }[] };
};
async function send(query: string, variables: Record<string, unknown>, token?: string): Promise<Answer> {
  const response = await fetch(router.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, retryAfter: response.headers.get('retry-after'), body: (await response.json()) as Answer['body'] };
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 10_000) {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const admin = () => signAccessToken(TEST_SECRETS.accessToken, { userId: randomUUID(), role: 'ADMIN', sessionId: randomUUID() }, 900);

function expectOverloaded(answer: Answer) {
  expect(answer.status).toBe(429);
  expect(answer.retryAfter).toBe('1');
  expect(answer.body.errors).toHaveLength(1);
  expect(answer.body.errors![0]!.extensions).toEqual({ code: 'RATE_LIMITED', reason: 'OVERLOADED', retryable: true, retryAfterSeconds: 1 });
}

describe('admission control at the router', () => {
  it('When two mutations are running and two queries wait, then the next one is refused at once with a retryable RATE_LIMITED, and the accepted mutations and waiting queries all complete', async () => {
    const token = await admin();
    closeGate();
    reached = 0;
    const names = [`Admitted A ${randomUUID()}`, `Admitted B ${randomUUID()}`];
    const mutations = names.map((name) => send(CREATE, { input: productInput({ name, stock: 3 }) }, token));
    await waitFor(() => reached === 2, 'both mutations at products');
    const waiting = [send(LISTING, { first: 5 }), send(LISTING, { first: 5 })];
    // Give the two a moment to be queued; nothing more reaches products while the gate is shut.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(reached).toBe(2);

    const started = performance.now();
    const refused = await send(LISTING, { first: 5 });
    expect(performance.now() - started).toBeLessThan(MAX_WAIT_MS);
    expectOverloaded(refused);
    expect(reached).toBe(2);

    openGate();
    const created = await Promise.all(mutations);
    for (const [i, answer] of created.entries()) {
      expect(answer.body.errors).toBeUndefined();
      expect(answer.body.data?.createProduct).toMatchObject({ __typename: 'Product', name: names[i] });
    }
    for (const answer of await Promise.all(waiting)) {
      expect(answer.body.errors).toBeUndefined();
      expect((answer.body.data!.products as { totalCount: number }).totalCount).toBeGreaterThanOrEqual(2);
    }
    expect(reached).toBe(4);
  });

  it('When a query has waited longer than the admission wait limit, then it is refused with a retryable RATE_LIMITED and never runs', async () => {
    const token = await admin();
    closeGate();
    reached = 0;
    const running = [
      send(CREATE, { input: productInput({ name: `Slow A ${randomUUID()}`, stock: 1 }) }, token),
      send(CREATE, { input: productInput({ name: `Slow B ${randomUUID()}`, stock: 1 }) }, token),
    ];
    await waitFor(() => reached === 2, 'both mutations at products');
    const started = performance.now();
    const late = await send(LISTING, { first: 5 });
    const waited = performance.now() - started;
    expectOverloaded(late);
    expect(waited).toBeGreaterThanOrEqual(MAX_WAIT_MS - 50);
    expect(reached).toBe(2);
    openGate();
    for (const answer of await Promise.all(running)) expect(answer.body.data?.createProduct).toMatchObject({ __typename: 'Product' });
  });

  it('When every slot is taken, then health and metrics still answer at once', async () => {
    const token = await admin();
    closeGate();
    reached = 0;
    const running = [
      send(CREATE, { input: productInput({ name: `Busy A ${randomUUID()}`, stock: 1 }) }, token),
      send(CREATE, { input: productInput({ name: `Busy B ${randomUUID()}`, stock: 1 }) }, token),
    ];
    await waitFor(() => reached === 2, 'both mutations at products');
    const base = router.url.replace(/\/graphql$/, '');
    expect((await fetch(`${base}/health/live`)).status).toBe(200);
    expect((await fetch(`${base}/metrics`)).status).toBe(200);
    openGate();
    await Promise.all(running);
  });
});
