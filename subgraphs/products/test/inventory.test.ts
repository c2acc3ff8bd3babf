import { randomUUID } from 'node:crypto';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_SECRET } from '@bth/platform/env';
import { IDENTITY_HEADER, signAccessToken, signIdentityAssertion } from '@bth/platform/identity';
import { SOCKET, dropTestDatabases, errorCodes, graphql, serviceToken } from '@bth/testkit';
import { checkInvariant } from '../src/scripts/check-invariant.js';
import { ADMIN, USER, asAdmin, asUser, createProduct, inventory, startProducts, stockOf, type Products } from '@bth/fixtures/products';

let products: Products;

beforeAll(async () => {
  products = await startProducts({ name: 'inventory' });
});
afterAll(async () => {
  await products?.close();
  await dropTestDatabases();
});

type Line = { productId: string; quantity: number };
const reserve = (orderId: string, lines: Line[], target: Products = products) =>
  inventory(target, 'reserve', { orderId, userId: USER.userId, lines });
const release = (orderId: string) => inventory(products, 'release', { orderId });
const restock = (orderId: string) => inventory(products, 'restock', { orderId });

const REPORT = `query($ids: [ID!]) {
  inventoryReport(productIds: $ids) {
    soldUnits totalStock totalDifference consistent
    products { productId stock initialStock adjusted reserved released restocked sold ledgerStock difference }
  }
}`;
async function report(ids: string[]) {
  const response = await graphql(products.url, REPORT, { ids }, await asAdmin());
  expect(response.errors).toBeUndefined();
  return response.data!.inventoryReport;
}

async function ledgerRows(orderId: string): Promise<Array<{ product_id: string; kind: string; quantity_delta: number }>> {
  const [rows] = await products.database.pool.execute(
    'SELECT product_id, kind, quantity_delta FROM stock_ledger WHERE order_id = ? ORDER BY id',
    [orderId],
  );
  return rows as Array<{ product_id: string; kind: string; quantity_delta: number }>;
}

function tally(replies: Array<{ body: Record<string, any> }>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of replies) counts[r.body.outcome] = (counts[r.body.outcome] ?? 0) + 1;
  return counts;
}

