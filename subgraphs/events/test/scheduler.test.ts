import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropTestDatabases, startTcpProxy, testExchange, waitFor, type TcpProxy } from '@bth/testkit';
import { createProduct, startProducts, type Products } from '@bth/fixtures/products';
import { createEvent, deleteTopology, eventInput, startEvents, startProbe, statusIs, type Events, type Probe } from '@bth/fixtures/events';

/**
 * The scheduler and the outbox against the real MariaDB and RabbitMQ: on time, through a broker
 * outage, with two instances on one database, and after downtime.
 */
const exchange = testExchange('events-scheduler');
let products: Products;
let probe: Probe;
const started: Events[] = [];

async function events(options: Omit<Parameters<typeof startEvents>[0], 'exchange' | 'productsUrls'>) {
  const instance = await startEvents({ exchange, productsUrls: [products.url], ...options });
  started.push(instance);
  return instance;
}

beforeAll(async () => {
  products = await startProducts({ messaging: false });
  probe = await startProbe(exchange);
});

afterAll(async () => {
  for (const instance of started) await instance.stop().catch(() => undefined);
  await probe?.close();
  await products?.close();
  await deleteTopology(exchange);
  await dropTestDatabases();
});

const outboxRows = (instance: Events, eventId: string) =>
  instance.rows<{ routing_key: string; published_at: Date | null; payload: string }>(
    'SELECT routing_key, published_at, payload FROM outbox WHERE aggregate_id = ? ORDER BY id',
    [eventId],
  );

