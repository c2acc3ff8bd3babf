import { randomUUID } from 'node:crypto';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAmqp, type AmqpClient } from '@bth/platform/amqp';
import { SOCKET, dropTestDatabases, graphql, silentLogger, waitFor } from '@bth/testkit';
import { asAdmin, createProduct, inventory, startProducts, stockOf, type InventoryReply, type Products } from '@bth/fixtures/products';

/**
 * One hot product: concurrent reservations of it share one locked transaction (group commit), a
 * full queue answers OVERLOADED at once, and once it is sold out refusals take no row lock — yet
 * never while a unit remains, also across replicas.
 */
let products: Products;
let events: AmqpClient;

beforeAll(async () => {
  products = await startProducts({ name: 'hot' });
  events = createAmqp({ url: 'amqp://guest:guest@127.0.0.1:5672', exchange: products.exchange, logger: silentLogger });
  await events.waitForConnection(5_000);
});
afterAll(async () => {
  await events?.close();
  await products?.close();
  await dropTestDatabases();
});

type Line = { productId: string; quantity: number; saleEventId?: string };
const reserve = (target: Products, orderId: string, lines: Line[], userId = randomUUID()) =>
  inventory(target, 'reserve', { orderId, userId, lines });

const hot = (target: Products, kind: string) => target.metric('inventory_hot_path_total', { kind });

/** Holds the product row FOR UPDATE in a transaction of its own, as a long transaction would. */
async function holdRow(productId: string) {
  const holder = await mysql.createConnection({ socketPath: SOCKET, user: 'root', database: products.databaseName });
  await holder.query('START TRANSACTION');
  await holder.query('SELECT id FROM products WHERE id = ? FOR UPDATE', [productId]);
  return {
    release: async () => {
      await holder.query('ROLLBACK');
      await holder.end();
    },
  };
}

/**
 * Sends the requests one at a time, each only once the replica has queued the one before, so
 * their arrival order is the order given (the queue serves them in arrival order).
 */
async function queueInOrder(target: Products, sends: Array<() => Promise<InventoryReply>>): Promise<Array<Promise<InventoryReply>>> {
  const replies: Array<Promise<InventoryReply>> = [];
  for (const send of sends) {
    const before = await hot(target, 'queued');
    replies.push(send());
    await waitFor(async () => (await hot(target, 'queued')) > before);
  }
  return replies;
}

const REPORT = `query($ids: [ID!]) { inventoryReport(productIds: $ids) { consistent products { stock reserved released ledgerStock } sales { sold heldByOrders maxPerMember consistent } } }`;
async function report(ids: string[]) {
  const response = await graphql(products.url, REPORT, { ids }, await asAdmin());
  expect(response.errors).toBeUndefined();
  return response.data!.inventoryReport;
}

async function ledgerOf(orderId: string): Promise<number[]> {
  const [rows] = await products.database.pool.execute('SELECT quantity_delta FROM stock_ledger WHERE order_id = ? ORDER BY id', [orderId]);
  return (rows as Array<{ quantity_delta: number }>).map((r) => r.quantity_delta);
}

async function startSale(productId: string, quantity: number, perUserLimit: number): Promise<string> {
  const eventId = randomUUID();
  const payload = {
    v: 1,
    eventId,
    productId,
    salePrice: 4_900,
    quantity,
    perUserLimit,
    startsAt: new Date(Date.now() - 1_000).toISOString(),
    endsAt: new Date(Date.now() + 3_600_000).toISOString(),
    status: 'LIVE',
    revision: 1,
  };
  await events.publish('sale.started', payload, { messageId: randomUUID() });
  await waitFor(async () => {
    const [rows] = (await products.database.pool.query('SELECT status FROM sales WHERE event_id = ?', [eventId])) as unknown as [
      { status: string }[],
    ];
    return rows[0]?.status === 'LIVE';
  });
  return eventId;
}

