import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { dropTestDatabases, graphql, waitFor } from '@bth/testkit';
import { createProduct, startProducts, type Products } from '@bth/fixtures/products';
import { PLACE, newUser, placeInput, startOrders, type Orders, type User } from '@bth/fixtures/orders';

/**
 * Inventory replicas that hang (SIGSTOP-like) while members order, against the real products
 * service. Each replica is a freezable TCP proxy in front of it: frozen, it keeps accepting
 * connections but reads and forwards nothing, which is what a stopped process's kernel does.
 */
interface FreezableReplica {
  base: string;
  freeze(): void;
  thaw(): void;
  close(): Promise<void>;
}

async function freezableReplica(targetPort: number): Promise<FreezableReplica> {
  const sockets = new Set<Socket>();
  let frozen = false;
  const server: Server = createServer((client) => {
    const upstream = connect({ host: '127.0.0.1', port: targetPort });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket
        .on('error', () => socket.destroy())
        .on('close', () => {
          sockets.delete(socket);
          (socket === client ? upstream : client).destroy();
        });
    }
    client.pipe(upstream);
    upstream.pipe(client);
    if (frozen) {
      client.pause();
      upstream.pause();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    freeze() {
      frozen = true;
      for (const socket of sockets) socket.pause();
    },
    thaw() {
      frozen = false;
      for (const socket of sockets) socket.resume();
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

let products: Products;
let replicas: FreezableReplica[];
let orders: Orders;
let user: User;

beforeAll(async () => {
  products = await startProducts({ messaging: false });
  const port = Number(new URL(products.base).port);
  replicas = [await freezableReplica(port), await freezableReplica(port)];
  // The harness's 7 s inventory timeout and 1 s breaker reset; INVENTORY_HANG_MS 1 s.
  // The production reset timeout (5 s): recovery must come from the liveness probe, not from a short reset.
  orders = await startOrders({ inventoryUrls: replicas.map((r) => r.base), inventoryBreakerResetMs: 5_000 }, { scheduler: false });
  user = await newUser();
});
afterEach(() => {
  for (const replica of replicas) replica.thaw();
});
afterAll(async () => {
  await orders?.stop();
  for (const replica of replicas ?? []) await replica.close();
  await products?.close();
  await dropTestDatabases();
});

type Answer = { type: string; ms: number; at: number };

async function placeTimed(productId: string): Promise<Answer> {
  const started = performance.now();
  const response = await graphql(orders.url, PLACE, { input: placeInput([{ productId, quantity: 1 }]) }, user.headers);
  const ms = performance.now() - started;
  return {
    type: response.errors ? `error:${String(response.errors[0]?.extensions?.code)}` : String(response.data!.placeOrder.__typename),
    ms,
    at: started,
  };
}

/** Open-loop load: one order every `1000 / perSecond` ms for `seconds`, whatever the answers take. */
async function offer(productId: string, perSecond: number, seconds: number): Promise<Answer[]> {
  const pending: Promise<Answer>[] = [];
  const gap = 1000 / perSecond;
  const start = performance.now();
  for (let i = 0; i < perSecond * seconds; i++) {
    const due = start + i * gap;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - performance.now())));
    pending.push(placeTimed(productId));
  }
  return Promise.all(pending);
}

const percentile = (values: number[], p: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((p / 100) * values.length))]!;
const report = (label: string, answers: Answer[]) => {
  const ms = answers.map((a) => a.ms);
  const counts: Record<string, number> = {};
  for (const a of answers) counts[a.type] = (counts[a.type] ?? 0) + 1;
  console.info(
    `${label}: ${answers.length} orders ${JSON.stringify(counts)}, p50 ${percentile(ms, 50).toFixed(0)} ms, p99 ${percentile(ms, 99).toFixed(0)} ms`,
  );
};

/** Watches the breaker and returns when (performance.now()) it was first seen open. */
function watchBreaker() {
  let openedAt: number | null = null;
  const timer = setInterval(() => {
    if (openedAt === null && orders.inventory.breakerState() === 'open') openedAt = performance.now();
  }, 10);
  return {
    openedAt: () => openedAt,
    stop: () => clearInterval(timer),
  };
}

async function inventoryAnswersAgain(productId: string) {
  await waitFor(async () => (await placeTimed(productId)).type === 'Order', 15_000, 100);
  expect(orders.inventory.breakerState()).toBe('closed');
}

