import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApolloServer } from '@apollo/server';
import { createHttpServer, createLogger, createMetrics, type RunningHttpServer } from '../src/index.js';

/**
 * HTTP hygiene with raw sockets, as misbehaving clients would send it. Short timeouts keep the
 * file fast; production uses DEFAULT_HTTP_TIMEOUTS.
 */
const TIMEOUTS = { headersMs: 1_000, bodyMs: 1_000, checkIntervalMs: 100, drainMs: 1_000 };
/** Room for the connection check interval and a loaded machine on top of a timeout. */
const SLACK_MS = 1_000;

let apollo: ApolloServer;
let running: RunningHttpServer;
beforeAll(async () => {
  apollo = new ApolloServer({ typeDefs: 'type Query { hello: String }', resolvers: { Query: { hello: () => 'hi' } } });
  await apollo.start();
  const http = createHttpServer({
    apollo,
    context: async () => ({}),
    logger: createLogger({ service: 'http-test' }, 'silent'),
    metrics: createMetrics('http-test'),
    readiness: {},
    maxBodyBytes: 64 * 1024,
    timeouts: TIMEOUTS,
  });
  running = await http.listen(0, '127.0.0.1');
});
afterAll(async () => {
  await running?.close(1_000);
  await apollo?.stop();
});