describe('inventory: reservations under concurrency', () => {
  it('When 200 buyers reserve one unit each of a product with stock 50 at once, then exactly 50 get it and the invariant holds', async () => {
    const id = await createProduct(products, { stock: 50, price: 9_900 });
    const replies = await Promise.all(Array.from({ length: 200 }, () => reserve(randomUUID(), [{ productId: id, quantity: 1 }])));
    expect(replies.map((r) => r.status).filter((s) => s !== 200)).toEqual([]);
    expect(tally(replies)).toEqual({ RESERVED: 50, INSUFFICIENT_STOCK: 150 });
    const reserved = replies.find((r) => r.body.outcome === 'RESERVED')!.body;
    expect(reserved.lines).toEqual([{ productId: id, quantity: 1, unitPrice: 9_900, regularPrice: 9_900, saleEventId: null }]);
    const refused = replies.find((r) => r.body.outcome === 'INSUFFICIENT_STOCK')!.body;
    expect(refused).toEqual({ outcome: 'INSUFFICIENT_STOCK', productId: id, requested: 1, available: 0 });
    expect(await stockOf(products, id)).toBe(0);
    const numbers = await report([id]);
    expect(numbers).toMatchObject({ soldUnits: 50, totalStock: 0, totalDifference: 0, consistent: true });
    expect(numbers.products[0]).toMatchObject({ initialStock: 50, reserved: 50, sold: 50, ledgerStock: 0, difference: 0 });
  });

  it('When many pairs of orders lock the same two products in opposite orders, then all finish without a deadlock', async () => {
    const a = await createProduct(products, { stock: 1_000 });
    const b = await createProduct(products, { stock: 1_000 });
    const deadlocksBefore = await products.metric('inventory_lock_conflicts_total', { kind: 'deadlock' });
    const pairs = 40;
    const replies = await Promise.all(
      Array.from({ length: pairs }, () => [
        reserve(randomUUID(), [
          { productId: a, quantity: 1 },
          { productId: b, quantity: 2 },
        ]),
        reserve(randomUUID(), [
          { productId: b, quantity: 2 },
          { productId: a, quantity: 1 },
        ]),
      ]).flat(),
    );
    expect(tally(replies)).toEqual({ RESERVED: pairs * 2 });
    expect(await stockOf(products, a)).toBe(1_000 - pairs * 2);
    expect(await stockOf(products, b)).toBe(1_000 - pairs * 4);
    expect(await products.metric('inventory_lock_conflicts_total', { kind: 'deadlock' })).toBe(deadlocksBefore);
    expect((await report([a, b])).consistent).toBe(true);
  });

  it('When the same order is reserved 10 times at once, then stock drops once and every answer is the first result', async () => {
    const id = await createProduct(products, { stock: 5 });
    const orderId = randomUUID();
    const replies = await Promise.all(Array.from({ length: 10 }, () => reserve(orderId, [{ productId: id, quantity: 2 }])));
    expect(replies.map((r) => r.status)).toEqual(Array(10).fill(200));
    for (const reply of replies) expect(reply.body).toEqual(replies[0]!.body);
    expect(replies[0]!.body.outcome).toBe('RESERVED');
    expect(await stockOf(products, id)).toBe(3);
    expect(await ledgerRows(orderId)).toEqual([{ product_id: id, kind: 'RESERVATION', quantity_delta: -2 }]);
  });

  it('When the same rejected order arrives 10 times at once, then each answer is the rejection or a retryable 503, never a 500', async () => {
    const id = await createProduct(products, { stock: 1 });
    const orderId = randomUUID();
    const replies = await Promise.all(Array.from({ length: 10 }, () => reserve(orderId, [{ productId: id, quantity: 2 }])));
    for (const reply of replies) {
      if (reply.status === 503) expect(reply.body.error).toMatchObject({ code: 'LOCK_TIMEOUT', retryable: true });
      else expect(reply).toEqual({ status: 200, body: { outcome: 'INSUFFICIENT_STOCK', productId: id, requested: 2, available: 1 } });
    }
    expect(await stockOf(products, id)).toBe(1);
    expect(await ledgerRows(orderId)).toEqual([]);
  });

  it('When an order is rejected, then nothing changes and the rejection is not remembered', async () => {
    const plenty = await createProduct(products, { stock: 10 });
    const scarce = await createProduct(products, { stock: 1 });
    const orderId = randomUUID();
    const rejected = await reserve(orderId, [
      { productId: plenty, quantity: 3 },
      { productId: scarce, quantity: 2 },
    ]);
    expect(rejected.body).toEqual({ outcome: 'INSUFFICIENT_STOCK', productId: scarce, requested: 2, available: 1 });
    expect(await stockOf(products, plenty)).toBe(10);
    expect(await ledgerRows(orderId)).toEqual([]);
    const unknown = randomUUID();
    expect((await reserve(orderId, [{ productId: unknown, quantity: 1 }])).body).toEqual({
      outcome: 'PRODUCT_NOT_FOUND',
      productId: unknown,
    });
    const accepted = await reserve(orderId, [{ productId: plenty, quantity: 3 }]);
    expect(accepted.body.outcome).toBe('RESERVED');
    expect(await stockOf(products, plenty)).toBe(7);
  });

  it('When a product is deleted, then it cannot be reserved', async () => {
    const id = await createProduct(products, { stock: 10 });
    const deleted = await graphql(products.url, `mutation($id: ID!) { deleteProduct(id: $id) }`, { id }, await asAdmin());
    expect(deleted.data).toEqual({ deleteProduct: true });
    expect((await reserve(randomUUID(), [{ productId: id, quantity: 1 }])).body).toEqual({ outcome: 'PRODUCT_NOT_FOUND', productId: id });
    expect(await stockOf(products, id)).toBe(10);
  });
});