describe('hot product: group commit', () => {
  it('When orders of one product queue behind its lock, then one transaction serves them in arrival order and an order that fails alone fails alone', async () => {
    const id = await createProduct(products, { stock: 7, price: 9_900 });
    const earlier = randomUUID();
    expect((await reserve(products, earlier, [{ productId: id, quantity: 1 }])).body.outcome).toBe('RESERVED');
    const tombstoned = randomUUID();
    expect((await inventory(products, 'release', { orderId: tombstoned })).body).toEqual({ outcome: 'RELEASED', lines: [] });

    const holder = await holdRow(id);
    const batchesBefore = await hot(products, 'batches');
    const [a, tooMany, c] = [randomUUID(), randomUUID(), randomUUID()];
    const sends: Array<() => Promise<InventoryReply>> = [
      // Leads: takes its own transaction and waits on the held row; the rest queue behind it.
      () => reserve(products, randomUUID(), [{ productId: id, quantity: 1 }]),
      () => reserve(products, a, [{ productId: id, quantity: 2 }]),
      () => reserve(products, tooMany, [{ productId: id, quantity: 10 }]),
      () => reserve(products, earlier, [{ productId: id, quantity: 1 }]),
      () => reserve(products, tombstoned, [{ productId: id, quantity: 1 }]),
      () => reserve(products, a, [{ productId: id, quantity: 2 }]),
      () => reserve(products, c, [{ productId: id, quantity: 3 }]),
      () => reserve(products, randomUUID(), [{ productId: id, quantity: 1 }]),
    ];
    const pending = await queueInOrder(products, sends);
    await holder.release();
    const replies = await Promise.all(pending);

    expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200, 200, 200]);
    const line = (quantity: number) => ({ productId: id, quantity, unitPrice: 9_900, regularPrice: 9_900, saleEventId: null });
    expect(replies.map((r) => r.body)).toEqual([
      { outcome: 'RESERVED', lines: [line(1)] },
      { outcome: 'RESERVED', lines: [line(2)] },
      { outcome: 'INSUFFICIENT_STOCK', productId: id, requested: 10, available: 3 },
      { outcome: 'RESERVED', lines: [line(1)] },
      { outcome: 'RELEASED', lines: [] },
      { outcome: 'RESERVED', lines: [line(2)] },
      { outcome: 'RESERVED', lines: [line(3)] },
      { outcome: 'INSUFFICIENT_STOCK', productId: id, requested: 1, available: 0 },
    ]);
    // The seven that queued behind the leader went through one group-commit transaction.
    expect((await hot(products, 'batches')) - batchesBefore).toBe(1);
    expect(await stockOf(products, id)).toBe(0);
    expect(await ledgerOf(a)).toEqual([-2]);
    expect(await ledgerOf(c)).toEqual([-3]);
    expect(await ledgerOf(earlier)).toEqual([-1]);
    expect(await ledgerOf(tooMany)).toEqual([]);
    expect(await report([id])).toMatchObject({ consistent: true, products: [{ stock: 0, reserved: 7, ledgerStock: 0 }] });
  });

  it('When sale buyers queue together, then each member limit and the sale units are counted per order within the one transaction', async () => {
    const id = await createProduct(products, { stock: 10, price: 30_000 });
    const eventId = await startSale(id, 3, 1);
    const sale = (quantity = 1) => [{ productId: id, quantity, saleEventId: eventId }];
    const [u1, u2, u3, u4] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    const holder = await holdRow(id);
    const pending = await queueInOrder(products, [
      () => reserve(products, randomUUID(), [{ productId: id, quantity: 1 }]),
      () => reserve(products, randomUUID(), sale(), u1),
      () => reserve(products, randomUUID(), sale(), u1),
      () => reserve(products, randomUUID(), sale(2), u2),
      () => reserve(products, randomUUID(), sale(), u2),
      () => reserve(products, randomUUID(), sale(), u3),
      () => reserve(products, randomUUID(), sale(), u4),
      // Regular buyers take only what the sale has not set aside: with the sale sold out, all 6 left.
      () => reserve(products, randomUUID(), [{ productId: id, quantity: 6 }]),
    ]);
    await holder.release();
    const outcomes = (await Promise.all(pending)).map((r) => r.body.outcome);
    expect(outcomes).toEqual([
      'RESERVED',
      'RESERVED',
      'PURCHASE_LIMIT_EXCEEDED',
      'PURCHASE_LIMIT_EXCEEDED',
      'RESERVED',
      'RESERVED',
      'SALE_SOLD_OUT',
      'RESERVED',
    ]);
    expect(await stockOf(products, id)).toBe(0);
    expect(await report([id])).toMatchObject({
      consistent: true,
      sales: [{ sold: 3, heldByOrders: 3, maxPerMember: 1, consistent: true }],
    });
  });
});

