import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deadUrl, dropTestDatabases, errorCodes, graphql, testExchange, waitFor } from '@bth/testkit';
import { createProduct, startProducts, type Products } from '@bth/fixtures/products';
import {
  CANCEL,
  CREATE,
  EVENT,
  UPDATE,
  asAdmin,
  asMember,
  createEvent,
  deleteTopology,
  eventInput,
  fieldsOf,
  startEvents,
  startProbe,
  statusIs,
  type Events,
  type Probe,
} from '@bth/fixtures/events';

/** The admin API, its rules and the public reads, against the real MariaDB, RabbitMQ and products subgraph. */
const exchange = testExchange('events-api');
const HOUR = 3_600_000;
let products: Products;
let events: Events;
let probe: Probe;

beforeAll(async () => {
  products = await startProducts({ messaging: false });
  // A dead replica in the list: every price lookup must fail over to the live one.
  events = await startEvents({ name: 'events_api', exchange, productsUrls: [await deadUrl('/graphql'), products.url] });
  probe = await startProbe(exchange);
});

afterAll(async () => {
  await probe?.close();
  await events?.stop();
  await products?.close();
  await deleteTopology(exchange);
  await dropTestDatabases();
});

describe('admin operations', () => {
  it('When a member or an anonymous caller schedules, edits or cancels an event, then it is FORBIDDEN or UNAUTHENTICATED and nothing is written', async () => {
    const event = await createEvent(events, eventInput(await createProduct(products), HOUR, HOUR));
    const input = eventInput(await createProduct(products), HOUR, HOUR);
    const before = await events.footprint();
    for (const [headers, code] of [
      [await asMember(), 'FORBIDDEN'],
      [{}, 'UNAUTHENTICATED'],
    ] as const) {
      expect(errorCodes(await graphql(events.url, CREATE, { input }, headers))).toEqual([code]);
      expect(errorCodes(await graphql(events.url, UPDATE, { id: event.id, input: { name: 'Mine now' } }, headers))).toEqual([code]);
      expect(errorCodes(await graphql(events.url, CANCEL, { id: event.id }, headers))).toEqual([code]);
    }
    expect(await events.footprint()).toEqual(before);
    expect((await events.event(event.id)).status).toBe('SCHEDULED');
  });

  it('When every rule is broken, then each is reported at once and nothing is written', async () => {
    const before = await events.footprint();
    const response = await graphql(
      events.url,
      CREATE,
      {
        input: {
          name: '   ',
          productId: randomUUID(),
          salePrice: -1,
          quantity: 0,
          perUserLimit: 0,
          startsAt: new Date(Date.now() - HOUR).toISOString(),
          endsAt: new Date(Date.now() - 2 * HOUR).toISOString(),
        },
      },
      await asAdmin(),
    );
    expect(errorCodes(response)).toEqual(['BAD_USER_INPUT']);
    expect(fieldsOf(response)).toEqual(['endsAt', 'name', 'perUserLimit', 'productId', 'quantity', 'salePrice', 'startsAt']);

    const productId = await createProduct(products, { price: 10_000 });
    const tooDear = await graphql(
      events.url,
      CREATE,
      { input: eventInput(productId, HOUR, HOUR, { salePrice: 10_000, quantity: 1_000_001, perUserLimit: 1_000_002 }) },
      await asAdmin(),
    );
    expect(fieldsOf(tooDear)).toEqual(['perUserLimit', 'quantity', 'salePrice']);
    expect(await events.footprint()).toEqual(before);
  });

  it('When windows of one product overlap, then the second event is refused; touching windows and other products are fine', async () => {
    const productId = await createProduct(products);
    const first = await createEvent(events, eventInput(productId, HOUR, HOUR));
    const overlapping = await graphql(
      events.url,
      CREATE,
      { input: eventInput(productId, HOUR, HOUR, { startsAt: new Date(new Date(first.startsAt).getTime() + 1).toISOString() }) },
      await asAdmin(),
    );
    expect(errorCodes(overlapping)).toEqual(['BAD_USER_INPUT']);
    expect(fieldsOf(overlapping)).toEqual(['startsAt']);
    expect(overlapping.errors![0]!.extensions!.fieldErrors[0].message).toContain(first.id);

    const touching = { startsAt: first.endsAt, endsAt: new Date(new Date(first.endsAt).getTime() + HOUR).toISOString() };
    await createEvent(events, eventInput(productId, HOUR, HOUR, touching));
    await createEvent(events, eventInput(await createProduct(products), HOUR, HOUR, { startsAt: first.startsAt, endsAt: first.endsAt }));
    expect(await events.count('SELECT COUNT(*) AS n FROM sale_events WHERE product_id = ?', [productId])).toBe(2);
  });

  it('When admins schedule overlapping events of one product at the same moment, then exactly one wins', async () => {
    const productId = await createProduct(products);
    const base = Date.now() + HOUR;
    const attempts = await Promise.all(
      Array.from({ length: 8 }, async (_, i) =>
        graphql(
          events.url,
          CREATE,
          {
            input: eventInput(productId, HOUR, HOUR, {
              startsAt: new Date(base + i * 60_000).toISOString(),
              endsAt: new Date(base + HOUR).toISOString(),
            }),
          },
          await asAdmin(),
        ),
      ),
    );
    const won = attempts.filter((r) => !r.errors);
    expect(won).toHaveLength(1);
    for (const lost of attempts.filter((r) => r.errors)) {
      expect(errorCodes(lost)).toEqual(['BAD_USER_INPUT']);
      expect(fieldsOf(lost)).toEqual(['startsAt']);
    }
    expect(await events.count('SELECT COUNT(*) AS n FROM sale_events WHERE product_id = ?', [productId])).toBe(1);
  });

  it('When an event is scheduled it can be edited under the same rules; once live, an edit answers SaleEventNotEditable', async () => {
    const productId = await createProduct(products, { price: 10_000 });
    const event = await createEvent(events, eventInput(productId, 1_500, HOUR));
    const edited = await graphql(
      events.url,
      UPDATE,
      { id: event.id, input: { name: ' Renamed ', salePrice: 3_000, quantity: null } },
      await asAdmin(),
    );
    expect(edited.data?.updateSaleEvent).toMatchObject({
      __typename: 'SaleEvent',
      id: event.id,
      name: 'Renamed',
      salePrice: 3_000,
      quantity: 100,
    });

    const broken = await graphql(events.url, UPDATE, { id: event.id, input: { salePrice: 10_000, perUserLimit: 101 } }, await asAdmin());
    expect(fieldsOf(broken)).toEqual(['perUserLimit', 'salePrice']);
    const other = await createEvent(events, eventInput(productId, 2 * HOUR, HOUR));
    const clash = await graphql(events.url, UPDATE, { id: other.id, input: { startsAt: event.startsAt } }, await asAdmin());
    expect(fieldsOf(clash)).toEqual(['startsAt']);

    await waitFor(() => statusIs(events, event.id, 'LIVE'));
    const late = await graphql(events.url, UPDATE, { id: event.id, input: { name: 'Too late' } }, await asAdmin());
    expect(late.data?.updateSaleEvent).toEqual({
      __typename: 'SaleEventNotEditable',
      message: expect.any(String),
      eventId: event.id,
      status: 'LIVE',
    });
    const stored = await graphql(events.url, EVENT, { id: event.id });
    expect(stored.data?.saleEvent).toMatchObject({ name: 'Renamed', salePrice: 3_000, status: 'LIVE' });

    const unknown = await graphql(events.url, UPDATE, { id: randomUUID(), input: { name: 'x' } }, await asAdmin());
    expect(errorCodes(unknown)).toEqual(['NOT_FOUND']);
  });

  it('When a live event is cancelled, then it closes at once and sale.ended CANCELLED is published; a repeat changes nothing', async () => {
    const event = await createEvent(events, eventInput(await createProduct(products), 1_000, HOUR));
    await waitFor(() => statusIs(events, event.id, 'LIVE'));
    const cancelled = await graphql(events.url, CANCEL, { id: event.id }, await asAdmin());
    expect(cancelled.data?.cancelSaleEvent).toMatchObject({ __typename: 'SaleEvent', status: 'CANCELLED', closedAt: expect.any(String) });

    await waitFor(() => probe.about(event.id, 'sale.ended').length > 0);
    expect(probe.about(event.id).map((m) => [m.routingKey, m.payload.status, m.payload.reason])).toEqual([
      ['sale.started', 'LIVE', undefined],
      ['sale.ended', 'CANCELLED', 'CANCELLED'],
    ]);

    const again = await graphql(events.url, CANCEL, { id: event.id }, await asAdmin());
    expect(again.data?.cancelSaleEvent).toEqual(cancelled.data?.cancelSaleEvent);
    expect(await events.count(`SELECT COUNT(*) AS n FROM outbox WHERE aggregate_id = ? AND routing_key = 'sale.ended'`, [event.id])).toBe(
      1,
    );
  });

  it('When a scheduled event is cancelled it is announced as ended; an ended event can be neither cancelled nor edited', async () => {
    const scheduled = await createEvent(events, eventInput(await createProduct(products), HOUR, HOUR));
    const cancelled = await graphql(events.url, CANCEL, { id: scheduled.id }, await asAdmin());
    expect(cancelled.data?.cancelSaleEvent).toMatchObject({ status: 'CANCELLED', openedAt: null });
    await waitFor(() => probe.about(scheduled.id).length > 0);
    expect(probe.about(scheduled.id).map((m) => [m.routingKey, m.payload.reason])).toEqual([['sale.ended', 'CANCELLED']]);

    const short = await createEvent(events, eventInput(await createProduct(products), 500, 500));
    await waitFor(() => statusIs(events, short.id, 'ENDED'));
    for (const operation of [CANCEL, UPDATE]) {
      const response = await graphql(events.url, operation, { id: short.id, input: { name: 'x' } }, await asAdmin());
      expect(Object.values(response.data ?? {})[0]).toMatchObject({
        __typename: 'SaleEventNotEditable',
        eventId: short.id,
        status: 'ENDED',
      });
    }
    expect((await events.event(short.id)).status).toBe('ENDED');
  });

  it('When no products replica answers, then scheduling is UPSTREAM_UNAVAILABLE (retryable) and nothing is written', async () => {
    const cutOff = await startEvents({
      name: 'events_api',
      exchange,
      productsUrls: [await deadUrl('/graphql'), await deadUrl('/graphql')],
      scheduler: false,
      messaging: false,
    });
    try {
      const event = await createEvent(events, eventInput(await createProduct(products), HOUR, HOUR));
      const before = await events.footprint();
      const created = await graphql(cutOff.url, CREATE, { input: eventInput(randomUUID(), HOUR, HOUR) }, await asAdmin());
      expect(errorCodes(created)).toEqual(['UPSTREAM_UNAVAILABLE']);
      expect(created.errors![0]!.extensions!.retryable).toBe(true);
      const repriced = await graphql(cutOff.url, UPDATE, { id: event.id, input: { salePrice: 1_000 } }, await asAdmin());
      expect(errorCodes(repriced)).toEqual(['UPSTREAM_UNAVAILABLE']);
      expect(await events.footprint()).toEqual(before);
      expect((await events.event(event.id)).status).toBe('SCHEDULED');
    } finally {
      await cutOff.stop();
    }
  });
});

