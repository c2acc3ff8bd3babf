import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type ChannelModel } from 'amqplib';
import { deadLetterQueueName } from '@bth/platform/amqp';
import { dropTestDatabases, graphql, testExchange, waitFor } from '@bth/testkit';
import { createProduct, startProducts, type Products } from '@bth/fixtures/products';
import {
  AMQP_URL,
  EVENT,
  createEvent,
  deleteTopology,
  eventInput,
  startEvents,
  startProbe,
  type Events,
  type Probe,
} from '@bth/fixtures/events';

/**
 * The `sale.sold_out` consumer against the real broker: products' messages are published here the
 * way products publishes them (same exchange, routing key, payload and message id).
 */
const exchange = testExchange('events-sold-out');
let products: Products;
let events: Events;
let probe: Probe;
let admin: ChannelModel;

beforeAll(async () => {
  products = await startProducts({ messaging: false });
  events = await startEvents({ name: 'events_sold_out', exchange, productsUrls: [products.url], scheduler: false });
  probe = await startProbe(exchange);
  admin = await connect(AMQP_URL);
});

afterAll(async () => {
  await admin?.close();
  await probe?.close();
  await events?.stop();
  await products?.close();
  await deleteTopology(exchange);
  await dropTestDatabases();
});

const soldOut = (event: { id: string; product: { id: string } }, at: Date) => ({
  v: 1,
  eventId: event.id,
  productId: event.product.id,
  soldOutAt: at.toISOString(),
});
const soldOutAt = async (id: string) => (await events.event(id)).sold_out_at?.getTime() ?? null;

async function newEvent() {
  return createEvent(events, eventInput(await createProduct(products), 3_600_000, 3_600_000));
}

describe('sale.sold_out consumer', () => {
  it('When the same message id is delivered twice, then it is applied once', async () => {
    const [first, marker] = [await newEvent(), await newEvent()];
    const at = new Date(Date.now() - 1_000);
    const messageId = await probe.publish('sale.sold_out', soldOut(first, at));
    await waitFor(async () => (await soldOutAt(first.id)) === at.getTime());
    const read = await graphql(events.url, EVENT, { id: first.id });
    expect(read.data?.saleEvent.soldOutAt).toBe(at.toISOString());

    // Cleared by hand, so that applying the redelivery would show.
    await events.rows('UPDATE sale_events SET sold_out_at = NULL WHERE id = ?', [first.id]);
    await probe.publish('sale.sold_out', soldOut(first, at), messageId);
    // One queue, one consumer: once the later message is applied, the redelivery was handled.
    await probe.publish('sale.sold_out', soldOut(marker, at));
    await waitFor(async () => (await soldOutAt(marker.id)) !== null);
    expect(await soldOutAt(first.id)).toBeNull();
    expect(await events.count('SELECT COUNT(*) AS n FROM inbox WHERE message_id = ?', [messageId])).toBe(1);
  });

  it('When an event sells out again later, then the first sell-out is kept', async () => {
    const [event, marker] = [await newEvent(), await newEvent()];
    const firstTime = new Date(Date.now() - 60_000);
    await probe.publish('sale.sold_out', soldOut(event, firstTime));
    await waitFor(async () => (await soldOutAt(event.id)) === firstTime.getTime());
    await probe.publish('sale.sold_out', soldOut(event, new Date()));
    await probe.publish('sale.sold_out', soldOut(marker, new Date()));
    await waitFor(async () => (await soldOutAt(marker.id)) !== null);
    expect(await soldOutAt(event.id)).toBe(firstTime.getTime());
  });

  it('When a payload breaks the contract, then the message goes to the dead-letter queue at once and nothing changes', async () => {
    const event = await newEvent();
    const messageId = randomUUID();
    await probe.publish('sale.sold_out', { v: 1, eventId: event.id, productId: 'not-a-uuid', soldOutAt: 'soon' }, messageId);
    const channel = await admin.createChannel();
    try {
      const dead = await waitFor(
        async () => (await channel.get(deadLetterQueueName(exchange, 'events.sales'), { noAck: true })) || null,
        10_000,
      );
      expect(dead.properties.messageId).toBe(messageId);
      // At once: the first delivery was the only one.
      expect(dead.properties.headers?.['x-delivery-count'] ?? 0).toBe(0);
    } finally {
      await channel.close();
    }
    expect(await soldOutAt(event.id)).toBeNull();
    expect(await events.count('SELECT COUNT(*) AS n FROM inbox WHERE message_id = ?', [messageId])).toBe(0);
  });
});
