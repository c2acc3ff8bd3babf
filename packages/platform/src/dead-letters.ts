import { createHash } from 'node:crypto';
import { connect, type Channel, type ChannelModel, type ConfirmChannel, type GetMessage } from 'amqplib';
import { DEAD_LETTER_HEADERS, deadLetterQueueName, queueName, type ConsumerTopology } from './amqp.js';

/**
 * Reading and repairing the dead-letter queues (`npm run dlq`). A DLQ is a quorum queue, which
 * AMQP cannot browse: a look is `basic.get` of every message without ack, then closing the channel
 * hands them all back unchanged (in order, only their DLQ `x-delivery-count` grows; on RabbitMQ
 * ≥ 4.0 give the DLQs an unlimited delivery limit by policy, or its default of 20 drops a message
 * looked at 20 times). Replay acks a message only after its copy was confirmed and routed.
 */

export interface DeadLetterQueue {
  /** Service that declared the consumer. */
  service: string;
  /** The consumer's queue, e.g. `bth.events.products.sales`. */
  source: string;
  /** Its dead-letter queue, `<source>.dlq`. */
  name: string;
}

export interface DeadLetter {
  /** The AMQP message id (what consumers deduplicate on), or `#<hash of the body>` without one. */
  id: string;
  queue: string;
  /** Where the message was first published, and where `replay` publishes it again. */
  exchange: string | undefined;
  routingKey: string | undefined;
  /** `x-first-death-reason` (rejected, delivery_limit, expired) or `rejected` for the consumer's own dead-lettering. */
  reason: string;
  /** The consumer's error (`bth-error`), when it dead-lettered the message itself. */
  error: string | undefined;
  /** Deliveries to the consumer before it gave up; undefined when the broker gave up (its limit). */
  deliveries: number | undefined;
  deadLetteredAt: string | undefined;
  publishedAt: string | undefined;
  body: string;
  headers: Record<string, unknown>;
}

/** Every dead-letter queue the services declare, from their exported consumer topology. */
export function deadLetterQueues(exchange: string, services: Array<{ service: string; consumers: ConsumerTopology[] }>): DeadLetterQueue[] {
  return services.flatMap(({ service, consumers }) =>
    consumers.map((c) => ({ service, source: queueName(exchange, c.queue), name: deadLetterQueueName(exchange, c.queue) })),
  );
}

const BROKER_HEADERS = /^x-(death|first-death-|last-death-|delivery-count)/;

function header(headers: Record<string, unknown>, name: string): string | undefined {
  const value = headers[name];
  if (value === undefined || value === null) return undefined;
  return Buffer.isBuffer(value) ? value.toString('utf8') : String(value);
}

function readLetter(queue: string, msg: GetMessage): DeadLetter {
  const headers = (msg.properties.headers ?? {}) as Record<string, unknown>;
  const death = (
    headers['x-death'] as Array<{ exchange?: string; 'routing-keys'?: string[]; time?: Date | { value: number } }> | undefined
  )?.[0];
  const body = msg.content.toString('utf8');
  const messageId = msg.properties.messageId ? String(msg.properties.messageId) : undefined;
  const deliveries = header(headers, DEAD_LETTER_HEADERS.deliveries);
  const deathTime = death?.time instanceof Date ? death.time : death?.time ? new Date(Number(death.time.value) * 1000) : undefined;
  return {
    id: messageId ?? `#${createHash('sha256').update(msg.content).digest('hex').slice(0, 12)}`,
    queue,
    exchange: header(headers, DEAD_LETTER_HEADERS.exchange) ?? death?.exchange ?? header(headers, 'x-first-death-exchange'),
    routingKey: header(headers, DEAD_LETTER_HEADERS.routingKey) ?? death?.['routing-keys']?.[0],
    reason: header(headers, 'x-first-death-reason') ?? 'rejected',
    error: header(headers, DEAD_LETTER_HEADERS.error),
    deliveries: deliveries === undefined ? undefined : Number(deliveries),
    deadLetteredAt: header(headers, DEAD_LETTER_HEADERS.at) ?? deathTime?.toISOString(),
    publishedAt: msg.properties.timestamp ? new Date(Number(msg.properties.timestamp) * 1000).toISOString() : undefined,
    body,
    headers,
  };
}

export interface DeadLetterTool {
  /** Messages in the queue, oldest first (at most `limit`), or null when the queue was never declared. */
  list(queue: DeadLetterQueue, limit?: number): Promise<DeadLetter[] | null>;
  /**
   * Publishes the messages with these ids (every copy; `all`: every message) back to their
   * original exchange and routing key, then removes them from the DLQ. Returns what was replayed
   * and what could not be (no known origin, or no queue bound to it any more).
   */
  replay(
    queue: DeadLetterQueue,
    ids: string[] | 'all',
  ): Promise<{ replayed: DeadLetter[]; failed: Array<{ letter: DeadLetter; reason: string }> }>;
  /** Empties the queue; resolves with how many messages it dropped (0 when never declared). */
  purge(queue: DeadLetterQueue): Promise<number>;
  close(): Promise<void>;
}