describe('sale event scheduler', () => {
  it('When an event is due, then it opens and closes within a second of its times and each transition is announced once', async () => {
    const instance = await events({ name: 'events_on_time' });
    const productId = await createProduct(products);
    const event = await createEvent(instance, eventInput(productId, 1_500, 1_500));

    await waitFor(() => statusIs(instance, event.id, 'ENDED'), 10_000);
    const row = await instance.event(event.id);
    const openedLate = row.opened_at!.getTime() - new Date(event.startsAt).getTime();
    const closedLate = row.closed_at!.getTime() - new Date(event.endsAt).getTime();
    expect(openedLate).toBeGreaterThanOrEqual(0);
    expect(openedLate).toBeLessThan(1_000);
    expect(closedLate).toBeGreaterThanOrEqual(0);
    expect(closedLate).toBeLessThan(1_000);

    // Messages of one event leave in order, so once `ended` is here every `started` is too.
    await waitFor(() => probe.about(event.id, 'sale.ended').length > 0);
    const [start, ...moreStarts] = probe.about(event.id, 'sale.started');
    const [end, ...moreEnds] = probe.about(event.id, 'sale.ended');
    expect(moreStarts).toEqual([]);
    expect(moreEnds).toEqual([]);
    expect(start!.messageId).toMatch(/^[0-9a-f-]{36}$/);
    expect(end!.messageId).not.toBe(start!.messageId);
    // AMQP timestamps have whole seconds: the transition's second.
    expect(Math.abs(start!.timestamp!.getTime() - row.opened_at!.getTime())).toBeLessThan(1_000);
    expect(Math.abs(end!.timestamp!.getTime() - row.closed_at!.getTime())).toBeLessThan(1_000);
    expect(start!.payload).toEqual({
      v: 1,
      eventId: event.id,
      productId,
      salePrice: 4_900,
      quantity: 100,
      perUserLimit: 2,
      startsAt: event.startsAt,
      endsAt: event.endsAt,
      status: 'LIVE',
      revision: expect.any(Number),
    });
    expect(end!.payload).toMatchObject({ eventId: event.id, status: 'ENDED', reason: 'ENDED' });
    // The schedule itself was announced first (products sells by its window from then on).
    expect((await outboxRows(instance, event.id)).map((r) => r.routing_key)).toEqual(['sale.scheduled', 'sale.started', 'sale.ended']);
  });

  describe('with RabbitMQ behind a cuttable proxy', () => {
    let proxy: TcpProxy;
    beforeAll(async () => {
      proxy = await startTcpProxy({ port: 5672 });
    });
    afterAll(async () => {
      await proxy?.close();
    });

    it('When RabbitMQ is unreachable while an event opens, then it still opens, the message waits in the outbox and leaves exactly once after', async () => {
      const instance = await events({ name: 'events_outage', amqpUrl: proxy.url('amqp', 'guest:guest') });
      const productId = await createProduct(products);
      proxy.block();
      await waitFor(() => !instance.amqp.isConnected());

      const event = await createEvent(instance, eventInput(productId, 1_000, 4_000));
      await waitFor(() => statusIs(instance, event.id, 'LIVE'), 10_000);
      await instance.relay.drain();
      expect((await outboxRows(instance, event.id)).map((r) => [r.routing_key, r.published_at])).toEqual([
        ['sale.scheduled', null],
        ['sale.started', null],
      ]);
      expect(probe.about(event.id)).toEqual([]);
      // The broker is not part of readiness: the API and the scheduler work without it.
      expect((await fetch(`${instance.base}/health/ready`)).status).toBe(200);

      proxy.unblock();
      await waitFor(() => probe.about(event.id, 'sale.started').length > 0, 20_000);
      await waitFor(() => probe.about(event.id, 'sale.ended').length > 0, 20_000);
      expect(probe.about(event.id).map((m) => m.routingKey)).toEqual(['sale.started', 'sale.ended']);
      // The relay marks rows when its lease transaction commits, a moment after the broker's confirm.
      await waitFor(async () => (await outboxRows(instance, event.id)).every((r) => r.published_at !== null));
    });
  });

  it('When two instances share one database, then every transition happens once and is announced once', async () => {
    const fast = { schedulerTickMs: 50, outboxPollMs: 50 };
    const first = await events({ name: 'events_pair', config: fast });
    const second = await events({ name: 'events_pair', config: fast });
    const created = [];
    for (let i = 0; i < 6; i++) {
      const productId = await createProduct(products);
      // Staggered so that some transitions fall between the two instances' ticks.
      created.push(await createEvent(i % 2 === 0 ? first : second, eventInput(productId, 1_000 + i * 70, 1_000)));
    }

    for (const event of created) await waitFor(() => statusIs(first, event.id, 'ENDED'), 15_000);
    for (const event of created) await waitFor(() => probe.about(event.id, 'sale.ended').length > 0);
    for (const event of created) {
      expect((await outboxRows(first, event.id)).map((r) => r.routing_key)).toEqual(['sale.scheduled', 'sale.started', 'sale.ended']);
      expect(probe.about(event.id).map((m) => m.routingKey)).toEqual(['sale.started', 'sale.ended']);
    }
    // Each row was sent in one attempt (marked when the publishing relay's lease transaction commits).
    await waitFor(async () => (await second.count('SELECT COUNT(*) AS n FROM outbox WHERE published_at IS NULL')) === 0);
    expect(await second.count('SELECT COUNT(*) AS n FROM outbox WHERE attempts <> 1')).toBe(0);
  });

  it('When the service was down, then on start a missed event ends as MISSED, one inside its window opens and an overdue live one closes', async () => {
    const before = await events({ name: 'events_downtime' });
    const [p, q, r] = await Promise.all([createProduct(products), createProduct(products), createProduct(products)]);
    const live = await createEvent(before, eventInput(r, 800, 1_700));
    const missed = await createEvent(before, eventInput(p, 3_500, 1_000));
    const ongoing = await createEvent(before, eventInput(q, 3_500, 60_000));
    await waitFor(() => statusIs(before, live.id, 'LIVE'));
    await waitFor(() => probe.about(live.id, 'sale.started').length > 0);
    await before.stop();
    started.splice(started.indexOf(before), 1);

    // Down until the missed event's whole window and the live one's end have passed.
    await waitFor(() => Date.now() > new Date(missed.endsAt).getTime() + 200, 10_000);
    const after = await events({ name: 'events_downtime', scheduler: false });
    expect((await after.event(missed.id)).status).toBe('SCHEDULED');
    expect((await after.event(ongoing.id)).status).toBe('SCHEDULED');
    expect((await after.event(live.id)).status).toBe('LIVE');

    after.scheduler.start();
    await waitFor(() => statusIs(after, missed.id, 'ENDED'));
    await waitFor(() => statusIs(after, ongoing.id, 'LIVE'));
    await waitFor(() => statusIs(after, live.id, 'ENDED'));
    const missedRow = await after.event(missed.id);
    expect(missedRow.opened_at).toBeNull();
    expect(missedRow.closed_at).not.toBeNull();

    await waitFor(
      () => probe.about(missed.id).length > 0 && probe.about(ongoing.id).length > 0 && probe.about(live.id, 'sale.ended').length > 0,
    );
    expect(probe.about(missed.id).map((m) => [m.routingKey, m.payload.status, m.payload.reason])).toEqual([
      ['sale.ended', 'ENDED', 'MISSED'],
    ]);
    expect(probe.about(ongoing.id).map((m) => [m.routingKey, m.payload.status])).toEqual([['sale.started', 'LIVE']]);
    expect(probe.about(live.id).map((m) => [m.routingKey, m.payload.reason])).toEqual([
      ['sale.started', undefined],
      ['sale.ended', 'ENDED'],
    ]);
  });
});
