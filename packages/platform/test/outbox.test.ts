import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type ChannelModel } from 'amqplib';
import { dropTestDatabases, silentLogger, startTcpProxy, testDatabaseUrl, testExchange, waitFor, type TcpProxy } from '@bth/testkit';
import { createAmqp, deadLetterQueueName, queueName, PoisonMessageError, type AmqpClient, type AmqpMessage } from '../src/amqp.js';
import { createDatabase, ensureDatabase, migrate, type DatabaseClient } from '../src/db.js';
import { claimInbox, createOutboxRelay, enqueueMessages, messagingMigrations, type OutboxRelay } from '../src/outbox.js';

/** The outbox relay and the inbox against the real MariaDB and RabbitMQ (the broker behind a cuttable proxy). */
const exchange = testExchange('platform-outbox');
const url = testDatabaseUrl('outbox');
let database: DatabaseClient;
let proxy: TcpProxy;
let publisher: AmqpClient;
let consumer: AmqpClient;
let admin: ChannelModel;
const relays: OutboxRelay[] = [];
const received: AmqpMessage[] = [];

beforeAll(async () => {
  await ensureDatabase(url);
  database = createDatabase({ url, poolSize: 10, logger: silentLogger });
  // Empty folder of service migrations: only the shared messaging tables.
  await migrate(database, new URL('.', import.meta.url).pathname, silentLogger, messagingMigrations);
  proxy = await startTcpProxy({ port: 5672 });
  publisher = createAmqp({ url: proxy.url('amqp', 'guest:guest'), exchange, logger: silentLogger });
  consumer = createAmqp({ url: 'amqp://guest:guest@127.0.0.1:5672', exchange, logger: silentLogger });
  await Promise.all([publisher.waitForConnection(5_000), consumer.waitForConnection(5_000)]);
  await consumer.consume({
    queue: 'outbox-probe',
    bindings: ['probe.#'],
    maxAttempts: 3,
    handler: async (message) => {
      if ((message.payload as { poison?: boolean }).poison) throw new PoisonMessageError('poison for the test');
      // Apply once per message id, exactly as a service consumer does.
      const applied = await database.db.transaction((tx) => claimInbox(tx, 'probe', message.messageId, new Date()));
      if (applied) received.push(message);
    },
  });
  admin = await connect('amqp://guest:guest@127.0.0.1:5672');
});

afterAll(async () => {
  await Promise.all(relays.map((r) => r.stop()));
  await publisher?.close();
  await consumer?.close();
  await proxy?.close();
  const channel = await admin.createChannel();
  await channel.deleteQueue(queueName(exchange, 'outbox-probe'));
  await channel.deleteQueue(deadLetterQueueName(exchange, 'outbox-probe'));
  await channel.deleteExchange(exchange);
  await channel.deleteExchange(`${exchange}.dlx`);
  await admin.close();
  await database?.close();
  await dropTestDatabases();
});

function relay(client = publisher) {
  const created = createOutboxRelay({ db: database.db, amqp: client, logger: silentLogger, pollMs: 50 });
  relays.push(created);
  return created;
}

const enqueue = (payloads: unknown[]) =>
  database.db.transaction((tx) =>
    enqueueMessages(
      tx,
      payloads.map((payload) => ({ routingKey: 'probe.event', aggregateId: randomUUID(), payload })),
      new Date(),
    ),
  );

const unpublished = async () => {
  const [rows] = (await database.pool.query('SELECT COUNT(*) AS n FROM outbox WHERE published_at IS NULL')) as unknown as [{ n: number }[]];
  return Number(rows[0]!.n);
};

