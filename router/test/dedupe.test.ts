import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IDENTITY_HEADER, REVOCATIONS_COMPLETE_KEY, signAccessToken, type Identity } from '@bth/platform/identity';
import { createRedis, type Redis } from '@bth/platform/redis';
import { TEST_SECRETS, dropTestDatabases, silentLogger, testMetrics, testRedisPrefix } from '@bth/testkit';
import { createProduct, productInput, startProducts, type Products } from '@bth/fixtures/products';
import { createRouter } from '../src/server.js';
import { testRouterConfig } from './harness.js';

/**
 * In-flight deduplication through the real gateway and the real products subgraph. Between the
 * router and products sits a recording pass-through that can hold answers back (a gate), so
 * "these requests were in flight at the same time" is a fact of the test, not of timing.
 */
let products: Products;
let relay: Server;
let seen: { identity: string | undefined; body: string }[];
let gate: Promise<void> | undefined;
let openGate: () => void = () => undefined;
/** How long the relay holds every answer: a products that is slow to answer (see the storm test). */
let holdMs = 0;
let redis: Redis;
let router: { url: string; close(): Promise<void> };

const QUERY_TIMEOUT_MS = 1_500;
const REQUEST_BUDGET_MS = 5_000;

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
  await createProduct(products, { stock: 5 });
  seen = [];
  relay = createServer(async (req, res) => {
    const body = await readBody(req);
    // The replica client's liveness probe (sent when no answer came for a second, which a slow
    // machine can take in the storm below) is no query: it must not count as one reaching products.
    if (req.url === '/health/live') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    seen.push({ identity: req.headers[IDENTITY_HEADER] as string | undefined, body });
    await gate;
    if (holdMs > 0) await new Promise((resolve) => setTimeout(resolve, holdMs));
    const headers: Record<string, string> = {};
    for (const name of ['content-type', IDENTITY_HEADER, 'x-request-id', 'x-bth-deadline']) {
      const value = req.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    try {
      const answer = await fetch(products.url, { method: 'POST', headers, body });
      res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' }).end(await answer.text());
    } catch {
      res.destroy();
    }
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  const relayUrl = `http://127.0.0.1:${(relay.address() as AddressInfo).port}/graphql`;
  redis = createRedis({ url: 'redis://127.0.0.1:6379', keyPrefix: testRedisPrefix('dedupe'), logger: silentLogger });
  // The revocation cache vouches for itself (users would write this marker): signed-in requests pass.
  if (redis.status !== 'ready') await new Promise((resolve) => redis.once('ready', resolve));
  await redis.set(REVOCATIONS_COMPLETE_KEY, String(Date.now()));
  const created = createRouter({
    config: await testRouterConfig(
      { products: [relayUrl] },
      { subgraphTimeouts: { queryMs: QUERY_TIMEOUT_MS, mutationMs: 2_000 }, requestBudgetMs: REQUEST_BUDGET_MS },
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

const LISTING = 'query Listing($first: Int!) { products(first: $first) { totalCount nodes { id name stock } } }';
const CREATE = 'mutation($input: CreateProductInput!) { createProduct(input: $input) { __typename ... on Product { id } } }';

type Answer = {
  status: number;
  body: { data?: Record<string, unknown> | null; errors?: { message: string; extensions?: Record<string, unknown> }[] };
};
async function send(query: string, variables: Record<string, unknown>, token?: string): Promise<Answer> {
  const response = await fetch(router.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, body: (await response.json()) as Answer['body'] };
}

/**
 * `count` identical requests at once from a separate process, as shoppers' browsers would send
 * them: a load generator sharing the router's event loop would pace the arrivals itself.
 */
async function storm(count: number, payload: unknown): Promise<{ answered: number; complete: number; failures: Record<string, number> }> {
  const script = `
    const [url, count, payload] = [process.argv[1], Number(process.argv[2]), process.argv[3]];
    const one = () => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: payload })
      .then(async (r) => ({ status: r.status, body: await r.json() }), () => null);
    Promise.all(Array.from({ length: count }, one)).then((answers) => {
      const ok = answers.filter((a) => a && a.status === 200 && !a.body.errors);
      const complete = ok.filter((a) => a.body.data.products.totalCount >= 1 && a.body.data.products.nodes.length >= 1);
      const failures = {};
      for (const a of answers) if (!a || a.status !== 200 || a.body.errors) {
        const why = a ? String(a.body.errors?.[0]?.extensions?.code ?? a.status) : 'no answer';
        failures[why] = (failures[why] ?? 0) + 1;
      }
      process.stdout.write(JSON.stringify({ answered: ok.length, complete: complete.length, failures }));
    });`;
  const { stdout } = await promisify(execFile)(process.execPath, ['-e', script, router.url, String(count), JSON.stringify(payload)]);
  return JSON.parse(stdout) as { answered: number; complete: number; failures: Record<string, number> };
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 5_000) {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const member = (role: Identity['role'] = 'USER'): Promise<string> =>
  signAccessToken(TEST_SECRETS.accessToken, { userId: randomUUID(), role, sessionId: randomUUID() }, 900);
const graphqlRequests = () => products.metric('http_request_duration_seconds_count', { route: 'graphql', status: '200' });

describe('in-flight deduplication of identical queries', () => {
  it('When 1,000 identical anonymous product queries arrive at once, then every one is answered in full and products is asked at most 50 times', async () => {
    seen = [];
    // Every fetch takes 250 ms at the relay, so how many rounds of sharing there are depends on
    // the storm, not on how fast this machine happens to be today: 1,000 arrivals spread over
    // even 5 s by a loaded machine make 20 rounds, and the router's admission (128 in flight at
    // a time) makes at least 8. Without sharing all 1,000 would reach products.
    holdMs = 250;
    const before = await graphqlRequests();
    const { answered, complete, failures } = await storm(1_000, { query: LISTING, variables: { first: 20 } }).finally(() => {
      holdMs = 0;
    });
    const reached = (await graphqlRequests()) - before;
    expect(failures).toEqual({});
    expect(answered).toBe(1_000);
    expect(complete).toBe(1_000);
    expect(reached).toBeGreaterThanOrEqual(1);
    expect(reached).toBeLessThanOrEqual(50);
    expect(seen.length).toBe(reached);
  });

  it('When two users and a guest send the same query at the same time, then each identity gets its own fetch carrying its own assertion, and identical mutations are never shared', async () => {
    const [alice, bob, admin] = await Promise.all([member(), member(), member('ADMIN')]);
    seen = [];
    closeGate();
    const input = productInput({ name: `Dedupe ${randomUUID().slice(0, 8)}` });
    const pending = Promise.all([
      send(LISTING, { first: 5 }, alice),
      send(LISTING, { first: 5 }, bob),
      send(LISTING, { first: 5 }),
      send(CREATE, { input }, admin),
      send(CREATE, { input }, admin),
    ]);
    const queries = () => seen.filter((s) => s.body.startsWith('{"query":"query'));
    const mutations = () => seen.filter((s) => s.body.startsWith('{"query":"mutation'));
    // Held at the relay until every one has arrived: if any were shared, this never happens.
    await waitFor(() => queries().length >= 3 && mutations().length >= 2, 'one fetch per identity and both mutations');
    openGate();
    gate = undefined;
    const answers = await pending;
    expect(answers.every((a) => a.status === 200 && !a.body.errors)).toBe(true);
    expect(new Set(queries().map((q) => q.identity ?? 'anonymous')).size).toBe(3);
    expect(queries().filter((q) => q.identity === undefined)).toHaveLength(1);
    expect(mutations()).toHaveLength(2);
    const created = answers.slice(3).map((a) => (a.body.data!.createProduct as { id: string }).id);
    expect(new Set(created).size).toBe(2);
  });

  it('When the shared fetch times out, then the request that caused it and every one waiting on it get a coded, retryable UPSTREAM_UNAVAILABLE within the budget', async () => {
    seen = [];
    closeGate();
    const started = Date.now();
    const pending = Promise.all(Array.from({ length: 20 }, () => send(LISTING, { first: 3 })));
    await waitFor(() => seen.length >= 1, 'the shared fetch');
    const answers = await pending;
    openGate();
    gate = undefined;
    expect(Date.now() - started).toBeLessThan(REQUEST_BUDGET_MS + 1_000);
    for (const answer of answers) {
      expect(answer.body.errors?.[0]?.extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', retryable: true });
      expect(JSON.stringify(answer.body)).not.toMatch(/127\.0\.0\.1|localhost|:\d{4,5}/);
    }
    // The first attempt and its one retry: never one per waiting request.
    expect(seen.length).toBeLessThanOrEqual(2);
  });
});
