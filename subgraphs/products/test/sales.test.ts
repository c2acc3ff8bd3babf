import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type ChannelModel } from 'amqplib';
import { createAmqp, deadLetterQueueName, type AmqpClient, type AmqpMessage } from '@bth/platform/amqp';
import { dropTestDatabases, graphql, silentLogger, waitFor } from '@bth/testkit';
import { asAdmin, createProduct, inventory, startProducts, stockOf, type Products } from '@bth/fixtures/products';

/**
 * Sales as inventory sees them: the `sale.scheduled` / `sale.updated` / `sale.started` /
 * `sale.ended` messages (published here the
 * way the events subgraph publishes them, on the real broker), sale pricing, the per-member limit
 * and the sale counters — all in the locked reservation transaction.
 */
let products: Products;
let events: AmqpClient;
let admin: ChannelModel;
const soldOut: AmqpMessage[] = [];

beforeAll(async () => {
  products = await startProducts({ name: 'sales' });
  events = createAmqp({ url: 'amqp://guest:guest@127.0.0.1:5672', exchange: products.exchange, logger: silentLogger });
  await events.waitForConnection(5_000);
  // Stands where the events subgraph's consumer stands, to see what products announces.
  await events.consume({ queue: 'probe.sold-out', bindings: ['sale.sold_out'], handler: async (m) => void soldOut.push(m) });
  admin = await connect('amqp://guest:guest@127.0.0.1:5672');
});
afterAll(async () => {
  await events?.close();
  await products?.close();
  const channel = await admin.createChannel();
  await channel.deleteQueue(`${products.exchange}.probe.sold-out`);
  await channel.deleteQueue(deadLetterQueueName(products.exchange, 'probe.sold-out'));
  await admin.close();
  await dropTestDatabases();
});

interface SaleSpec {
  eventId: string;
  productId: string;
  salePrice?: number;
  quantity?: number;
  perUserLimit?: number;
  startsAt?: Date;
  endsAt?: Date;
}

function saleMessage(spec: SaleSpec & { revision?: number }, status: 'SCHEDULED' | 'LIVE' | 'ENDED' | 'CANCELLED') {
  return {
    v: 1,
    eventId: spec.eventId,
    productId: spec.productId,
    salePrice: spec.salePrice ?? 4_900,
    quantity: spec.quantity ?? 10,
    perUserLimit: spec.perUserLimit ?? 2,
    startsAt: (spec.startsAt ?? new Date(Date.now() - 1_000)).toISOString(),
    endsAt: (spec.endsAt ?? new Date(Date.now() + 3_600_000)).toISOString(),
    status,
    revision: spec.revision ?? 1,
  };
}

const publish = (routingKey: string, payload: unknown, messageId = randomUUID()) =>
  events.publish(routingKey, payload, { messageId }).then(() => messageId);

async function saleStatus(eventId: string): Promise<string | undefined> {
  const [rows] = (await products.database.pool.query('SELECT status FROM sales WHERE event_id = ?', [eventId])) as unknown as [
    { status: string }[],
  ];
  return rows[0]?.status;
}

const PRODUCT = `query($id: ID!) { product(id: $id) { id price salePrice saleEndsAt } }`;
const productView = async (id: string) =>
  (await graphql(products.url, PRODUCT, { id })).data!.product as { salePrice: number | null; saleEndsAt: string | null };

/** Starts a sale and waits until inventory applied it. */
async function startSale(spec: SaleSpec) {
  await publish('sale.started', saleMessage(spec, 'LIVE'));
  await waitFor(async () => (await saleStatus(spec.eventId)) === 'LIVE');
}

const reserve = (userId: string, lines: Array<{ productId: string; quantity: number; saleEventId?: string }>, orderId = randomUUID()) =>
  inventory(products, 'reserve', { orderId, userId, lines }).then((reply) => ({ ...reply, orderId }));

/**
 * A reserve as orders and a buyer's app make it: a coded "nothing was done, retry shortly" — the
 * product's queue is full (OVERLOADED) or a lock wait ran out (LOCK_TIMEOUT) — is sent again with
 * the same order id after the wait it names. 700 reservations at once overflow the 256-deep queue
 * whenever the machine drains it slower than they arrive; any other answer is returned as is.
 */