describe('outbox relay and inbox', () => {
  it('When messages are enqueued in a committed transaction, then each is published once with its id; a rolled-back one never is', async () => {
    const run = randomUUID();
    const ids = await enqueue([
      { run, n: 1 },
      { run, n: 2 },
    ]);
    const rolledBack = randomUUID();
    await database.db
      .transaction(async (tx) => {
        await enqueueMessages(tx, [{ routingKey: 'probe.event', aggregateId: randomUUID(), payload: { run: rolledBack } }], new Date());
        throw new Error('roll back');
      })
      .catch(() => undefined);
    const r = relay();
    r.start();
    await waitFor(() => ids.every((id) => received.some((m) => m.messageId === id)));
    expect(received.filter((m) => (m.payload as { run: string }).run === run).map((m) => (m.payload as { n: number }).n)).toEqual([1, 2]);
    await r.drain();
    expect(await unpublished()).toBe(0);
    expect(received.some((m) => (m.payload as { run: string }).run === rolledBack)).toBe(false);
    await r.stop();
  });

  it('When the broker is unreachable, then messages wait in the outbox and leave once it is back', async () => {
    const r = relay();
    r.start();
    proxy.block();
    await waitFor(() => !publisher.isConnected());
    const [id] = await enqueue([{ during: 'outage' }]);
    r.kick();
    await r.drain();
    expect(await unpublished()).toBe(1);
    proxy.unblock();
    await waitFor(() => received.some((m) => m.messageId === id), 20_000);
    expect(await unpublished()).toBe(0);
    await r.stop();
  });

  it('When the broker stops answering, then a publish is refused at the confirm deadline, the relay pass ends and records why, and the message leaves once the network flows again', async () => {
    const CONFIRM_MS = 1_000;
    const silent = await startTcpProxy({ port: 5672 });
    const client = createAmqp({ url: silent.url('amqp', 'guest:guest'), exchange, logger: silentLogger, confirmTimeoutMs: CONFIRM_MS });
    try {
      await client.waitForConnection(5_000);
      // Stalled well inside the 20 s the heartbeat takes to give up: only the confirm deadline can end the wait.
      silent.stall();
      const startedAt = Date.now();
      const refused = await client.publish('probe.direct', { stalled: true }, { messageId: randomUUID() }).then(
        () => null,
        (error: Error) => error.message,
      );
      const waitedMs = Date.now() - startedAt;
      expect(refused).toBe(`the broker did not confirm within ${CONFIRM_MS} ms`);
      expect(waitedMs).toBeGreaterThanOrEqual(CONFIRM_MS - 50);
      expect(waitedMs).toBeLessThan(CONFIRM_MS + 3_000);

      const [id] = await enqueue([{ during: 'stall' }]);
      const r = relay(client);
      await r.drain();
      const [rows] = (await database.pool.query('SELECT attempts, last_error, published_at FROM outbox WHERE message_id = ?', [
        id,
      ])) as unknown as [{ attempts: number; last_error: string | null; published_at: Date | null }[]];
      expect(rows[0]).toMatchObject({ attempts: 1, last_error: refused, published_at: null });

      silent.flow();
      r.start();
      await waitFor(() => received.some((m) => m.messageId === id), 20_000);
      await r.drain();
      expect(await unpublished()).toBe(0);
      await r.stop();
    } finally {
      await client.close();
      await silent.close();
    }
  });

  it('When three relays run at once, then every message is delivered exactly once', async () => {
    const extra = [
      createAmqp({ url: 'amqp://guest:guest@127.0.0.1:5672', exchange, logger: silentLogger }),
      createAmqp({ url: 'amqp://guest:guest@127.0.0.1:5672', exchange, logger: silentLogger }),
    ];
    await Promise.all(extra.map((c) => c.waitForConnection(5_000)));
    const group = [relay(), relay(extra[0]), relay(extra[1])];
    for (const r of group) r.start();
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) {
      ids.push(...(await enqueue(Array.from({ length: 5 }, (_, n) => ({ burst: i, n })))));
      for (const r of group) r.kick();
    }
    await waitFor(() => ids.every((id) => received.some((m) => m.messageId === id)), 20_000);
    await Promise.all(group.map((r) => r.stop()));
    const [rows] = (await database.pool.query('SELECT attempts FROM outbox WHERE message_id IN (?)', [ids])) as unknown as [
      { attempts: number }[],
    ];
    expect(rows.every((row) => row.attempts === 1)).toBe(true);
    await Promise.all(extra.map((c) => c.close()));
  });

  it('When a message is delivered twice, then the inbox applies it once', async () => {
    const id = randomUUID();
    await publisher.publish('probe.event', { twice: true }, { messageId: id });
    await publisher.publish('probe.event', { twice: true }, { messageId: id });
    const marker = randomUUID();
    await publisher.publish('probe.event', { marker }, { messageId: marker });
    // Both copies were consumed by the time the later message arrives (one consumer, in order).
    await waitFor(() => received.some((m) => m.messageId === marker));
    expect(received.filter((m) => m.messageId === id)).toHaveLength(1);
  });

  it('When a handler rejects a message as poison, then it goes to the dead-letter queue at once', async () => {
    const id = randomUUID();
    await publisher.publish('probe.event', { poison: true }, { messageId: id });
    const channel = await admin.createChannel();
    try {
      const dead = await waitFor(async () => channel.get(deadLetterQueueName(exchange, 'outbox-probe'), { noAck: true }), 10_000);
      expect(dead.properties.messageId).toBe(id);
      // At once: the first delivery was the only one.
      expect(dead.properties.headers?.['x-delivery-count'] ?? 0).toBe(0);
    } finally {
      await channel.close();
    }
  });
});
