import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor, type GraphQLResponse } from '@bth/testkit';
import { metricValue, startStack, type Member, type OrderLineInput, type Stack } from '../support/stack.js';

/**
 * Inventory (every products replica) dies or hangs while members order. Orders gives a reserve
 * 2 s in all; a replica that answers nothing for 1 s and fails its liveness probe is ejected (its
 * calls move to another replica by order id) and once every replica is ejected the breaker opens;
 * it stays open 4 s before one trial call (long enough for the fast-failure checks to run inside
 * one open period); a PENDING order older than 2 s is reconciled (its stock released) by the
 * scheduler.
 */
const INVENTORY_TIMEOUT_MS = 2_000;
const BREAKER_RESET_SECONDS = 4;

let stack: Stack;
let admin: Member;
let buyers: Member[];
beforeAll(async () => {
  stack = await startStack({
    only: ['users', 'products', 'orders'],
    productsReplicas: 2,
    envFor: {
      orders: {
        INVENTORY_TIMEOUT_MS: String(INVENTORY_TIMEOUT_MS),
        INVENTORY_BREAKER_RESET_MS: String(BREAKER_RESET_SECONDS * 1000),
        RECONCILE_PENDING_AFTER_SECONDS: '2',
        SCHEDULER_INTERVAL_MS: '200',
      },
    },
  });
  admin = await stack.signUpAdmin();
  buyers = await stack.signUpMany(4, 4);
});
afterAll(async () => {
  await stack?.stop();
});

type Outcome = { __typename: string; id?: string; retryable?: boolean; retryAfterSeconds?: number };
const replicas = () => [stack.service('products', 0), stack.service('products', 1)];

async function timed(request: () => Promise<GraphQLResponse>): Promise<{ outcome: Outcome; ms: number }> {
  const started = performance.now();
  const response = await request();
  const ms = performance.now() - started;
  expect(response.errors).toBeUndefined();
  return { outcome: response.data!.placeOrder as Outcome, ms };
}

/** Orders every buyer in turn, `count` orders of 1–2 units; answers arrive as they come. */
function burst(productId: string, count: number, onAnswer: () => void) {
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const response = await stack.placeOrder(buyers[i % buyers.length]!, [{ productId, quantity: 1 + (i % 2) }]);
      onAnswer();
      return response;
    }),
  );
}

/**
 * The end state that must hold after any fault: every order that does not stand (FAILED,
 * REJECTED) holds nothing in inventory, every standing order holds exactly its units, nothing is
 * left PENDING, and stock = initial − what standing orders hold.
 */
async function expectNoStockHeldByDeadOrders(productId: string, initialStock: number) {
  await waitFor(async () => {
    const [row] = await stack.query<{ n: number }>('orders', `SELECT COUNT(*) AS n FROM orders WHERE status = 'PENDING'`);
    return Number(row!.n) === 0;
  }, 20_000);
  const orders = await stack.query<{ id: string; status: string; quantity: number }>(
    'orders',
    'SELECT o.id, o.status, l.quantity FROM orders o JOIN order_lines l ON l.order_id = o.id WHERE l.product_id = ?',
    [productId],
  );
  const held = new Map(
    (
      await stack.query<{ order_id: string; units: number }>(
        'products',
        'SELECT order_id, -SUM(quantity_delta) AS units FROM stock_ledger WHERE product_id = ? AND order_id IS NOT NULL GROUP BY order_id',
        [productId],
      )
    ).map((r) => [r.order_id, Number(r.units)]),
  );
  const reservationStatus = new Map(
    (await stack.query<{ order_id: string; status: string }>('products', 'SELECT order_id, status FROM reservations')).map((r) => [
      r.order_id,
      r.status,
    ]),
  );
  const known = new Set(orders.map((o) => o.id));
  // Inventory holds nothing for an order that orders does not know.
  expect([...held.keys()].filter((id) => !known.has(id))).toEqual([]);
  let standing = 0;
  for (const order of orders) {
    if (order.status === 'AWAITING_PAYMENT') {
      expect({ order: order.id, held: held.get(order.id), reservation: reservationStatus.get(order.id) }).toEqual({
        order: order.id,
        held: order.quantity,
        reservation: 'RESERVED',
      });
      standing += order.quantity;
    } else {
      expect(['FAILED', 'REJECTED']).toContain(order.status);
      expect({
        order: order.id,
        status: order.status,
        held: held.get(order.id) ?? 0,
        reserved: reservationStatus.get(order.id) === 'RESERVED',
      }).toEqual({
        order: order.id,
        status: order.status,
        held: 0,
        reserved: false,
      });
    }
  }
  expect(await stack.stockOf(productId)).toBe(initialStock - standing);
  const report = await stack.inventoryReport(admin, [productId]);
  expect(report).toMatchObject({ consistent: true, totalDifference: 0, soldUnits: standing, totalStock: initialStock - standing });
  return { orders, standing };
}

