import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '@bth/testkit';
import { InventoryUnavailableError, createInventoryClient } from '../src/inventory.client.js';

/**
 * A hot product's queue in inventory is full: it answers 503 OVERLOADED at once (docs/internal-apis.md).
 * A stand-in inventory over real HTTP that always says so, and counts what reaches it.
 */
let server: Server;
let url: string;
let received = 0;
beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received++;
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'OVERLOADED', message: 'busy', retryable: true, retryAfterSeconds: 2 } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('inventory overload', () => {
  it('When inventory answers OVERLOADED, then the order fails once with nothing held and the wait it named, never retried and never opening the breaker', async () => {
    // Generous deadlines: the stand-in answers at once, and a loaded machine must not turn that into a timeout.
    const client = createInventoryClient({
      urls: [url],
      token: async () => 'token',
      logger: silentLogger,
      timeoutMs: 10_000,
      hangMs: 5_000,
      resetTimeoutMs: 1_000,
    });
    try {
      const failures = await Promise.all(
        Array.from({ length: 20 }, () =>
          client.reserve({ orderId: randomUUID(), userId: randomUUID(), lines: [{ productId: randomUUID(), quantity: 1 }] }).then(
            () => null,
            (error: unknown) => error,
          ),
        ),
      );
      for (const failure of failures) {
        expect(failure).toBeInstanceOf(InventoryUnavailableError);
        expect(failure).toMatchObject({ reason: 'OVERLOADED', mayHaveTakenEffect: false, retryAfterSeconds: 2 });
      }
      expect(received).toBe(20);
      expect(client.breakerState()).toBe('closed');
    } finally {
      client.shutdown();
    }
  });
});
