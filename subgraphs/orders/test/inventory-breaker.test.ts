import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger, waitFor } from '@bth/testkit';
import { InventoryUnavailableError, createInventoryClient } from '../src/inventory.client.js';

/**
 * The breaker around inventory, against a stand-in inventory over real HTTP whose health the test
 * switches: answering, failing with 500, or back again.
 */
let mode: 'ok' | 'fail' = 'fail';
let server: Server;
let url: string;
beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(mode === 'ok' ? 200 : 500, { 'content-type': 'application/json' });
      res.end(JSON.stringify(mode === 'ok' ? { outcome: 'RELEASED', lines: [] } : { error: { code: 'INTERNAL_SERVER_ERROR' } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

describe('inventory circuit breaker', () => {
  it('When inventory fails again soon after an outage, then the breaker opens again after as few failures as the first time', async () => {
    const client = createInventoryClient({ urls: [url], token: async () => 'token', logger: silentLogger, timeoutMs: 1_000, resetTimeoutMs: 300, attempts: 1 });
    const release = () => client.release(randomUUID()).then(() => 'ok' as const, (error: unknown) => (error as InventoryUnavailableError).reason);
    try {
      mode = 'fail';
      for (let i = 0; i < 10; i++) expect(await release()).toBe('SERVER_ERROR');
      expect(client.breakerState()).toBe('open');
      // A busy shop keeps calling while the breaker is open: all of them are refused at once.
      for (let i = 0; i < 200; i++) expect(await release()).toBe('BREAKER_OPEN');

      mode = 'ok';
      await waitFor(async () => (await release()) === 'ok', 5_000, 50);
      expect(client.breakerState()).toBe('closed');

      // Inventory dies again within the breaker's 10 s window. The refusals of the open period
      // must not count as calls that went fine, or the error rate stays under the threshold and
      // every order waits for its own failure.
      mode = 'fail';
      for (let i = 0; i < 10 && client.breakerState() !== 'open'; i++) expect(await release()).toBe('SERVER_ERROR');
      expect(client.breakerState()).toBe('open');
    } finally {
      client.shutdown();
    }
  });
});
