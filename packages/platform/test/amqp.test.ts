import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type ChannelModel } from 'amqplib';
import { silentLogger, startTcpProxy, testExchange, waitFor, type TcpProxy } from '@bth/testkit';
import { createAmqp, deadLetterQueueName, queueName, type AmqpClient, type AmqpMessage } from '../src/amqp.js';

const exchange = testExchange('platform-amqp');
let proxy: TcpProxy;
let client: AmqpClient;
let admin: ChannelModel;
const received: AmqpMessage[] = [];
let failing = new Set<string>();

beforeAll(async () => {
  proxy = await startTcpProxy({ port: 5672 });
  client = createAmqp({ url: proxy.url('amqp', 'guest:guest'), exchange, logger: silentLogger });
  await client.waitForConnection(5_000);
  await client.consume({
    queue: 'probe',
    bindings: ['probe.#'],
    maxAttempts: 3,
    handler: async (message) => {
      if (failing.has(message.messageId)) throw new Error('handler refuses this one');
      received.push(message);
    },
  });
  admin = await connect('amqp://guest:guest@127.0.0.1:5672');
});

afterAll(async () => {
  await client?.close();
  await proxy?.close();
  const channel = await admin.createChannel();
  await channel.deleteQueue(queueName(exchange, 'probe'));
  await channel.deleteQueue(deadLetterQueueName(exchange, 'probe'));
  await channel.deleteExchange(exchange);
  await channel.deleteExchange(`${exchange}.dlx`);
  await admin.close();
});

const arrived = (id: string) => waitFor(() => received.find((m) => m.messageId === id), 10_000);

describe('RabbitMQ client', () => {
  it('When a message is published, then it is confirmed and consumed with its id, key and timestamp', async () => {
    const id = randomUUID();
    await client.publish('probe.one', { hello: 'world' }, { messageId: id, timestamp: new Date('2026-11-25T14:00:00Z') });
    const message = await arrived(id);
    expect(message).toMatchObject({ routingKey: 'probe.one', payload: { hello: 'world' }, attempt: 1 });
    expect(message.timestamp?.toISOString()).toBe('2026-11-25T14:00:00.000Z');
  });

  it('When the connection is cut, then publishing fails meanwhile and works again after the client reconnects by itself', async () => {
    proxy.block();
    await waitFor(() => !client.isConnected());
    await expect(client.publish('probe.two', {}, { messageId: randomUUID() })).rejects.toThrow();
    proxy.unblock();
    await waitFor(() => client.isConnected(), 15_000);
    const id = randomUUID();
    await client.publish('probe.two', { after: 'reconnect' }, { messageId: id });
    // The consumer was declared again on the new connection.
    expect((await arrived(id)).payload).toEqual({ after: 'reconnect' });
  });

  it('When a handler keeps failing, then the message is dead-lettered after maxAttempts deliveries', async () => {
    const id = randomUUID();
    failing = new Set([id]);
    await client.publish('probe.poison', { poison: true }, { messageId: id });
    const channel = await admin.createChannel();
    try {
      const dead = await waitFor(async () => channel.get(deadLetterQueueName(exchange, 'probe'), { noAck: true }), 15_000);
      expect(dead.properties.messageId).toBe(id);
      expect(received.some((m) => m.messageId === id)).toBe(false);
    } finally {
      await channel.close();
    }
  });

  it('When a message is not JSON, then it goes straight to the dead-letter queue', async () => {
    const channel = await admin.createChannel();
    try {
      const id = randomUUID();
      channel.publish(exchange, 'probe.garbage', Buffer.from('{not json'), { messageId: id, persistent: true });
      const dead = await waitFor(async () => channel.get(deadLetterQueueName(exchange, 'probe'), { noAck: true }), 10_000);
      expect(dead.properties.messageId).toBe(id);
    } finally {
      await channel.close();
    }
  });
});
