import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Member, type Stack } from '../support/stack.js';

/**
 * Many buyers at the same second, through the router and both products replicas: real HTTP
 * requests fired together, real row locks in MariaDB. The 300 members are signed up once for the
 * file (scrypt makes that the slow part).
 */
const BUYERS = 300;
const STOCK = 100;

let stack: Stack;
let admin: Member;
let buyers: Member[];
beforeAll(async () => {
  stack = await startStack({ only: ['users', 'products', 'orders'], productsReplicas: 2 });
  admin = await stack.signUpAdmin();
  buyers = await stack.signUpMany(BUYERS);
}, 300_000);
afterAll(async () => {
  await stack?.stop();
});

type Outcome = { __typename: string; id?: string; status?: string; productId?: string; requested?: number; available?: number };

describe('flash sale through the router', () => {
  it('When 300 members order 1 unit each of a product with stock 100 at once, then exactly 100 get it, the rest are told InsufficientStock and nothing is oversold', async () => {
    expect(new Set(buyers.map((b) => b.userId)).size).toBe(BUYERS);
    const product = await stack.createProduct(admin, { stock: STOCK, price: 19_900 });

    // Buyers behave as the API asks: one shed by admission control (InventoryUnavailable with
    // retryAfterSeconds) comes back with the same key, so what counts is each buyer's final answer.
    const responses = await Promise.all(buyers.map((buyer) => stack.buy(buyer, [{ productId: product, quantity: 1 }])));

    // Every buyer got an answer, none of them an error.
    expect(responses.flatMap((r) => r.errors ?? [])).toEqual([]);
    const outcomes = responses.map((r) => r.data!.placeOrder as Outcome);
    const won = outcomes.filter((o) => o.__typename === 'Order');
    const lost = outcomes.filter((o) => o.__typename !== 'Order');
    expect(won).toHaveLength(STOCK);
    expect(won.every((o) => o.status === 'AWAITING_PAYMENT')).toBe(true);
    expect(new Set(won.map((o) => o.id)).size).toBe(STOCK);
    // One unit each, so a buyer is only turned away once nothing at all is left.
    expect(lost).toHaveLength(BUYERS - STOCK);
    expect(new Set(lost.map((o) => JSON.stringify(o)))).toEqual(
      new Set([JSON.stringify({ __typename: 'InsufficientStock', productId: product, requested: 1, available: 0 })]),
    );

    expect(await stack.stockOf(product)).toBe(0);
    const report = await stack.inventoryReport(admin, [product]);
    expect(report).toMatchObject({ consistent: true, totalDifference: 0, soldUnits: STOCK, totalStock: 0 });
    expect(report.products[0]).toMatchObject({ initialStock: STOCK, reserved: STOCK, released: 0, sold: STOCK, stock: 0 });

    // The orders database holds exactly the winners, each for a different member…
    const awaiting = await stack.query<{ id: string; user_id: string }>(
      'orders',
      `SELECT o.id, o.user_id FROM orders o JOIN order_lines l ON l.order_id = o.id WHERE l.product_id = ? AND o.status = 'AWAITING_PAYMENT'`,
      [product],
    );
    expect(awaiting).toHaveLength(STOCK);
    expect(new Set(awaiting.map((o) => o.id))).toEqual(new Set(won.map((o) => o.id)));
    expect(new Set(awaiting.map((o) => o.user_id)).size).toBe(STOCK);
    const byStatus = await stack.query<{ status: string; n: number }>(
      'orders',
      'SELECT o.status, COUNT(*) AS n FROM orders o JOIN order_lines l ON l.order_id = o.id WHERE l.product_id = ? GROUP BY o.status ORDER BY o.status',
      [product],
    );
    // Refusals that reached inventory are stored REJECTED (a replay answers the same); once the
    // product is marked sold out, orders refuses before writing anything, so fewer rows than losers.
    const counts = Object.fromEntries(byStatus.map((r) => [r.status, Number(r.n)]));
    expect(Object.keys(counts).filter((status) => status !== 'AWAITING_PAYMENT' && status !== 'REJECTED')).toEqual([]);
    expect(counts.AWAITING_PAYMENT).toBe(STOCK);
    expect(counts.REJECTED ?? 0).toBeLessThanOrEqual(BUYERS - STOCK);
    // …and inventory holds a reservation for exactly those orders, one ledger row each.
    const reserved = await stack.query<{ order_id: string }>(
      'products',
      `SELECT r.order_id FROM reservations r JOIN reservation_lines l ON l.order_id = r.order_id WHERE l.product_id = ? AND r.status = 'RESERVED'`,
      [product],
    );
    expect(new Set(reserved.map((r) => r.order_id))).toEqual(new Set(won.map((o) => o.id)));
    const ledger = await stack.query<{ kind: string; n: number; units: number }>(
      'products',
      'SELECT kind, COUNT(*) AS n, SUM(quantity_delta) AS units FROM stock_ledger WHERE product_id = ? GROUP BY kind ORDER BY kind',
      [product],
    );
    expect(ledger.map((r) => [r.kind, Number(r.n), Number(r.units)])).toEqual([
      ['INITIAL', 1, STOCK],
      ['RESERVATION', STOCK, -STOCK],
    ]);
  });

  it('When one member sends the same idempotency key 20 times at once, then one order is placed and the stock drops once', async () => {
    const [buyer] = buyers;
    const product = await stack.createProduct(admin, { stock: 10, price: 4_900 });
    const idempotencyKey = randomUUID();

    const responses = await Promise.all(
      Array.from({ length: 20 }, () => stack.placeOrder(buyer!, [{ productId: product, quantity: 3 }], { idempotencyKey })),
    );

    expect(responses.flatMap((r) => r.errors ?? [])).toEqual([]);
    const outcomes = responses.map((r) => r.data!.placeOrder as Outcome);
    expect(outcomes.every((o) => o.__typename === 'Order' && o.status === 'AWAITING_PAYMENT')).toBe(true);
    const ids = new Set(outcomes.map((o) => o.id));
    expect(ids.size).toBe(1);
    const [orderId] = [...ids];

    const rows = await stack.query<{ id: string; status: string }>(
      'orders',
      'SELECT id, status FROM orders WHERE user_id = ? AND idempotency_key = ?',
      [buyer!.userId, idempotencyKey],
    );
    expect(rows).toEqual([{ id: orderId, status: 'AWAITING_PAYMENT' }]);
    const ledger = await stack.query<{ order_id: string; quantity_delta: number }>(
      'products',
      `SELECT order_id, quantity_delta FROM stock_ledger WHERE product_id = ? AND kind = 'RESERVATION'`,
      [product],
    );
    expect(ledger).toEqual([{ order_id: orderId, quantity_delta: -3 }]);
    expect(await stack.stockOf(product)).toBe(7);
    expect(await stack.inventoryReport(admin, [product])).toMatchObject({ consistent: true, soldUnits: 3 });

    // A later replay still answers the same order and changes nothing.
    const replay = await stack.placeOrder(buyer!, [{ productId: product, quantity: 3 }], { idempotencyKey });
    expect(replay.data!.placeOrder).toMatchObject({ __typename: 'Order', id: orderId });
    expect(await stack.stockOf(product)).toBe(7);
  });
});
