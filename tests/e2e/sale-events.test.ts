import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCodes, startPrivateRabbitMq, waitFor, type PrivateRabbitMq } from '@bth/testkit';
import { startStack, type Member, type Stack } from '../support/stack.js';

/**
 * Sale events through the router, with every service running: an admin schedules a sale, the
 * events scheduler opens and closes it, RabbitMQ carries the news to products, and buyers order
 * at the sale price within the sale's quantity and per-member limit.
 *
 * The stack talks to a RabbitMQ node of this file's own, because one case stops the broker; the
 * machine's shared broker is never touched.
 */
let broker: PrivateRabbitMq;
let stack: Stack;
let admin: Member;
beforeAll(async () => {
  broker = await startPrivateRabbitMq('bthtest');
  stack = await startStack({ env: { AMQP_URL: broker.url } });
  admin = await stack.signUpAdmin();
});
afterAll(async () => {
  await stack?.stop();
  await broker?.close();
});

const EVENT_FIELDS =
  'id name status salePrice quantity perUserLimit startsAt endsAt openedAt closedAt soldOutAt remaining product { id price }';
const CREATE = `mutation($input: CreateSaleEventInput!) { createSaleEvent(input: $input) { ${EVENT_FIELDS} } }`;
const EVENT = `query($id: ID!) { saleEvent(id: $id) { ${EVENT_FIELDS} } }`;
const PRODUCT = `query($id: ID!) { product(id: $id) { id price salePrice saleEndsAt stock activeSale { id status remaining } } }`;
const ON_SALE = `{ products(first: 100, filter: { onSale: true }) { nodes { id salePrice } } }`;

async function createSale(productId: string, overrides: Record<string, unknown> = {}) {
  const response = await stack.gql(
    CREATE,
    {
      input: {
        name: 'Flash sale',
        productId,
        salePrice: 9_900,
        quantity: 5,
        perUserLimit: 2,
        startsAt: new Date(Date.now() + 2_000).toISOString(),
        endsAt: new Date(Date.now() + 8_000).toISOString(),
        ...overrides,
      },
    },
    admin.accessToken,
  );
  if (response.errors) throw new Error(`createSaleEvent failed: ${JSON.stringify(response.errors)}`);
  return response.data!.createSaleEvent as { id: string; status: string; startsAt: string; endsAt: string };
}

const eventOf = async (id: string) => (await stack.gql(EVENT, { id })).data!.saleEvent;
const productOf = async (id: string) => (await stack.gql(PRODUCT, { id })).data!.product;
const onSaleIds = async () => ((await stack.gql(ON_SALE)).data!.products.nodes as Array<{ id: string }>).map((n) => n.id);

