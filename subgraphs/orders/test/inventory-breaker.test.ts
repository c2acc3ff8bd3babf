import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger, waitFor } from '@bth/testkit';
import { type InventoryUnavailableError, createInventoryClient } from '../src/inventory.client.js';

/**
 * The breaker around inventory, against a stand-in inventory over real HTTP whose health the test
 * switches: answering, failing with 500, frozen (reads requests, answers none), or back again.
 */
let mode: 'ok' | 'fail' | 'frozen' = 'fail';
let server: Server;
let url: string;
beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      // Frozen: what arrived now is never answered (a backlog the replica never gets to).
      if (mode === 'frozen') return;
      res.writeHead(mode === 'ok' ? 200 : 500, { 'content-type': 'application/json' });
      res.end(JSON.stringify(mode === 'ok' ? { outcome: 'RELEASED', lines: [] } : { error: { code: 'INTERNAL_SERVER_ERROR' } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('inventory circuit breaker', () => {
  it('When inventory fails again soon after an outage, then the breaker opens again after as few failures as the first time', async () => {
    const client = createInventoryClient({
      urls: [url],
      token: async () => 'token',
      logger: silentLogger,
      timeoutMs: 1_000,
      hangMs: 1_000,
      resetTimeoutMs: 300,
      attempts: 1,
    });
    const release = () =>
      client.release(randomUUID()).then(
        () => 'ok' as const,
        (error: unknown) => (error as InventoryUnavailableError).reason,
      );
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

  it('When inventory recovers from a short freeze, then the late timeouts of the calls it never answered do not open the breaker', async () => {
    const client = createInventoryClient({
      urls: [url],
      token: async () => 'token',
      logger: silentLogger,
      timeoutMs: 1_500,
      hangMs: 1_000,
      resetTimeoutMs: 1_000,
      attempts: 1,
    });
    const release = () =>
      client.release(randomUUID()).then(
        () => 'ok' as const,
        (error: unknown) => (error as InventoryUnavailableError).reason,
      );
    let opened = false;
    const watch = setInterval(() => (opened ||= client.breakerState() === 'open'), 10);
    try {
      mode = 'ok';
      for (let i = 0; i < 3; i++) expect(await release()).toBe('ok');
      // A freeze shorter than hang detection: twenty calls are caught in it and never answered.
      mode = 'frozen';
      const backlog = Promise.all(Array.from({ length: 20 }, release));
      await new Promise((resolve) => setTimeout(resolve, 500));
      mode = 'ok';
      // Inventory answers again, at a modest rate, while the backlog's 1.5 s timeouts fire.
      const after: string[] = [];
      for (let i = 0; i < 15; i++) {
        after.push(await release());
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      expect(new Set(await backlog)).toEqual(new Set(['TIMEOUT']));
      expect(after.join(' ')).toBe(after.map(() => 'ok').join(' '));
      // Those timeouts are no news: inventory answered after each of their calls began.
      expect(opened).toBe(false);
    } finally {
      clearInterval(watch);
      client.shutdown();
    }
  });
});