describe('inventory faults while members order', () => {
  it('When every products replica is killed during a run, then orders fail fast and retryable behind the open breaker, flow again once it is back, and no failed order holds stock', async () => {
    const initialStock = 500;
    const productId = await stack.createProduct(admin, { stock: initialStock });

    // Kill inventory while a burst of orders is on its way.
    let answered = 0;
    const running = burst(productId, 40, () => (answered += 1));
    await waitFor(() => answered >= 8, 20_000, 5);
    await Promise.all(replicas().map((r) => r.kill()));
    const during = await running;
    expect(during.flatMap((r) => r.errors ?? [])).toEqual([]);
    for (const response of during) expect(['Order', 'InventoryUnavailable']).toContain(response.data!.placeOrder.__typename);

    // Inventory is gone: each answer is a retryable InventoryUnavailable; the breaker opens after a
    // few failures, and then the answer says to come back when it will try again.
    const line: OrderLineInput[] = [{ productId, quantity: 2 }];
    const retryKey = randomUUID();
    const first = await timed(() => stack.placeOrder(buyers[0]!, line, { idempotencyKey: retryKey }));
    expect(first.outcome).toMatchObject({ __typename: 'InventoryUnavailable', retryable: true });
    let opened = false;
    for (let i = 0; i < 30 && !opened; i++) {
      const { outcome } = await timed(() => stack.placeOrder(buyers[1]!, line));
      expect(outcome).toMatchObject({ __typename: 'InventoryUnavailable', retryable: true });
      opened = outcome.retryAfterSeconds === BREAKER_RESET_SECONDS;
    }
    expect(opened).toBe(true);
    for (let i = 0; i < 5; i++) {
      const { outcome, ms } = await timed(() => stack.placeOrder(buyers[2]!, line));
      expect(outcome).toEqual({
        __typename: 'InventoryUnavailable',
        message: expect.any(String),
        retryable: true,
        retryAfterSeconds: BREAKER_RESET_SECONDS,
      });
      expect(ms).toBeLessThan(INVENTORY_TIMEOUT_MS / 4);
    }
    expect(metricValue(await stack.metrics('orders'), 'inventory_breaker_transitions_total', { state: 'open' })).toBeGreaterThanOrEqual(1);
    // Nothing is left half-written by the fast failures: each is FAILED with its key free again.
    const [failedRow] = await stack.query<{ status: string; idempotency_claim: string | null }>(
      'orders',
      'SELECT status, idempotency_claim FROM orders WHERE user_id = ? AND idempotency_key = ?',
      [buyers[0]!.userId, retryKey],
    );
    expect(failedRow).toEqual({ status: 'FAILED', idempotency_claim: null });

    await Promise.all(replicas().map((r) => r.start()));
    // The documented retry: the same request with the same key goes through once inventory is back.
    const retried = await waitFor(
      async () => {
        const { outcome } = await timed(() => stack.placeOrder(buyers[0]!, line, { idempotencyKey: retryKey }));
        return outcome.__typename === 'Order' ? outcome : null;
      },
      20_000,
      200,
    );
    expect(retried).toMatchObject({ __typename: 'Order', status: 'AWAITING_PAYMENT' });
    // And the breaker is closed again: a new order is placed at once.
    expect((await stack.placeOrder(buyers[3]!, line)).data!.placeOrder).toMatchObject({ __typename: 'Order', status: 'AWAITING_PAYMENT' });

    const { orders } = await expectNoStockHeldByDeadOrders(productId, initialStock);
    expect(orders.filter((o) => o.status === 'FAILED').length).toBeGreaterThanOrEqual(6);
  });

  it('When every products replica hangs, then orders wait at most the hang detection or the inventory deadline, the breaker opens so later orders answer at once, and the orders left unsure are reconciled without holding stock', async () => {
    const initialStock = 300;
    const productId = await stack.createProduct(admin, { stock: initialStock });
    // Inventory answers normally first (the breaker of the previous test is closed again).
    expect((await stack.placeOrder(buyers[0]!, [{ productId, quantity: 1 }])).data!.placeOrder).toMatchObject({ __typename: 'Order' });

    const opens = async () => metricValue(await stack.metrics('orders'), 'inventory_breaker_transitions_total', { state: 'open' });
    const opensBefore = await opens();
    for (const replica of replicas()) replica.pause();
    try {
      // A burst of orders caught in the hang.
      const started = performance.now();
      const stuckRequests = Promise.all(
        Array.from({ length: 12 }, (_, i) => timed(() => stack.placeOrder(buyers[i % buyers.length]!, [{ productId, quantity: 1 }]))),
      );

      // Once every replica is found hung, the breaker opens: the next orders do not wait on the hung inventory at all.
      await waitFor(async () => (await opens()) > opensBefore, 3 * INVENTORY_TIMEOUT_MS, 20);
      for (let i = 0; i < 5; i++) {
        const { outcome, ms } = await timed(() => stack.placeOrder(buyers[1]!, [{ productId, quantity: 1 }]));
        expect(outcome).toMatchObject({ __typename: 'InventoryUnavailable', retryable: true, retryAfterSeconds: BREAKER_RESET_SECONDS });
        expect(ms).toBeLessThan(INVENTORY_TIMEOUT_MS / 4);
      }

      const stuck = await stuckRequests;
      const elapsed = performance.now() - started;
      for (const { outcome } of stuck) expect(outcome).toMatchObject({ __typename: 'InventoryUnavailable', retryable: true });
      // None waited past the inventory deadline (the hang detection usually ends them sooner), and
      // the release that follows is refused at once by the open breaker.
      const stuckMs = stuck.map((s) => s.ms);
      console.info(`all products replicas frozen: ${stuck.length} orders, slowest ${Math.max(...stuckMs).toFixed(0)} ms`);
      expect(Math.max(...stuckMs)).toBeLessThan(INVENTORY_TIMEOUT_MS + 1_000);
      expect(elapsed).toBeLessThan(INVENTORY_TIMEOUT_MS + 1_500);
      // The outcome of those reserves is unknown, so their orders stay PENDING for the reconciler.
      const [pending] = await stack.query<{ n: number }>('orders', `SELECT COUNT(*) AS n FROM orders WHERE status = 'PENDING'`);
      expect(Number(pending!.n)).toBe(12);
    } finally {
      for (const replica of replicas()) replica.resume();
    }

    // Inventory wakes up and may now apply reserves whose callers gave up long ago; the
    // reconciler releases them, and new orders are placed again.
    await waitFor(
      async () => (await stack.placeOrder(buyers[2]!, [{ productId, quantity: 1 }])).data?.placeOrder.__typename === 'Order',
      20_000,
      200,
    );
    const { orders } = await expectNoStockHeldByDeadOrders(productId, initialStock);
    expect(orders.filter((o) => o.status === 'FAILED').length).toBeGreaterThanOrEqual(17);
  });

  it('When one products replica is frozen (SIGSTOP), then reads and orders through the router keep succeeding, none slower than the hang detection plus one retry', async () => {
    const productId = await stack.createProduct(admin, { stock: 500 });
    const read = async () => {
      const started = performance.now();
      const response = await stack.gql('query($id: ID!) { product(id: $id) { id stock } }', { id: productId });
      return { ok: response.errors === undefined && response.data?.product?.id === productId, ms: performance.now() - started };
    };
    const order = async (i: number) => {
      const started = performance.now();
      const response = await stack.placeOrder(buyers[i % buyers.length]!, [{ productId, quantity: 1 }]);
      return { ok: response.data?.placeOrder?.__typename === 'Order', ms: performance.now() - started };
    };
    const frozen = stack.service('products', 0);
    frozen.pause();
    let reads: { ok: boolean; ms: number }[];
    let orders: { ok: boolean; ms: number }[];
    try {
      // About 8 reads and 4 orders a second for 4 s, a few at a time.
      reads = [];
      orders = [];
      for (let wave = 0; wave < 16; wave++) {
        const [r, o] = await Promise.all([Promise.all([read(), read()]), order(wave)]);
        reads.push(...r);
        orders.push(o);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } finally {
      frozen.resume();
    }
    const p = (values: number[], q: number) =>
      [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((q / 100) * values.length))]!;
    const readMs = reads.map((r) => r.ms);
    const orderMs = orders.map((o) => o.ms);
    console.info(
      `one products replica frozen: reads p50 ${p(readMs, 50).toFixed(0)} ms p99 ${p(readMs, 99).toFixed(0)} ms; orders p50 ${p(orderMs, 50).toFixed(0)} ms p99 ${p(orderMs, 99).toFixed(0)} ms`,
    );
    expect(reads.filter((r) => !r.ok)).toEqual([]);
    expect(orders.filter((o) => !o.ok)).toEqual([]);
    // Router: a read meets the frozen replica for at most one 2.5 s attempt (usually 1.5 s of hang detection).
    expect(Math.max(...readMs)).toBeLessThan(3_500);
    expect(Math.max(...orderMs)).toBeLessThan(INVENTORY_TIMEOUT_MS + 1_500);
    await expectNoStockHeldByDeadOrders(productId, 500);
  });
});