/** A raw connection that records what the server sent and when it closed the socket. */
class RawClient {
  received = '';
  closedAt: number | null = null;
  private waiters: (() => void)[] = [];
  private constructor(readonly socket: Socket) {
    socket.on('data', (data) => {
      this.received += data.toString('latin1');
      this.notify();
    });
    // ECONNRESET is one way a server closes: the test only cares that it did.
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closedAt = performance.now();
      this.notify();
    });
  }

  static async open(): Promise<RawClient> {
    const socket = connect(running.port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    return new RawClient(socket);
  }

  private notify() {
    for (const waiter of this.waiters.splice(0)) waiter();
  }

  /** Resolves when `condition` holds, re-checked on every byte and on close; fails after `timeoutMs`. */
  async until(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (!condition()) {
      if (performance.now() > deadline)
        throw new Error(`condition not met within ${timeoutMs} ms; received ${JSON.stringify(this.received.slice(0, 300))}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  write(text: string) {
    if (!this.socket.destroyed) this.socket.write(text);
  }

  responses(): number {
    return this.received.match(/HTTP\/1\.1 \d{3}/g)?.length ?? 0;
  }

  destroy() {
    this.socket.destroy();
  }
}

const HELLO = '{"query":"{ hello }"}';
const helloRequest = `POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${HELLO.length}\r\n\r\n${HELLO}`;
const chunkedHead = 'POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n';
function chunkedBody(bytes: number): string {
  const chunk = 'a'.repeat(16 * 1024);
  let body = '';
  for (let sent = 0; sent < bytes; sent += chunk.length) body += `${chunk.length.toString(16)}\r\n${chunk}\r\n`;
  return `${body}0\r\n\r\n`;
}

describe('HTTP hygiene', () => {
  it('When a 2 MB chunked body exceeds the limit, then 413 and the socket is closed or still answers; a fresh connection works', async () => {
    const client = await RawClient.open();
    client.write(chunkedHead + chunkedBody(2 * 1024 * 1024));
    await client.until(() => client.received.includes('PAYLOAD_TOO_LARGE'));
    expect(client.received).toMatch(/^HTTP\/1\.1 413 /);
    client.write(helloRequest);
    await client.until(() => client.closedAt !== null || client.received.includes('"hello":"hi"'));
    client.destroy();

    const fresh = await RawClient.open();
    fresh.write(helloRequest);
    await fresh.until(() => fresh.received.includes('"hello":"hi"'));
    fresh.destroy();
  });

  it('When a chunked body is too large but ends, then the rest is read before the 413 and the same socket answers the next request', async () => {
    const client = await RawClient.open();
    client.write(chunkedHead + chunkedBody(128 * 1024) + helloRequest);
    await client.until(() => client.responses() === 2);
    expect(client.received.match(/HTTP\/1\.1 \d{3}/g)).toEqual(['HTTP/1.1 413', 'HTTP/1.1 200']);
    expect(client.received).not.toMatch(/connection: close/i);
    expect(client.closedAt).toBeNull();
    client.destroy();
  });

  it('When a chunked body is too large and does not end within the drain time, then 413 says connection: close and a new connection works', async () => {
    const client = await RawClient.open();
    // No terminating chunk: the body's end never comes.
    client.write(chunkedHead + chunkedBody(128 * 1024).replace(/0\r\n\r\n$/, ''));
    await client.until(() => client.received.includes('PAYLOAD_TOO_LARGE'));
    expect(client.received).toMatch(/^HTTP\/1\.1 413 [\s\S]*connection: close/i);
    client.destroy();

    const fresh = await RawClient.open();
    fresh.write(helloRequest);
    await fresh.until(() => fresh.received.includes('"hello":"hi"'));
    fresh.destroy();
  });

  it('When a declared body overshoots the limit a little, then 413 and the next request on the same socket is answered', async () => {
    const client = await RawClient.open();
    // An answer that never reads the body (404), and one that stops reading at the limit (413).
    const body = 'x'.repeat(100 * 1024);
    client.write(`POST /nowhere HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    client.write(`POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    client.write(helloRequest);
    await client.until(() => client.responses() === 3);
    expect(client.received.match(/HTTP\/1\.1 \d{3}/g)).toEqual(['HTTP/1.1 404', 'HTTP/1.1 413', 'HTTP/1.1 200']);
    expect(client.closedAt).toBeNull();
    client.destroy();
  });

  it('When a client sends its headers one byte per second, then it is cut off within the header timeout', async () => {
    const client = await RawClient.open();
    // A first, ordinary request: the drip below is then the second request on a kept-alive socket.
    client.write(helloRequest);
    await client.until(() => client.responses() === 1);
    const started = performance.now();
    const request = helloRequest;
    let sent = 0;
    const drip = setInterval(() => client.write(request[sent++] ?? ''), 1_000);
    client.write(request[sent++]!);
    try {
      await client.until(() => client.closedAt !== null, TIMEOUTS.headersMs + SLACK_MS * 2);
    } finally {
      clearInterval(drip);
    }
    expect(client.closedAt! - started).toBeLessThan(TIMEOUTS.headersMs + SLACK_MS);
    expect(client.received.match(/HTTP\/1\.1 \d{3}/g)).toEqual(['HTTP/1.1 200', 'HTTP/1.1 408']);
  });

  it('When a client declares a 1000-byte body and sends 10 bytes, then it is cut off within the body timeout', async () => {
    const client = await RawClient.open();
    client.write('POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"query":"');
    const started = performance.now();
    await client.until(() => client.closedAt !== null, TIMEOUTS.bodyMs + SLACK_MS * 2);
    expect(client.closedAt! - started).toBeLessThan(TIMEOUTS.bodyMs + SLACK_MS);
    expect(client.received).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('When a client connects and sends nothing, then it is cut off within the header timeout', async () => {
    const client = await RawClient.open();
    const started = performance.now();
    await client.until(() => client.closedAt !== null, TIMEOUTS.headersMs + SLACK_MS * 2);
    expect(client.closedAt! - started).toBeLessThan(TIMEOUTS.headersMs + SLACK_MS);
  });

  it('When a kept-alive socket idles longer than the header timeout, then its next request is still answered', async () => {
    const client = await RawClient.open();
    client.write(helloRequest);
    await client.until(() => client.responses() === 1);
    const idleUntil = performance.now() + TIMEOUTS.headersMs + 500;
    await client.until(() => performance.now() > idleUntil || client.closedAt !== null, TIMEOUTS.headersMs + SLACK_MS);
    expect(client.closedAt).toBeNull();
    client.write(helloRequest);
    await client.until(() => client.responses() === 2);
    expect(client.received.match(/"hello":"hi"/g)).toHaveLength(2);
    client.destroy();
  });
});