describe('inventory: release and restock', () => {
  it('When an order is released twice (also concurrently), then its units come back once', async () => {
    const id = await createProduct(products, { stock: 10 });
    const orderId = randomUUID();
    const reserved = await reserve(orderId, [{ productId: id, quantity: 4 }]);
    expect(await stockOf(products, id)).toBe(6);
    const releases = await Promise.all(Array.from({ length: 5 }, () => release(orderId)));
    for (const reply of releases) expect(reply).toEqual({ status: 200, body: { outcome: 'RELEASED', lines: reserved.body.lines } });
    expect((await release(orderId)).body.outcome).toBe('RELEASED');
    expect(await stockOf(products, id)).toBe(10);
    expect((await ledgerRows(orderId)).map((r) => r.kind)).toEqual(['RESERVATION', 'RELEASE']);
    // A late retry of the original reserve must not take the stock again.
    expect((await reserve(orderId, [{ productId: id, quantity: 4 }])).body).toEqual({ outcome: 'RELEASED', lines: reserved.body.lines });
    expect(await stockOf(products, id)).toBe(10);
  });

  it('When release arrives before reserve, then a tombstone makes the late reserve answer RELEASED and take nothing', async () => {
    const id = await createProduct(products, { stock: 10 });
    const orderId = randomUUID();
    expect(await release(orderId)).toEqual({ status: 200, body: { outcome: 'RELEASED', lines: [] } });
    expect(await reserve(orderId, [{ productId: id, quantity: 1 }])).toEqual({ status: 200, body: { outcome: 'RELEASED', lines: [] } });
    expect(await stockOf(products, id)).toBe(10);
    expect(await ledgerRows(orderId)).toEqual([]);
  });

  it('When returned goods are restocked twice, then they come back once; release and restock of the wrong orders are refused', async () => {
    const id = await createProduct(products, { stock: 10 });
    const orderId = randomUUID();
    const reserved = await reserve(orderId, [{ productId: id, quantity: 3 }]);
    const first = await restock(orderId);
    expect(first).toEqual({ status: 200, body: { outcome: 'RESTOCKED', lines: reserved.body.lines } });
    expect(await restock(orderId)).toEqual(first);
    expect(await stockOf(products, id)).toBe(10);
    expect(await release(orderId)).toEqual({ status: 200, body: { outcome: 'RESTOCKED' } });
    expect((await reserve(orderId, [{ productId: id, quantity: 3 }])).body.outcome).toBe('RESTOCKED');
    expect(await stockOf(products, id)).toBe(10);
    expect((await ledgerRows(orderId)).map((r) => r.kind)).toEqual(['RESERVATION', 'RESTOCK']);

    const released = randomUUID();
    await reserve(released, [{ productId: id, quantity: 1 }]);
    await release(released);
    expect((await restock(released)).status).toBe(409);
    expect((await restock(randomUUID())).body.error.code).toBe('CONFLICT');
    expect(await stockOf(products, id)).toBe(10);
    const numbers = await report([id]);
    expect(numbers.products[0]).toMatchObject({ reserved: 4, released: 1, restocked: 3, sold: 0, difference: 0 });
  });
});