describe('public reads', () => {
  const LIST = `query($status: SaleEventStatus, $first: Int, $after: String) {
    saleEvents(status: $status, first: $first, after: $after) {
      edges { cursor node { id startsAt status } }
      nodes { id }
      pageInfo { hasNextPage endCursor }
    }
  }`;

  interface ListPage {
    edges: Array<{ cursor: string; node: { id: string; startsAt: string; status: string } }>;
    nodes: Array<{ id: string }>;
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
  }

  it('When events are listed page by page, then every event comes once, soonest first, and the status filter holds', async () => {
    const listing = await startEvents({
      name: 'events_listing',
      exchange,
      productsUrls: [products.url],
      scheduler: false,
      messaging: false,
    });
    try {
      const start = Date.now() + HOUR;
      const created = [];
      for (let i = 0; i < 5; i++) {
        // Two pairs share a start: the id breaks the tie.
        const startsAt = new Date(start + Math.floor(i / 2) * 60_000).toISOString();
        created.push(
          await createEvent(
            listing,
            eventInput(await createProduct(products), HOUR, HOUR, { startsAt, endsAt: new Date(start + 2 * HOUR).toISOString() }),
          ),
        );
      }
      const expected = [...created].sort((a, b) => a.startsAt.localeCompare(b.startsAt) || a.id.localeCompare(b.id)).map((e) => e.id);

      const seen: string[] = [];
      const hasNext: boolean[] = [];
      let after: string | null = null;
      do {
        const page: ListPage = (await graphql(listing.url, LIST, { first: 2, after })).data!.saleEvents;
        expect(page.nodes.map((n) => n.id)).toEqual(page.edges.map((e) => e.node.id));
        seen.push(...page.nodes.map((n) => n.id));
        hasNext.push(page.pageInfo.hasNextPage);
        after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
      } while (after);
      expect(seen).toEqual(expected);
      expect(hasNext).toEqual([true, true, false]);

      await graphql(listing.url, CANCEL, { id: created[1]!.id }, await asAdmin());
      await graphql(listing.url, CANCEL, { id: created[3]!.id }, await asAdmin());
      const cancelled = (await graphql(listing.url, LIST, { status: 'CANCELLED', first: 10 })).data!.saleEvents;
      expect(cancelled.nodes.map((n: { id: string }) => n.id).sort()).toEqual([created[1]!.id, created[3]!.id].sort());
      const scheduled = (await graphql(listing.url, LIST, { status: 'SCHEDULED', first: 10 })).data!.saleEvents;
      expect(scheduled.edges.every((e: { node: { status: string } }) => e.node.status === 'SCHEDULED')).toBe(true);
      expect(scheduled.nodes).toHaveLength(3);

      expect(fieldsOf(await graphql(listing.url, LIST, { first: 0 }))).toEqual(['first']);
      expect(fieldsOf(await graphql(listing.url, LIST, { first: 101, after: 'not-a-cursor' }))).toEqual(['after', 'first']);
    } finally {
      await listing.stop();
    }
  });

  it('When the scheduler has not ticked, then status and activeSale already follow the clock, and products is told the window when it is scheduled and at each change', async () => {
    const clock = await startEvents({ name: 'events_clock', exchange, productsUrls: [products.url], scheduler: false, messaging: false });
    try {
      const productId = await createProduct(products, { price: 10_000 });
      const event = await createEvent(clock, eventInput(productId, 1_500, 1_500));
      const ACTIVE = `query($r: [_Any!]!) { _entities(representations: $r) { ... on Product { activeSale { id status } } } }`;
      const view = async () => {
        const [active, stored] = await Promise.all([
          graphql(clock.url, ACTIVE, { r: [{ __typename: 'Product', id: productId }] }),
          graphql(clock.url, EVENT, { id: event.id }),
        ]);
        return { active: active.data!._entities[0].activeSale, status: stored.data!.saleEvent.status };
      };
      expect(await view()).toEqual({ active: null, status: 'SCHEDULED' });
      const renamed = await graphql(clock.url, UPDATE, { id: event.id, input: { salePrice: 3_900 } }, await asAdmin());
      expect(renamed.data?.updateSaleEvent).toMatchObject({ __typename: 'SaleEvent', salePrice: 3_900 });
      const outbox = await clock.rows<{ routing_key: string; payload: string }>(
        'SELECT routing_key, payload FROM outbox WHERE aggregate_id = ? ORDER BY id',
        [event.id],
      );
      const payloads = outbox.map((row) => ({
        key: row.routing_key,
        ...(JSON.parse(row.payload) as { status: string; salePrice: number; startsAt: string; endsAt: string; revision: number }),
      }));
      expect(payloads).toMatchObject([
        { key: 'sale.scheduled', status: 'SCHEDULED', salePrice: 4_900, startsAt: event.startsAt, endsAt: event.endsAt },
        { key: 'sale.updated', status: 'SCHEDULED', salePrice: 3_900, startsAt: event.startsAt, endsAt: event.endsAt },
      ]);
      expect(payloads[1]!.revision).toBeGreaterThan(payloads[0]!.revision);

      await waitFor(async () => Date.now() >= new Date(event.startsAt).getTime(), 5_000);
      expect(await view()).toEqual({ active: { id: event.id, status: 'LIVE' }, status: 'LIVE' });
      const late = await graphql(clock.url, UPDATE, { id: event.id, input: { salePrice: 2_900 } }, await asAdmin());
      expect(late.data?.updateSaleEvent).toMatchObject({ __typename: 'SaleEventNotEditable', status: 'LIVE' });

      await waitFor(async () => Date.now() >= new Date(event.endsAt).getTime(), 5_000);
      expect(await view()).toEqual({ active: null, status: 'ENDED' });
      // Nothing moved in the table: the clock alone decided.
      expect((await clock.event(event.id)).status).toBe('SCHEDULED');
    } finally {
      await clock.stop();
    }
  });

  it('When several products are resolved through _entities, then activeSale of all of them costs one query', async () => {
    const [onSale, upcoming, plain] = await Promise.all([createProduct(products), createProduct(products), createProduct(products)]);
    const live = await createEvent(events, eventInput(onSale, 1_000, HOUR));
    await createEvent(events, eventInput(upcoming, HOUR, HOUR));
    await waitFor(() => statusIs(events, live.id, 'LIVE'));
    // Quiet the background work of this instance so that only the request's statements are counted.
    await events.scheduler.stop();
    await events.relay.stop();
    try {
      events.statements.length = 0;
      const response = await graphql(
        events.url,
        `query($r: [_Any!]!) { _entities(representations: $r) { ... on Product { id activeSale { id status salePrice } } } }`,
        { r: [onSale, upcoming, plain, randomUUID()].map((id) => ({ __typename: 'Product', id })) },
      );
      expect(response.errors).toBeUndefined();
      expect(response.data!._entities.map((p: { activeSale: { id: string } | null }) => p.activeSale?.id ?? null)).toEqual([
        live.id,
        null,
        null,
        null,
      ]);
      expect(events.statements.filter((s) => s.includes('sale_events'))).toHaveLength(1);

      // The router's fetch for products' `remaining @requires(fields: "quantity")`.
      const entity = await graphql(
        events.url,
        `query($r: [_Any!]!) { _entities(representations: $r) { ... on SaleEvent { id quantity } } }`,
        {
          r: [
            { __typename: 'SaleEvent', id: live.id },
            { __typename: 'SaleEvent', id: randomUUID() },
          ],
        },
      );
      expect(entity.data!._entities).toEqual([{ id: live.id, quantity: 100 }, null]);
    } finally {
      events.scheduler.start();
      events.relay.start();
    }
  });
});
