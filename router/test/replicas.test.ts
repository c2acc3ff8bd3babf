import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '@bth/platform/logger';
import { createReplicaPool } from '../src/replicas.js';

/** A stand-in replica over real HTTP that answers with its own name, so a test sees who served. */
class Replica {
  private server: Server | null = null;
  port = 0;
  /** What each request carried, in arrival order. */
  readonly seen: { body: string; deadline: number }[] = [];
  /** Frozen: accepts connections and reads requests but never answers, as a SIGSTOPped process's kernel does. */
  constructor(
    readonly name: string,
    readonly frozen = false,
  ) {}

  get url() {
    return `http://127.0.0.1:${this.port}/graphql`;
  }

  async start() {
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk));
      req.on('end', () => {
        this.seen.push({ body, deadline: Number(req.headers['x-bth-deadline']) });
        if (this.frozen) return;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ data: { servedBy: this.name } }));
      });
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** Gone at once, kept-alive connections included, as a killed process would be. */
  async stop() {
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

const silentLogger = createLogger({ service: 'router-test' }, 'silent');
const replicas: Replica[] = [];
afterEach(async () => {
  await Promise.all(replicas.splice(0).map((r) => r.stop()));
});

async function startReplicas(...names: string[]) {
  const started = names.map((name) => new Replica(name, name.startsWith('frozen')));
  for (const replica of started) await replica.start();
  replicas.push(...started);
  return started;
}

const TIMEOUTS = { queryMs: 2_500, mutationMs: 10_000 };

async function query(
  pool: ReturnType<typeof createReplicaPool>,
  text = '{ servedBy }',
  headers: Record<string, string> = {},
): Promise<string> {
  const response = (await pool.fetcher('http://unused/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query: text }),
  })) as unknown as Response;
  return ((await response.json()) as { data: { servedBy: string } }).data.servedBy;
}

/** The answer, or the error's code, and how long it took. */
async function timedQuery(pool: ReturnType<typeof createReplicaPool>, text?: string, headers?: Record<string, string>) {
  const started = performance.now();
  const outcome = await query(pool, text, headers).catch(
    (error: unknown) => `error:${(error as { extensions?: { code?: string } }).extensions?.code}`,
  );
  return { outcome, ms: performance.now() - started };
}

const percentile = (values: number[], p: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((p / 100) * values.length))]!;