describe('inventory hangs while members order', () => {
  it('When one inventory replica freezes, then every order is still placed (moved to the live replica by order id) and none waits anywhere near the 7 s timeout', async () => {
    const productId = await createProduct(products, { stock: 1_000 });
    await inventoryAnswersAgain(productId);
    replicas[0]!.freeze();
    const answers = await offer(productId, 10, 6);
    report('one replica frozen, 10 orders/s', answers);
    expect(answers.filter((a) => a.type !== 'Order')).toEqual([]);
    // Orders sent to the frozen replica wait for its silence (1 s) and the failed probe (0.5 s).
    expect(
      percentile(
        answers.map((a) => a.ms),
        99,
      ),
    ).toBeLessThan(2_500);
    expect(orders.inventory.breakerState()).toBe('closed');
  });

  for (const [rate, label] of [
    [2, 'a low rate (2 orders/s)'],
    [25, 'a high rate (25 orders/s)'],
  ] as const) {
    it(`When every inventory replica freezes at ${label}, then the breaker opens within ~3.5 s, no order waits out the 7 s timeout, and orders after it are refused at once`, async () => {
      const productId = await createProduct(products, { stock: 1_000 });
      await inventoryAnswersAgain(productId);
      // A shop that was doing fine: the breaker's window holds only successes.
      await offer(productId, 10, 1);
      const breaker = watchBreaker();
      const frozenAt = performance.now();
      for (const replica of replicas) replica.freeze();
      let answers: Answer[];
      try {
        answers = await offer(productId, rate, 5);
      } finally {
        breaker.stop();
      }
      report(`all replicas frozen, ${rate} orders/s`, answers);
      const openedAt = breaker.openedAt();
      expect(openedAt).not.toBeNull();
      console.info(`breaker open ${(openedAt! - frozenAt).toFixed(0)} ms after the freeze`);
      // Worst case, at the lowest rates: each replica in turn waits 1 s of silence plus a 0.5 s probe.
      expect(openedAt! - frozenAt).toBeLessThan(4_000);
      for (const answer of answers) expect(answer.type).toBe('InventoryUnavailable');
      expect(Math.max(...answers.map((a) => a.ms))).toBeLessThan(4_500);
      // Once open, an order is refused without waiting for the hung inventory (only for its own
      // database writes, slowed on a shared 2-core machine by the burst of abandoned orders).
      const afterOpen = answers.filter((a) => a.at > openedAt! + 50 && a.at < openedAt! + 900);
      expect(afterOpen.length).toBeGreaterThan(0);
      for (const answer of afterOpen) expect(answer.ms).toBeLessThan(1_000);

      const thawedAt = performance.now();
      for (const replica of replicas) replica.thaw();
      await inventoryAnswersAgain(productId);
      // Closed by the liveness probe as soon as inventory runs again, not after the 5 s reset.
      console.info(`first order placed ${(performance.now() - thawedAt).toFixed(0)} ms after the thaw`);
      expect(performance.now() - thawedAt).toBeLessThan(2_500);
    });
  }

  it("When the router's deadline has already passed, then orders refuses the work at once with a retryable UPSTREAM_UNAVAILABLE and writes nothing", async () => {
    const productId = await createProduct(products, { stock: 10 });
    const before = await orders.query<{ n: number }>('SELECT COUNT(*) AS n FROM orders');
    const response = await fetch(orders.url, {
      method: 'POST',
      headers: { ...user.headers, 'content-type': 'application/json', 'x-bth-deadline': String(Date.now() - 1) },
      body: JSON.stringify({ query: PLACE, variables: { input: placeInput([{ productId, quantity: 1 }]) } }),
    });
    expect(response.status).toBe(503);
    const body = (await response.json()) as { errors: { extensions: Record<string, unknown> }[] };
    expect(body.errors[0]!.extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', retryable: true });
    expect(await orders.query<{ n: number }>('SELECT COUNT(*) AS n FROM orders')).toEqual(before);
  });

  it("When the router's deadline is near, then the reserve waits only the time left, not the inventory timeout", async () => {
    const productId = await createProduct(products, { stock: 10 });
    await inventoryAnswersAgain(productId);
    for (const replica of replicas) replica.freeze();
    const started = performance.now();
    const response = await graphql(
      orders.url,
      PLACE,
      { input: placeInput([{ productId, quantity: 1 }]) },
      { ...user.headers, 'x-bth-deadline': String(Date.now() + 500) },
    );
    const ms = performance.now() - started;
    expect(response.data!.placeOrder).toMatchObject({ __typename: 'InventoryUnavailable', retryable: true });
    // Before hang detection (1.5 s) could end it: the deadline did.
    expect(ms).toBeLessThan(1_200);
    // A caller's deadline is no evidence against inventory.
    expect(orders.inventory.breakerState()).toBe('closed');
  });
});