describe('inventory: the API boundary', () => {
  it('When the service token is missing or not an inventory service token, then 401 and nothing changes', async () => {
    const id = await createProduct(products, { stock: 10 });
    const body = { orderId: randomUUID(), userId: USER.userId, lines: [{ productId: id, quantity: 1 }] };
    const assertion = await signIdentityAssertion(DEV_SECRET, ADMIN);
    const accessToken = await signAccessToken(DEV_SECRET, ADMIN, 300);
    const attempts: Array<Record<string, string>> = [
      {},
      { authorization: 'Bearer not-a-token' },
      { authorization: `Bearer ${assertion}` },
      { [IDENTITY_HEADER]: assertion },
      { authorization: `Bearer ${accessToken}` },
      { authorization: `Bearer ${await serviceToken('orders', 'orders')}` },
      { authorization: await serviceToken('orders', 'inventory') },
    ];
    for (const headers of attempts) {
      for (const operation of ['reserve', 'release', 'restock'] as const) {
        const reply = await inventory(products, operation, body, headers);
        expect(reply).toEqual({ status: 401, body: { error: { code: 'UNAUTHENTICATED', message: expect.any(String) } } });
      }
    }
    expect(await stockOf(products, id)).toBe(10);
  });

  it('When the body is malformed, then 400 BAD_USER_INPUT names the fields and nothing changes', async () => {
    const id = await createProduct(products, { stock: 10 });
    const line = { productId: id, quantity: 1 };
    const valid = { orderId: randomUUID(), userId: USER.userId, lines: [line] };
    const cases: Array<[unknown, string]> = [
      [{ ...valid, lines: [] }, 'lines'],
      [{ ...valid, lines: Array.from({ length: 51 }, () => ({ productId: randomUUID(), quantity: 1 })) }, 'lines'],
      [{ ...valid, lines: [{ productId: id, quantity: 0 }] }, 'lines.0.quantity'],
      [{ ...valid, lines: [{ productId: id, quantity: 101 }] }, 'lines.0.quantity'],
      [{ ...valid, lines: [{ productId: id, quantity: 1.5 }] }, 'lines.0.quantity'],
      [{ ...valid, lines: [line, { productId: id.toUpperCase(), quantity: 2 }] }, 'lines'],
      [{ ...valid, orderId: 'order-1' }, 'orderId'],
      [{ orderId: valid.orderId, lines: [line] }, 'userId'],
      [{ ...valid, lines: [{ productId: 'x', quantity: 1 }] }, 'lines.0.productId'],
    ];
    for (const [body, field] of cases) {
      const reply = await inventory(products, 'reserve', body);
      expect(reply.status).toBe(400);
      expect(reply.body.error.code).toBe('BAD_USER_INPUT');
      expect(reply.body.error.fieldErrors.map((f: { field: string }) => f.field)).toContain(field);
    }
    expect((await inventory(products, 'release', { orderId: 42 })).status).toBe(400);
    const notJson = await fetch(`${products.base}/internal/inventory/reserve`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await serviceToken('orders', 'inventory')}` },
      body: '{"orderId":',
    });
    expect(notJson.status).toBe(400);
    expect(await stockOf(products, id)).toBe(10);
  });

  it('When a row lock cannot be had within the bound, then 503 LOCK_TIMEOUT (retryable) and a retry later succeeds', async () => {
    const id = await createProduct(products, { stock: 10 });
    const impatient = await startProducts({ name: 'inventory', keyPrefix: products.keyPrefix, lockWaitTimeoutSeconds: 1, poolSize: 2 });
    const holder = await mysql.createConnection({ socketPath: SOCKET, user: 'root', database: products.databaseName });
    try {
      await holder.query('START TRANSACTION');
      await holder.query('SELECT id FROM products WHERE id = ? FOR UPDATE', [id]);
      const orderId = randomUUID();
      const blocked = await reserve(orderId, [{ productId: id, quantity: 1 }], impatient);
      expect(blocked).toEqual({ status: 503, body: { error: { code: 'LOCK_TIMEOUT', message: expect.any(String), retryable: true } } });
      await holder.query('ROLLBACK');
      expect((await reserve(orderId, [{ productId: id, quantity: 1 }], impatient)).body.outcome).toBe('RESERVED');
      expect(await stockOf(products, id)).toBe(9);
    } finally {
      await holder.end();
      await impatient.stop();
    }
  });
});

describe('inventory: replicas and the invariant', () => {
  it('When two replicas share one database, then concurrent reservations through both never oversell and both see fresh stock', async () => {
    const replica = await startProducts({ name: 'inventory', keyPrefix: products.keyPrefix });
    try {
      const id = await createProduct(products, { stock: 30 });
      const PRODUCT = `query($id: ID!) { product(id: $id) { stock } }`;
      expect((await graphql(replica.url, PRODUCT, { id })).data).toEqual({ product: { stock: 30 } });
      const replies = await Promise.all(
        Array.from({ length: 100 }, (_, i) => reserve(randomUUID(), [{ productId: id, quantity: 1 }], i % 2 ? replica : products)),
      );
      expect(tally(replies)).toEqual({ RESERVED: 30, INSUFFICIENT_STOCK: 70 });
      // The replica cached stock 30 above; writes through the other instance invalidated it.
      expect((await graphql(replica.url, PRODUCT, { id })).data).toEqual({ product: { stock: 0 } });
      expect((await report([id])).consistent).toBe(true);
    } finally {
      await replica.stop();
    }
  });

  it('When stock and ledger disagree, then the report and the invariant script both say so', async () => {
    const id = await createProduct(products, { stock: 10 });
    await reserve(randomUUID(), [{ productId: id, quantity: 2 }]);
    expect((await checkInvariant(products.database)).report.consistent).toBe(true);
    await products.database.pool.execute('UPDATE products SET stock = stock + 1 WHERE id = ?', [id]);
    try {
      const broken = await report([id]);
      expect(broken).toMatchObject({ consistent: false, totalDifference: 1 });
      expect(broken.products[0]).toMatchObject({ stock: 9, ledgerStock: 8, difference: 1 });
      const script = await checkInvariant(products.database);
      expect(script.report.consistent).toBe(false);
      expect(script.lines.join('\n')).toContain(id);
    } finally {
      await products.database.pool.execute('UPDATE products SET stock = stock - 1 WHERE id = ?', [id]);
    }
    expect((await checkInvariant(products.database)).report.consistent).toBe(true);
  });

  it('When a member or an anonymous caller asks for the inventory report, then FORBIDDEN or UNAUTHENTICATED', async () => {
    expect(errorCodes(await graphql(products.url, REPORT, {}, await asUser()))).toEqual(['FORBIDDEN']);
    expect(errorCodes(await graphql(products.url, REPORT, {}))).toEqual(['UNAUTHENTICATED']);
  });
});