async function reservePatiently(userId: string, lines: Array<{ productId: string; quantity: number; saleEventId?: string }>) {
  const orderId = randomUUID();
  for (let attempt = 1; ; attempt++) {
    const reply = await reserve(userId, lines, orderId);
    const error = reply.status === 503 ? (reply.body as { error?: { code?: string; retryAfterSeconds?: number } }).error : undefined;
    if (!error || !['OVERLOADED', 'LOCK_TIMEOUT'].includes(error.code ?? '') || attempt === 10) return reply;
    await new Promise((resolve) => setTimeout(resolve, 1_000 * (error.retryAfterSeconds ?? 1)));
  }
}

const REPORT = `query($ids: [ID!]) { inventoryReport(productIds: $ids) { consistent soldUnits sales { eventId quantity sold heldByOrders maxPerMember consistent } } }`;
async function report(ids: string[]) {
  const response = await graphql(products.url, REPORT, { ids }, await asAdmin());
  expect(response.errors).toBeUndefined();
  return response.data!.inventoryReport;
}

describe('sale messages', () => {
  it('When sale.started arrives, then the product shows the sale price at once, cache and onSale listing included; sale.ended takes it away', async () => {
    const productId = await createProduct(products, { price: 12_900, stock: 20 });
    const eventId = randomUUID();
    // Warm the cache first: the message must invalidate it.
    expect((await productView(productId)).salePrice).toBeNull();
    const endsAt = new Date(Date.now() + 3_600_000);
    await startSale({ eventId, productId, salePrice: 7_900, endsAt });
    await waitFor(async () => (await productView(productId)).salePrice === 7_900);
    expect((await productView(productId)).saleEndsAt).toBe(endsAt.toISOString());
    const onSale = await graphql(products.url, `{ products(first: 100, filter: { onSale: true }) { nodes { id } } }`);
    expect(onSale.data!.products.nodes.map((n: { id: string }) => n.id)).toContain(productId);

    await publish('sale.ended', saleMessage({ eventId, productId, salePrice: 7_900, endsAt }, 'ENDED'));
    await waitFor(async () => (await saleStatus(eventId)) === 'ENDED');
    expect(await productView(productId)).toMatchObject({ salePrice: null, saleEndsAt: null });
  });

  it('When the same message is delivered twice, then it is applied once', async () => {
    const productId = await createProduct(products, { stock: 20 });
    const eventId = randomUUID();
    const messageId = randomUUID();
    const payload = saleMessage({ eventId, productId }, 'LIVE');
    await publish('sale.started', payload, messageId);
    await publish('sale.started', payload, messageId);
    await waitFor(async () => (await saleStatus(eventId)) === 'LIVE');
    // A later marker on the same queue: by the time it is applied, both copies were handled.
    const marker = randomUUID();
    await publish('sale.ended', saleMessage({ eventId: marker, productId }, 'CANCELLED'));
    await waitFor(async () => (await saleStatus(marker)) === 'CANCELLED');
    const [rows] = (await products.database.pool.query('SELECT COUNT(*) AS n FROM inbox WHERE message_id = ?', [messageId])) as unknown as [
      { n: number }[],
    ];
    expect(Number(rows[0]!.n)).toBe(1);
  });

  it('When sale.ended overtakes sale.started, then the late start is ignored and the product never shows the sale', async () => {
    const productId = await createProduct(products, { stock: 20 });
    const eventId = randomUUID();
    await publish('sale.ended', saleMessage({ eventId, productId }, 'CANCELLED'));
    await waitFor(async () => (await saleStatus(eventId)) === 'CANCELLED');
    await publish('sale.started', saleMessage({ eventId, productId }, 'LIVE'));
    const marker = randomUUID();
    await publish('sale.ended', saleMessage({ eventId: marker, productId }, 'ENDED'));
    await waitFor(async () => (await saleStatus(marker)) === 'ENDED');
    expect(await saleStatus(eventId)).toBe('CANCELLED');
    expect((await productView(productId)).salePrice).toBeNull();
  });

  it('When a message does not match the contract, then it goes to the dead-letter queue and changes nothing', async () => {
    const messageId = await publish('sale.started', { v: 1, eventId: 'not-a-uuid', salePrice: -1 });
    const channel = await admin.createChannel();
    try {
      const dead = await waitFor(
        async () => channel.get(deadLetterQueueName(products.exchange, 'products.sales'), { noAck: true }),
        10_000,
      );
      expect(dead.properties.messageId).toBe(messageId);
    } finally {
      await channel.close();
    }
  });
});