describe('hot product: overload', () => {
  it('When the queue of one product is at its high-water mark, then further orders are refused at once with a retryable OVERLOADED and the queued ones still succeed', async () => {
    const replica = await startProducts({
      name: 'hot',
      keyPrefix: products.keyPrefix,
      messaging: false,
      hotProduct: { queueHighWater: 3 },
    });
    try {
      const id = await createProduct(products, { stock: 20 });
      const holder = await holdRow(id);
      let queued: Array<Promise<InventoryReply>>;
      let refused: InventoryReply[];
      try {
        // The leader waits on the row; three more fill the queue to its mark.
        queued = await queueInOrder(
          replica,
          Array.from({ length: 4 }, () => () => reserve(replica, randomUUID(), [{ productId: id, quantity: 1 }])),
        );
        // Answered while the row is still held: the refusal waits for no lock.
        refused = await Promise.all(Array.from({ length: 5 }, () => reserve(replica, randomUUID(), [{ productId: id, quantity: 1 }])));
      } finally {
        await holder.release();
      }
      for (const reply of refused) {
        expect(reply).toEqual({
          status: 503,
          body: { error: { code: 'OVERLOADED', message: expect.any(String), retryable: true, retryAfterSeconds: 1 } },
        });
      }
      expect((await Promise.all(queued)).map((r) => r.body.outcome)).toEqual(['RESERVED', 'RESERVED', 'RESERVED', 'RESERVED']);
      expect(await stockOf(products, id)).toBe(16);
      expect((await report([id])).consistent).toBe(true);
    } finally {
      await replica.stop();
    }
  });
});

describe('hot product: sold-out fast path', () => {
  it('When a product is sold out, then refusals take no row lock, and a release on another replica is never answered with a refusal while its unit remains', async () => {
    const replica = await startProducts({ name: 'hot', keyPrefix: products.keyPrefix, messaging: false });
    try {
      const id = await createProduct(products, { stock: 20 });
      const held = await Promise.all(
        Array.from({ length: 20 }, () => randomUUID()).map(async (orderId) => ({
          orderId,
          reply: await reserve(products, orderId, [{ productId: id, quantity: 1 }]),
        })),
      );
      expect(held.every((h) => h.reply.body.outcome === 'RESERVED')).toBe(true);
      // The replica learns it is sold out the ordinary way, under the lock.
      expect((await reserve(replica, randomUUID(), [{ productId: id, quantity: 1 }])).body.outcome).toBe('INSUFFICIENT_STOCK');

      const fastBefore = await hot(replica, 'fast');
      const holder = await holdRow(id);
      try {
        for (const target of [products, replica]) {
          expect((await reserve(target, randomUUID(), [{ productId: id, quantity: 1 }])).body).toEqual({
            outcome: 'INSUFFICIENT_STOCK',
            productId: id,
            requested: 1,
            available: 0,
          });
        }
      } finally {
        await holder.release();
      }

      // Race: units come back through `products` while the replica, which believes the product
      // sold out, takes orders. Each released unit must be sold again, never refused while there.
      for (const { orderId } of held) {
        const [, racing] = await Promise.all([
          inventory(products, 'release', { orderId }),
          reserve(replica, randomUUID(), [{ productId: id, quantity: 1 }]),
        ]);
        if (racing.body.outcome !== 'RESERVED') {
          expect(racing.body.outcome).toBe('INSUFFICIENT_STOCK');
          // The release has committed: the unit is there, so the replica must sell it now.
          expect((await reserve(replica, randomUUID(), [{ productId: id, quantity: 1 }])).body.outcome).toBe('RESERVED');
        }
        expect(await stockOf(products, id)).toBe(0);
      }
      expect(await hot(replica, 'fast')).toBeGreaterThan(fastBefore);
      expect((await report([id])).consistent).toBe(true);
    } finally {
      await replica.stop();
    }
  });
});