// A DLQ holds what went wrong, a handful normally; a look holds every message unacked in this
// process, so it stops at this many.
const DEFAULT_LIMIT = 10_000;

export async function createDeadLetterTool(options: { url: string }): Promise<DeadLetterTool> {
  // 5 s to open the connection: a local or in-cluster broker answers in milliseconds, and an
  // operator at a terminal should hear "not reachable" promptly rather than wait on TCP.
  const conn: ChannelModel = await connect(options.url, { timeout: 5_000 });
  conn.on('error', () => undefined);

  /** A fresh channel per step: checking a queue that does not exist closes the channel it was asked on. */
  async function exists(name: string): Promise<boolean> {
    const channel = await conn.createChannel();
    channel.on('error', () => undefined);
    try {
      await channel.checkQueue(name);
      await channel.close();
      return true;
    } catch {
      return false;
    }
  }

  /** Takes every message (unacked) on `channel`; closing the channel without ack puts them back. */
  async function takeAll(channel: Channel, queue: string, limit: number): Promise<GetMessage[]> {
    const taken: GetMessage[] = [];
    while (taken.length < limit) {
      const msg = await channel.get(queue, { noAck: false });
      if (!msg) break;
      taken.push(msg);
    }
    return taken;
  }

  async function publishBack(confirm: ConfirmChannel, letter: DeadLetter, msg: GetMessage, returned: Set<string>): Promise<void> {
    const headers = Object.fromEntries(
      // The copy goes out as it first did: without the broker's and the consumer's dead-letter notes.
      Object.entries(letter.headers).filter(([key]) => !BROKER_HEADERS.test(key) && !key.startsWith('bth-')),
    );
    const tag = `${letter.id}:${msg.fields.deliveryTag}`;
    await new Promise<void>((resolve, reject) => {
      // mandatory: a message no queue takes comes back (basic.return before the confirm) instead
      // of vanishing; it then stays in the DLQ.
      confirm.publish(
        letter.exchange!,
        letter.routingKey!,
        msg.content,
        { ...msg.properties, headers: { ...headers, 'bth-replay-tag': tag }, persistent: true, mandatory: true },
        (error) => (error ? reject(error instanceof Error ? error : new Error('the broker refused the message')) : resolve()),
      );
    });
    if (returned.has(tag)) throw new Error(`no queue is bound to ${letter.exchange} / ${letter.routingKey} any more`);
  }

  return {
    async list(queue, limit = DEFAULT_LIMIT) {
      if (!(await exists(queue.name))) return null;
      const channel = await conn.createChannel();
      try {
        return (await takeAll(channel, queue.name, limit)).map((msg) => readLetter(queue.name, msg));
      } finally {
        await channel.close();
      }
    },

    async replay(queue, ids) {
      const replayed: DeadLetter[] = [];
      const failed: Array<{ letter: DeadLetter; reason: string }> = [];
      if (!(await exists(queue.name))) return { replayed, failed };
      const channel = await conn.createChannel();
      const confirm = await conn.createConfirmChannel();
      const returned = new Set<string>();
      confirm.on('return', (msg) => returned.add(String(msg.properties.headers?.['bth-replay-tag'] ?? '')));
      try {
        for (const msg of await takeAll(channel, queue.name, DEFAULT_LIMIT)) {
          const letter = readLetter(queue.name, msg);
          if (ids !== 'all' && !ids.includes(letter.id)) continue;
          if (!letter.exchange || !letter.routingKey) {
            failed.push({ letter, reason: 'its original exchange and routing key are unknown' });
            continue;
          }
          try {
            await publishBack(confirm, letter, msg, returned);
            channel.ack(msg);
            replayed.push(letter);
          } catch (error) {
            failed.push({ letter, reason: (error as Error).message });
          }
        }
      } finally {
        await confirm.close().catch(() => undefined);
        // Hands back every message that was not replayed.
        await channel.close().catch(() => undefined);
      }
      return { replayed, failed };
    },

    async purge(queue) {
      if (!(await exists(queue.name))) return 0;
      const channel = await conn.createChannel();
      try {
        return (await channel.purgeQueue(queue.name)).messageCount;
      } finally {
        await channel.close();
      }
    },

    async close() {
      await conn.close().catch(() => undefined);
    },
  };
}
