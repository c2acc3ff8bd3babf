import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '@bth/platform';
import { createReplicaPool } from '../src/replicas.js';

/** A stand-in replica over real HTTP that answers with its own name, so a test sees who served. */
class Replica {
  private server: Server | null = null;
  port = 0;
  constructor(readonly name: string) {}

  get url() {
    return `http://127.0.0.1:${this.port}/graphql`;
  }

  async start() {
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
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
  const started = names.map((name) => new Replica(name));
  for (const replica of started) await replica.start();
  replicas.push(...started);
  return started;
}

async function query(pool: ReturnType<typeof createReplicaPool>): Promise<string> {
  const response = (await pool.fetcher('http://unused/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: '{ servedBy }' }),
  })) as unknown as Response;
  return ((await response.json()) as { data: { servedBy: string } }).data.servedBy;
}

describe('replica pool', () => {
  it('When replicas are up, then requests alternate between them; a dead one is routed around', async () => {
    const [a, b] = await startReplicas('a', 'b');
    const pool = createReplicaPool('products', [a!.url, b!.url], silentLogger);
    expect(new Set(await Promise.all(Array.from({ length: 4 }, () => query(pool))))).toEqual(new Set(['a', 'b']));
    await a!.stop();
    for (let i = 0; i < 4; i++) expect(await query(pool)).toBe('b');
    expect(pool.healthy()).toEqual([b!.url]);
  });

  it('When the only replica believed up dies while the other is back but still cooling down, then the request goes to the one that is back', async () => {
    const [a, b] = await startReplicas('a', 'b');
    const pool = createReplicaPool('products', [a!.url, b!.url], silentLogger);
    // A rolling restart: a goes down (and into its cooldown), comes back, then b goes down.
    await a!.stop();
    for (let i = 0; i < 2; i++) expect(await query(pool)).toBe('b');
    await a!.start();
    await b!.stop();
    for (let i = 0; i < 4; i++) expect(await query(pool)).toBe('a');
  });
});