const ON_SALE = `{ products(first: 100, filter: { onSale: true }) { nodes { id salePrice } } }`;
const onSaleIds = async () => ((await graphql(products.url, ON_SALE)).data!.products.nodes as Array<{ id: string }>).map((n) => n.id);

/** Announces a sale ahead of its start and waits until inventory knows its window. */
async function scheduleSale(spec: SaleSpec & { revision?: number }) {
  await publish('sale.scheduled', saleMessage(spec, 'SCHEDULED'));
  await waitFor(async () => (await saleStatus(spec.eventId)) === 'SCHEDULED');
}

/** What a buyer sees and can do at one instant: the price shown, the onSale listing, a sale order. */
async function observe(productId: string, eventId: string) {
  const [view, listed, order] = await Promise.all([
    productView(productId),
    onSaleIds(),
    reserve(randomUUID(), [{ productId, quantity: 1, saleEventId: eventId }]),
  ]);
  if (order.body.outcome === 'RESERVED') await inventory(products, 'release', { orderId: order.orderId });
  return { salePrice: view.salePrice, listed: listed.includes(productId), outcome: order.body.outcome as string };
}

describe('sales by the clock (no sale.started or sale.ended delivered)', () => {
  it('When a sale was only scheduled, then at startsAt the price, the cached onSale listing and reservations switch together, and at endsAt they switch back', async () => {
    const productId = await createProduct(products, { price: 12_900, stock: 20 });
    const eventId = randomUUID();
    const startsAt = new Date(Date.now() + 2_000);
    const endsAt = new Date(startsAt.getTime() + 2_000);
    await scheduleSale({ eventId, productId, salePrice: 7_900, startsAt, endsAt });
    // Before the start: nothing on sale — and the product and the onSale page are now cached.
    expect(await observe(productId, eventId)).toEqual({ salePrice: null, listed: false, outcome: 'SALE_NOT_LIVE' });

    await waitFor(async () => Date.now() >= startsAt.getTime(), 5_000);
    // No message since the schedule: the clock alone opens it, cache or not.
    expect(await observe(productId, eventId)).toEqual({ salePrice: 7_900, listed: true, outcome: 'RESERVED' });
    expect((await productView(productId)).saleEndsAt).toBe(endsAt.toISOString());
    expect(await saleStatus(eventId)).toBe('SCHEDULED');

    await waitFor(async () => Date.now() >= endsAt.getTime(), 5_000);
    expect(await observe(productId, eventId)).toEqual({ salePrice: null, listed: false, outcome: 'SALE_NOT_LIVE' });
    expect((await reserve(randomUUID(), [{ productId, quantity: 20 }])).body.outcome).toBe('RESERVED');
  });

  it('When the terms of a scheduled sale change, then the newer ones hold, an older update arriving late is ignored, and a cancelled sale never opens', async () => {
    const productId = await createProduct(products, { price: 12_900, stock: 20 });
    const eventId = randomUUID();
    const startsAt = new Date(Date.now() - 1_000);
    await scheduleSale({ eventId, productId, salePrice: 7_900, startsAt, revision: 1 });
    expect((await productView(productId)).salePrice).toBe(7_900);
    await publish('sale.updated', saleMessage({ eventId, productId, salePrice: 6_900, startsAt, revision: 3 }, 'SCHEDULED'));
    await waitFor(async () => (await productView(productId)).salePrice === 6_900);
    await publish('sale.updated', saleMessage({ eventId, productId, salePrice: 5_900, startsAt, revision: 2 }, 'SCHEDULED'));
    await publish('sale.ended', saleMessage({ eventId, productId, salePrice: 6_900, startsAt, revision: 4 }, 'CANCELLED'));
    await waitFor(async () => (await saleStatus(eventId)) === 'CANCELLED');
    expect(await observe(productId, eventId)).toEqual({ salePrice: null, listed: false, outcome: 'SALE_NOT_LIVE' });
    // Late copies of earlier news cannot bring it back.
    await publish('sale.scheduled', saleMessage({ eventId, productId, startsAt, revision: 9 }, 'SCHEDULED'));
    await publish('sale.started', saleMessage({ eventId, productId, startsAt, revision: 9 }, 'LIVE'));
    const marker = randomUUID();
    await publish('sale.ended', saleMessage({ eventId: marker, productId }, 'ENDED'));
    await waitFor(async () => (await saleStatus(marker)) === 'ENDED');
    expect(await saleStatus(eventId)).toBe('CANCELLED');
    expect(await observe(productId, eventId)).toEqual({ salePrice: null, listed: false, outcome: 'SALE_NOT_LIVE' });
  });
});