describe('sale events through the router', () => {
  it('When an admin schedules a sale, then it opens on time, the listing shows the sale price, buyers pay it, and at the end the regular price is back', async () => {
    const productId = await stack.createProduct(admin, { stock: 50, price: 20_000 });
    const buyer = await stack.signUp();
    const sale = await createSale(productId);
    expect(sale.status).toBe('SCHEDULED');
    expect(await onSaleIds()).not.toContain(productId);
    const early = await stack.placeOrder(buyer, [{ productId, quantity: 1, saleEventId: sale.id }]);
    expect(early.data!.placeOrder).toEqual({ __typename: 'SaleNotLive', productId, saleEventId: sale.id });

    // On sale from startsAt by the clock (products knew the window since it was scheduled); the
    // scheduler records the opening and announces it within a tick.
    await waitFor(async () => (await onSaleIds()).includes(productId), 10_000);
    const live = await productOf(productId);
    expect(live).toMatchObject({
      price: 20_000,
      salePrice: 9_900,
      saleEndsAt: sale.endsAt,
      activeSale: { id: sale.id, status: 'LIVE', remaining: 5 },
    });
    const opened = await waitFor(async () => {
      const event = await eventOf(sale.id);
      return event.openedAt ? event : null;
    }, 5_000);
    expect(Math.abs(new Date(opened.openedAt).getTime() - new Date(sale.startsAt).getTime())).toBeLessThan(1_500);

    const bought = await stack.placeOrder(buyer, [{ productId, quantity: 2, saleEventId: sale.id }]);
    expect(bought.data!.placeOrder).toMatchObject({ __typename: 'Order', status: 'AWAITING_PAYMENT', totalAmount: 19_800 });
    expect((await eventOf(sale.id)).remaining).toBe(3);
    const overLimit = await stack.placeOrder(buyer, [{ productId, quantity: 1, saleEventId: sale.id }]);
    expect(overLimit.data!.placeOrder).toEqual({
      __typename: 'PurchaseLimitExceeded',
      productId,
      saleEventId: sale.id,
      limit: 2,
      alreadyPurchased: 2,
    });
    const regular = await stack.placeOrder(buyer, [{ productId, quantity: 1 }]);
    expect(regular.data!.placeOrder.totalAmount).toBe(20_000);

    const ended = await waitFor(async () => {
      const event = await eventOf(sale.id);
      return event.status === 'ENDED' && event.closedAt ? event : null;
    }, 15_000);
    expect(Math.abs(new Date(ended.closedAt).getTime() - new Date(sale.endsAt).getTime())).toBeLessThan(1_500);
    await waitFor(async () => !(await onSaleIds()).includes(productId), 10_000);
    expect(await productOf(productId)).toMatchObject({ salePrice: null, saleEndsAt: null, activeSale: null });
    const late = await stack.placeOrder(await stack.signUp(), [{ productId, quantity: 1, saleEventId: sale.id }]);
    expect(late.data!.placeOrder.__typename).toBe('SaleNotLive');
    expect((await stack.inventoryReport(admin, [productId])).consistent).toBe(true);
  });

  it('When hundreds of buyers, some firing 5 orders at once, rush a sale of 100 with a limit of 1, then exactly 100 sale units sell and nobody is over the limit', async () => {
    const productId = await stack.createProduct(admin, { stock: 300, price: 30_000 });
    const sale = await createSale(productId, {
      quantity: 100,
      perUserLimit: 1,
      salePrice: 9_900,
      endsAt: new Date(Date.now() + 120_000).toISOString(),
    });
    const buyers = await stack.mintMembers(400);
    await waitFor(async () => (await productOf(productId)).activeSale?.status === 'LIVE', 10_000);

    const requests = buyers.flatMap((buyer, i) => Array.from({ length: i % 10 === 0 ? 5 : 1 }, () => buyer));
    const answers = await Promise.all(
      requests.map(async (buyer) => ({
        buyer: buyer.userId,
        response: await stack.buy(buyer, [{ productId, quantity: 1, saleEventId: sale.id }]),
      })),
    );
    expect(answers.flatMap((a) => a.response.errors ?? [])).toEqual([]);
    const orders = answers.filter((a) => a.response.data!.placeOrder.__typename === 'Order');
    expect(orders).toHaveLength(100);
    expect(new Set(orders.map((a) => a.buyer)).size).toBe(100);
    expect(orders.every((a) => a.response.data!.placeOrder.totalAmount === 9_900)).toBe(true);
    const refusals = new Set(
      answers.filter((a) => a.response.data!.placeOrder.__typename !== 'Order').map((a) => a.response.data!.placeOrder.__typename),
    );
    expect([...refusals].every((t) => t === 'SaleSoldOut' || t === 'PurchaseLimitExceeded')).toBe(true);

    const report = await stack.inventoryReport(admin, [productId]);
    expect(report.consistent).toBe(true);
    expect(report.sales).toEqual([
      { eventId: sale.id, quantity: 100, perUserLimit: 1, sold: 100, heldByOrders: 100, maxPerMember: 1, consistent: true },
    ]);
    expect(report.products[0]).toMatchObject({ stock: 200, sold: 100, difference: 0 });
    // products announced sale.sold_out; events recorded when the sale units ran out.
    const soldOut = await waitFor(async () => {
      const event = await eventOf(sale.id);
      return event.soldOutAt ? event : null;
    }, 10_000);
    expect(soldOut).toMatchObject({ status: 'LIVE', remaining: 0 });
    // The 200 regular units still sell, at the regular price.
    const regular = await stack.placeOrder(buyers[1]!, [{ productId, quantity: 1 }]);
    expect(regular.data!.placeOrder).toMatchObject({ __typename: 'Order', totalAmount: 30_000 });
  });

  it("When RabbitMQ is down across a sale's start and across its end, then at every instant the price, activeSale and a sale order agree, and the late messages change nothing", async () => {
    const productId = await stack.createProduct(admin, { stock: 300, price: 15_000 });
    // 18 s of polling at most one per POLL_MS is at most 180 polls: 200 buyers, 200 sale units.
    const POLL_MS = 100;
    const buyers = await stack.mintMembers(200);
    const startsAt = new Date(Date.now() + 10_000);
    const endsAt = new Date(startsAt.getTime() + 6_000);
    const sale = await createSale(productId, {
      quantity: 200,
      perUserLimit: 1,
      startsAt: startsAt.toISOString(),
      endsAt: endsAt.toISOString(),
    });
    // Products learns the window when the sale is scheduled, while the broker is still up.
    await waitFor(
      async () => (await stack.query('products', 'SELECT status FROM sales WHERE event_id = ?', [sale.id])).length === 1,
      10_000,
    );
    await broker.stop();
    expect(Date.now()).toBeLessThan(startsAt.getTime());

    interface Poll {
      from: number;
      to: number;
      salePrice: number | null;
      activeSale: string | null;
      order: string;
      totalAmount: number | null;
    }
    const polls: Poll[] = [];
    let next = 0;
    let lastPoll = 0;
    try {
      while (Date.now() < endsAt.getTime() + 2_000) {
        // One buyer per poll (each may buy 1), and at most one poll per POLL_MS, so a fast machine
        // neither runs out of buyers nor of sale units within the window.
        const buyer = buyers[next++]!;
        const wait = lastPoll + POLL_MS - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const from = Date.now();
        lastPoll = from;
        const [product, order] = await Promise.all([
          productOf(productId),
          stack.placeOrder(buyer, [{ productId, quantity: 1, saleEventId: sale.id }]),
        ]);
        const placed = order.data!.placeOrder as { __typename: string; totalAmount?: number };
        polls.push({
          from,
          to: Date.now(),
          salePrice: product.salePrice,
          activeSale: product.activeSale?.status ?? null,
          order: placed.__typename,
          totalAmount: placed.totalAmount ?? null,
        });
      }
      // Nothing reached products meanwhile: the opening and the closing are still in the outbox.
      const waiting = await stack.query(
        'events',
        'SELECT routing_key, published_at FROM outbox WHERE aggregate_id = ? AND routing_key <> ? ORDER BY id',
        [sale.id, 'sale.scheduled'],
      );
      expect(waiting).toEqual([
        { routing_key: 'sale.started', published_at: null },
        { routing_key: 'sale.ended', published_at: null },
      ]);
    } finally {
      await broker.start();
    }

    // A poll that straddles an edge may see both sides; every other one must agree with itself and the clock.
    const live = (t: number) => startsAt.getTime() <= t && t < endsAt.getTime();
    const clear = polls.filter((p) => live(p.from) === live(p.to));
    const wrong = clear.filter((p) => {
      const expected = live(p.from);
      const seen = expected
        ? p.salePrice === 9_900 && p.activeSale === 'LIVE' && p.order === 'Order' && p.totalAmount === 9_900
        : p.salePrice === null && p.activeSale === null && p.order === 'SaleNotLive';
      return !seen;
    });
    expect(wrong).toEqual([]);
    expect(clear.filter((p) => p.to < startsAt.getTime()).length).toBeGreaterThan(0);
    expect(clear.filter((p) => live(p.from)).length).toBeGreaterThan(3);
    expect(clear.filter((p) => p.from >= endsAt.getTime()).length).toBeGreaterThan(0);

    // Back up: the late sale.started and sale.ended arrive, confirm, and reopen nothing.
    await waitFor(
      async () => (await stack.query('products', 'SELECT status FROM sales WHERE event_id = ?', [sale.id]))[0]?.status === 'ENDED',
      30_000,
    );
    expect(await productOf(productId)).toMatchObject({ salePrice: null, saleEndsAt: null, activeSale: null });
    const late = await stack.placeOrder(buyers[buyers.length - 1]!, [{ productId, quantity: 1, saleEventId: sale.id }]);
    expect(late.data!.placeOrder.__typename).toBe('SaleNotLive');
    const applied = stack.logs.filter(
      (line) => line.startsWith('products') && line.includes('"sale applied"') && line.includes(sale.id) && line.includes('sale.started'),
    );
    expect(applied.length).toBeLessThanOrEqual(1);
    expect(
      await stack.query('events', 'SELECT COUNT(*) AS n FROM outbox WHERE aggregate_id = ? AND routing_key = ?', [sale.id, 'sale.started']),
    ).toEqual([{ n: 1 }]);
    expect((await stack.inventoryReport(admin, [productId])).consistent).toBe(true);
  });

  it('When a member schedules a sale or an admin sends invalid input, then FORBIDDEN or every broken rule at once, and nothing is written', async () => {
    const productId = await stack.createProduct(admin, { stock: 10, price: 10_000 });
    const count = async () => (await stack.query<{ n: number }>('events', 'SELECT COUNT(*) AS n FROM sale_events'))[0]!.n;
    const before = await count();
    const member = await stack.signUp();
    const input = {
      name: 'x',
      productId,
      salePrice: 5_000,
      quantity: 10,
      perUserLimit: 1,
      startsAt: new Date(Date.now() + 60_000).toISOString(),
      endsAt: new Date(Date.now() + 120_000).toISOString(),
    };
    expect(errorCodes(await stack.gql(CREATE, { input }, member.accessToken))).toEqual(['FORBIDDEN']);
    expect(errorCodes(await stack.gql(CREATE, { input }))).toEqual(['UNAUTHENTICATED']);
    const invalid = await stack.gql(
      CREATE,
      {
        input: {
          ...input,
          name: '',
          salePrice: 10_000,
          quantity: 0,
          perUserLimit: 0,
          startsAt: new Date(Date.now() - 3_600_000).toISOString(),
          endsAt: new Date(Date.now() - 7_200_000).toISOString(),
        },
      },
      admin.accessToken,
    );
    expect(errorCodes(invalid)).toEqual(['BAD_USER_INPUT']);
    const fields = (invalid.errors![0]!.extensions!.fieldErrors as Array<{ field: string }>).map((e) => e.field);
    expect(fields).toEqual(expect.arrayContaining(['name', 'salePrice', 'quantity', 'perUserLimit', 'startsAt', 'endsAt']));
    const unknown = await stack.gql(CREATE, { input: { ...input, productId: randomUUID() } }, admin.accessToken);
    expect(unknown.errors![0]!.extensions!.fieldErrors).toEqual([expect.objectContaining({ field: 'productId' })]);
    expect(await count()).toBe(before);
  });
});