describe('replica pool', () => {
  it('When replicas are up, then requests alternate between them; a dead one is routed around', async () => {
    const [a, b] = await startReplicas('a', 'b');
    const pool = createReplicaPool('products', [a!.url, b!.url], silentLogger, TIMEOUTS);
    expect(new Set(await Promise.all(Array.from({ length: 4 }, () => query(pool))))).toEqual(new Set(['a', 'b']));
    await a!.stop();
    for (let i = 0; i < 4; i++) expect(await query(pool)).toBe('b');
    expect(pool.healthy()).toEqual([b!.url]);
  });

  it('When the only replica believed up dies while the other is back but still cooling down, then the request goes to the one that is back', async () => {
    const [a, b] = await startReplicas('a', 'b');
    const pool = createReplicaPool('products', [a!.url, b!.url], silentLogger, TIMEOUTS);
    // A rolling restart: a goes down (and into its cooldown), comes back, then b goes down.
    await a!.stop();
    for (let i = 0; i < 2; i++) expect(await query(pool)).toBe('b');
    await a!.start();
    await b!.stop();
    for (let i = 0; i < 4; i++) expect(await query(pool)).toBe('a');
  });

  it('When one replica is frozen (accepts, never answers), then every query still answers, within one attempt deadline plus the retry, and later ones go straight to the live replica', async () => {
    const [frozen, live] = await startReplicas('frozen', 'live');
    const timeouts = { queryMs: 800, mutationMs: 2_000 };
    const pool = createReplicaPool('products', [frozen!.url, live!.url], silentLogger, timeouts);
    try {
      // A steady trickle of reads, as shoppers browsing: some are sent to the frozen replica first.
      const results: { outcome: string; ms: number }[] = [];
      for (let wave = 0; wave < 10; wave++) results.push(...(await Promise.all(Array.from({ length: 4 }, () => timedQuery(pool)))));
      expect(results.map((r) => r.outcome)).toEqual(results.map(() => 'live'));
      const ms = results.map((r) => r.ms);
      console.info(
        `frozen replica, queries: p50 ${percentile(ms, 50).toFixed(0)} ms, p99 ${percentile(ms, 99).toFixed(0)} ms, max ${Math.max(...ms).toFixed(0)} ms`,
      );
      // Queries that met the frozen replica before its ejection waited one attempt deadline at most.
      expect(Math.max(...ms)).toBeLessThan(timeouts.queryMs + 500);
      expect(percentile(ms, 50)).toBeLessThan(100);
      expect(pool.healthy()).toEqual([live!.url]);
      // Once ejected it gets no more traffic while it cools down.
      const sentToFrozen = frozen!.seen.length;
      for (let i = 0; i < 5; i++) expect(await query(pool)).toBe('live');
      expect(frozen!.seen.length).toBe(sentToFrozen);
    } finally {
      pool.close();
    }
  });

  it('When a query waits on a replica that is then ejected for hanging, then it is sent to the live replica at once instead of waiting out its deadline', async () => {
    const [frozen, live] = await startReplicas('frozen', 'live');
    // A long deadline: only the hang detection (1 s of silence, then a failed liveness probe) can end the wait early.
    // The frozen replica is first in line for the first request.
    const pool = createReplicaPool('products', [frozen!.url, live!.url], silentLogger, { queryMs: 8_000, mutationMs: 8_000 });
    try {
      // A lone query, no other traffic: the frozen replica is found out by its failed liveness probe.
      const { outcome, ms } = await timedQuery(pool);
      expect(outcome).toBe('live');
      expect(ms).toBeLessThan(2_500);
      expect(pool.healthy()).toEqual([live!.url]);
    } finally {
      pool.close();
    }
  });

  it('When a mutation times out on a frozen replica, then it is not sent again (it may have run) and the client gets a retryable UPSTREAM_UNAVAILABLE', async () => {
    const [frozen, live] = await startReplicas('frozen', 'live');
    const pool = createReplicaPool('orders', [frozen!.url, live!.url], silentLogger, { queryMs: 300, mutationMs: 2_000 });
    try {
      const { outcome, ms } = await timedQuery(pool, 'mutation { placeOrder }');
      expect(outcome).toBe('error:UPSTREAM_UNAVAILABLE');
      // It waits out its own deadline even after the replica is ejected for hanging (~1.5 s): a
      // replica that wakes up in time still gives the real outcome.
      expect(ms).toBeGreaterThanOrEqual(1_950);
      expect(ms).toBeLessThan(2_800);
      expect(live!.seen.filter((r) => r.body.includes('mutation'))).toEqual([]);
    } finally {
      pool.close();
    }
  });

  it("When the client's budget is nearly spent, then the attempt ends at the client deadline and the subgraph is told that deadline", async () => {
    const [frozen] = await startReplicas('frozen');
    const pool = createReplicaPool('products', [frozen!.url], silentLogger, TIMEOUTS);
    try {
      const clientDeadline = Date.now() + 400;
      const { outcome, ms } = await timedQuery(pool, '{ servedBy }', { 'x-bth-deadline': String(clientDeadline) });
      expect(outcome).toBe('error:UPSTREAM_UNAVAILABLE');
      expect(ms).toBeLessThan(1_000);
      expect(frozen!.seen).toHaveLength(1);
      expect(frozen!.seen[0]!.deadline).toBeGreaterThan(Date.now() - 1_000);
      expect(frozen!.seen[0]!.deadline).toBeLessThanOrEqual(clientDeadline);
    } finally {
      pool.close();
    }
  });
});