describe('buying in a sale', () => {
  it('When a line names the live sale, then it is charged the sale price; a sale that is not live is refused and nothing is taken', async () => {
    const productId = await createProduct(products, { price: 12_900, stock: 20 });
    const eventId = randomUUID();
    const buyer = randomUUID();
    const early = await reserve(buyer, [{ productId, quantity: 1, saleEventId: eventId }]);
    expect(early.body).toEqual({ outcome: 'SALE_NOT_LIVE', productId, saleEventId: eventId });
    await startSale({ eventId, productId, salePrice: 7_900 });
    const bought = await reserve(buyer, [{ productId, quantity: 2, saleEventId: eventId }]);
    expect(bought.body).toEqual({
      outcome: 'RESERVED',
      lines: [{ productId, quantity: 2, unitPrice: 7_900, regularPrice: 12_900, saleEventId: eventId }],
    });
    const regular = await reserve(buyer, [{ productId, quantity: 1 }]);
    expect(regular.body.lines[0]).toMatchObject({ unitPrice: 12_900, saleEventId: null });
    expect(await stockOf(products, productId)).toBe(17);
  });

  it('When the sale window has passed but sale.ended has not arrived yet, then the sale is not live any more', async () => {
    const productId = await createProduct(products, { stock: 20 });
    const eventId = randomUUID();
    await startSale({ eventId, productId, startsAt: new Date(Date.now() - 60_000), endsAt: new Date(Date.now() - 1) });
    expect((await reserve(randomUUID(), [{ productId, quantity: 1, saleEventId: eventId }])).body.outcome).toBe('SALE_NOT_LIVE');
    expect((await productView(productId)).salePrice).toBeNull();
  });

  it('When one member fires 5 orders at once against a limit of 1, then exactly one gets the sale unit', async () => {
    const productId = await createProduct(products, { stock: 20 });
    const eventId = randomUUID();
    await startSale({ eventId, productId, quantity: 10, perUserLimit: 1 });
    const buyer = randomUUID();
    const replies = await Promise.all(Array.from({ length: 5 }, () => reserve(buyer, [{ productId, quantity: 1, saleEventId: eventId }])));
    expect(replies.filter((r) => r.body.outcome === 'RESERVED')).toHaveLength(1);
    const refused = replies.filter((r) => r.body.outcome !== 'RESERVED').map((r) => r.body);
    expect(refused).toEqual(
      Array.from({ length: 4 }, () => ({
        outcome: 'PURCHASE_LIMIT_EXCEEDED',
        productId,
        saleEventId: eventId,
        limit: 1,
        alreadyPurchased: 1,
      })),
    );
  });

  it('When 500 buyers, some firing 5 orders each, rush a sale of 100 with a limit of 1, then exactly 100 sale units sell, nobody is over the limit and sold_out is announced', async () => {
    const productId = await createProduct(products, { price: 30_000, stock: 300 });
    const eventId = randomUUID();
    await startSale({ eventId, productId, salePrice: 9_900, quantity: 100, perUserLimit: 1 });
    const buyers = Array.from({ length: 500 }, () => randomUUID());
    const requests = buyers.flatMap((buyer, i) => Array.from({ length: i % 10 === 0 ? 5 : 1 }, () => ({ buyer })));
    const replies = await Promise.all(
      requests.map(async ({ buyer }) => ({
        buyer,
        ...(await reservePatiently(buyer, [{ productId, quantity: 1, saleEventId: eventId }])),
      })),
    );
    expect(replies.map((r) => r.status).filter((s) => s !== 200)).toEqual([]);
    const won = replies.filter((r) => r.body.outcome === 'RESERVED');
    expect(won).toHaveLength(100);
    expect(new Set(won.map((r) => r.buyer)).size).toBe(100);
    expect(won.every((r) => r.body.lines[0].unitPrice === 9_900)).toBe(true);
    const refusals = new Set(replies.filter((r) => r.body.outcome !== 'RESERVED').map((r) => r.body.outcome));
    expect([...refusals].every((o) => o === 'SALE_SOLD_OUT' || o === 'PURCHASE_LIMIT_EXCEEDED')).toBe(true);
    // The other 200 units stay on the shelf for regular buyers.
    expect(await stockOf(products, productId)).toBe(200);
    const numbers = await report([productId]);
    expect(numbers.consistent).toBe(true);
    expect(numbers.sales).toEqual([{ eventId, quantity: 100, sold: 100, heldByOrders: 100, maxPerMember: 1, consistent: true }]);
    const announced = await waitFor(() => soldOut.find((m) => (m.payload as { eventId: string }).eventId === eventId));
    expect(announced.payload).toMatchObject({ v: 1, eventId, productId });
    // A sale buyer now hears SALE_SOLD_OUT; the same product still sells at the regular price.
    expect((await reserve(randomUUID(), [{ productId, quantity: 1, saleEventId: eventId }])).body).toEqual({
      outcome: 'SALE_SOLD_OUT',
      productId,
      saleEventId: eventId,
      requested: 1,
      remaining: 0,
    });
    expect((await reserve(randomUUID(), [{ productId, quantity: 1 }])).body.lines[0].unitPrice).toBe(30_000);
  });

  it('When an order holding sale units is released, then the units go back to the sale and to the member allowance, once', async () => {
    const productId = await createProduct(products, { stock: 5 });
    const eventId = randomUUID();
    await startSale({ eventId, productId, quantity: 2, perUserLimit: 2 });
    const buyer = randomUUID();
    const first = await reserve(buyer, [{ productId, quantity: 2, saleEventId: eventId }]);
    expect(first.body.outcome).toBe('RESERVED');
    expect((await reserve(randomUUID(), [{ productId, quantity: 1, saleEventId: eventId }])).body.outcome).toBe('SALE_SOLD_OUT');
    // While the sale runs its unsold units are kept for it; regular buyers get the rest.
    expect((await reserve(randomUUID(), [{ productId, quantity: 4 }])).body).toMatchObject({ outcome: 'INSUFFICIENT_STOCK', available: 3 });
    await inventory(products, 'release', { orderId: first.orderId });
    await inventory(products, 'release', { orderId: first.orderId });
    expect((await report([productId])).sales[0]).toMatchObject({ sold: 0, heldByOrders: 0, consistent: true });
    expect((await reserve(buyer, [{ productId, quantity: 2, saleEventId: eventId }])).body.outcome).toBe('RESERVED');
  });
});

describe('SaleEvent.remaining', () => {
  it('When the router asks for remaining with the required quantity, then it is quantity minus what orders hold, for several events in one query', async () => {
    const productId = await createProduct(products, { stock: 50 });
    const live = randomUUID();
    await startSale({ eventId: live, productId, quantity: 10, perUserLimit: 5 });
    await reserve(randomUUID(), [{ productId, quantity: 3, saleEventId: live }]);
    const unheard = randomUUID();
    const before = products.statements.length;
    const response = await graphql(
      products.url,
      `query($r: [_Any!]!) { _entities(representations: $r) { ... on SaleEvent { id remaining } } }`,
      {
        r: [
          { __typename: 'SaleEvent', id: live, quantity: 10 },
          { __typename: 'SaleEvent', id: unheard, quantity: 7 },
        ],
      },
    );
    expect(response.data!._entities).toEqual([
      { id: live, remaining: 7 },
      { id: unheard, remaining: 7 },
    ]);
    expect(products.statements.slice(before).filter((sql) => /from\s+`?sales`?/i.test(sql))).toHaveLength(1);
  });
});
