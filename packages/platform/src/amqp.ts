import { connect, type ChannelModel, type ConfirmChannel, type ConsumeMessage, type Options } from 'amqplib';
import { lagTolerantTimeout } from './deadline.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';

/**
 * RabbitMQ client that survives broker restarts.
 *
 * One connection, one confirm channel for publishing, one channel per consumer. On any close the
 * client reconnects with capped, jittered backoff and declares its whole topology again, then
 * resumes its consumers: every side declares what it uses, so start order never matters.
 *
 * Topology (names are prefixed by the exchange so parallel test runs never collide):
 *   <exchange>            durable topic exchange for domain events (`sale.started`, …)
 *   <exchange>.dlx        direct exchange receiving messages a consumer gave up on
 *   <exchange>.<queue>    quorum queue per consumer; `x-delivery-limit` dead-letters a message
 *                         after that many failed deliveries (a poison message cannot loop forever)
 *   <exchange>.<queue>.dlq  where those land, for a human to inspect
 */
export interface AmqpMessage<T = unknown> {
  messageId: string;
  routingKey: string;
  payload: T;
  /** 1 on first delivery; counts redeliveries after failures. */
  attempt: number;
  timestamp: Date | undefined;
}

/**
 * Thrown by a handler for a message that can never be applied (a payload that does not match the
 * contract): it goes to the dead-letter queue at once instead of being retried.
 */
export class PoisonMessageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PoisonMessageError';
  }
}

export interface ConsumerSpec {
  /** Short queue name; the full name is `<exchange>.<queue>`. */
  queue: string;
  bindings: string[];
  /**
   * Resolve = ack. Throw = retry later; after `maxAttempts` deliveries the message goes to the DLQ.
   * Throw `PoisonMessageError` = straight to the DLQ.
   */
  handler: (message: AmqpMessage) => Promise<void>;
  maxAttempts?: number;
  prefetch?: number;
}

export interface AmqpClient {
  readonly exchange: string;
  /**
   * Resolves once the broker confirmed the message; rejects when disconnected, nacked, or not
   * confirmed within the confirm deadline (the message may still arrive: callers resend, and
   * consumers drop repeats by message id).
   */
  publish(routingKey: string, payload: unknown, options: { messageId: string; timestamp?: Date }): Promise<void>;
  consume(spec: ConsumerSpec): Promise<void>;
  isConnected(): boolean;
  /** Resolves on the first successful connection, or rejects after `timeoutMs`. */
  waitForConnection(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

export interface AmqpOptions {
  url: string;
  exchange: string;
  logger: Logger;
  /** When given: `amqp_dead_letter_messages{queue}`, the depth of each consumer's dead-letter queue at scrape time. */
  metrics?: Metrics;
  /** How long a publish waits for the broker's confirm; `CONFIRM_TIMEOUT_MS` unless a test shortens it. */
  confirmTimeoutMs?: number;
}

/**
 * A healthy broker confirms a persistent message in milliseconds (tens when it is busy writing to
 * disk). 5 s is far past that, and well inside the ~20 s the heartbeat below takes to declare a
 * hung broker dead: a broker that stops answering costs the outbox relay one 5 s pass holding its
 * lease, not 20 s, and a dead-lettering consumer hands the message back after 5 s.
 */
export const CONFIRM_TIMEOUT_MS = 5_000;
/**
 * The TCP connect and AMQP handshake take milliseconds on a healthy broker. Heartbeats start only
 * once the handshake is done, so without this a broker that accepts connections but never answers
 * (hung, or stopped with SIGSTOP) would hold the reconnect loop forever; 10 s matches the heartbeat.
 */
export const CONNECT_TIMEOUT_MS = 10_000;

/** Publishes on a confirm channel and waits for the broker's confirm, at most `timeoutMs`. */
async function publishConfirmed(
  channel: ConfirmChannel,
  target: { exchange: string; routingKey: string },
  content: Buffer,
  options: Options.Publish,
  timeoutMs: number,
): Promise<void> {
  const deadline = lagTolerantTimeout(timeoutMs, `the broker did not confirm within ${timeoutMs} ms`);
  try {
    await Promise.race([
      new Promise<void>((resolve, reject) => {
        channel.publish(target.exchange, target.routingKey, content, options, (error) =>
          error ? reject(error instanceof Error ? error : new Error('amqp publish nacked')) : resolve(),
        );
      }),
      deadline.expired,
    ]);
  } finally {
    deadline.clear();
  }
}

export const queueName = (exchange: string, queue: string) => `${exchange}.${queue}`;
export const deadLetterQueueName = (exchange: string, queue: string) => `${exchange}.${queue}.dlq`;

/** What a consumer declares: the queue and its bindings, without the handler (read by `npm run dlq`). */
export type ConsumerTopology = Pick<ConsumerSpec, 'queue' | 'bindings' | 'maxAttempts'>;

/**
 * Headers a consumer adds when it dead-letters a message itself. AMQP's reject cannot carry a
 * reason, and the broker's `x-death` says only "rejected" or "delivery_limit" and resets the
 * delivery count, so the consumer republishes the message to the DLX with why and how often it
 * failed, and where it came from (what `npm run dlq -- replay` publishes it back to).
 */
export const DEAD_LETTER_HEADERS = {
  error: 'bth-error',
  deliveries: 'bth-deliveries',
  exchange: 'bth-original-exchange',
  routingKey: 'bth-original-routing-key',
  queue: 'bth-original-queue',
  at: 'bth-dead-lettered-at',
} as const;

export function createAmqp(options: AmqpOptions): AmqpClient {
  const { url, exchange, logger } = options;
  const confirmTimeoutMs = options.confirmTimeoutMs ?? CONFIRM_TIMEOUT_MS;
  const dlx = `${exchange}.dlx`;
  const consumers: ConsumerSpec[] = [];
  let model: ChannelModel | undefined;
  let publisher: ConfirmChannel | undefined;
  let closing = false;
  let attempt = 0;
  let reconnectTimer: NodeJS.Timeout | undefined;
  const connectedWaiters: Array<() => void> = [];

  async function declareConsumer(conn: ChannelModel, spec: ConsumerSpec) {
    const channel = await conn.createChannel();
    channel.on('error', (error) => logger.warn('amqp consumer channel error', { queue: spec.queue, error }));
    const name = queueName(exchange, spec.queue);
    const dlq = deadLetterQueueName(exchange, spec.queue);
    await channel.assertQueue(dlq, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    await channel.bindQueue(dlq, dlx, name);
    await channel.assertQueue(name, {
      durable: true,
      arguments: {
        'x-queue-type': 'quorum',
        'x-dead-letter-exchange': dlx,
        'x-dead-letter-routing-key': name,
        'x-delivery-limit': spec.maxAttempts ?? 5,
      },
    });
    for (const pattern of spec.bindings) await channel.bindQueue(name, exchange, pattern);
    // Small prefetch: messages are state transitions, cheap but ordered per product; no need to hoard.
    await channel.prefetch(spec.prefetch ?? 10);
    await channel.consume(name, (msg) => {
      if (msg) void handle(channel, spec, msg);
    });
  }

  /**
   * Moves a message to the DLQ with the reason: publish a copy to the DLX (confirmed), then ack the
   * original. A crash in between leaves the original to be redelivered, so the DLQ may hold a
   * copy twice; replay is deduplicated by message id like any delivery. Without the publisher
   * (broker just went away) it falls back to a plain reject: the broker dead-letters it with
   * `x-death` only.
   */
  async function deadLetter(
    channel: import('amqplib').Channel,
    spec: ConsumerSpec,
    msg: ConsumeMessage,
    reason: string,
    deliveries: number,
  ) {
    const name = queueName(exchange, spec.queue);
    try {
      const confirm = publisher;
      if (!confirm) throw new Error('amqp not connected');
      // The source queue's delivery count means nothing in the DLQ (the broker drops it too).
      const { 'x-delivery-count': _count, ...kept } = (msg.properties.headers ?? {}) as Record<string, unknown>;
      const headers = {
        ...kept,
        [DEAD_LETTER_HEADERS.error]: reason.slice(0, 500),
        [DEAD_LETTER_HEADERS.deliveries]: deliveries,
        [DEAD_LETTER_HEADERS.exchange]: msg.fields.exchange,
        [DEAD_LETTER_HEADERS.routingKey]: msg.fields.routingKey,
        [DEAD_LETTER_HEADERS.queue]: name,
        [DEAD_LETTER_HEADERS.at]: new Date().toISOString(),
      };
      await publishConfirmed(
        confirm,
        { exchange: dlx, routingKey: name },
        msg.content,
        { ...msg.properties, headers, persistent: true },
        confirmTimeoutMs,
      );
      channel.ack(msg);
    } catch {
      try {
        channel.nack(msg, false, false);
      } catch {
        // Channel already closed: the broker redelivers it, and it fails the same way again.
      }
    }
  }

  async function handle(channel: import('amqplib').Channel, spec: ConsumerSpec, msg: ConsumeMessage) {
    const deliveryCount = Number(msg.properties.headers?.['x-delivery-count'] ?? 0);
    let payload: unknown;
    try {
      payload = JSON.parse(msg.content.toString('utf8'));
    } catch {
      // Unparseable is never going to succeed: straight to the dead-letter queue.
      logger.error('amqp message is not JSON; dead-lettering', { queue: spec.queue, messageId: msg.properties.messageId });
      await deadLetter(channel, spec, msg, 'the body is not JSON', deliveryCount + 1);
      return;
    }
    const message: AmqpMessage = {
      messageId: String(msg.properties.messageId ?? ''),
      routingKey: msg.fields.routingKey,
      payload,
      attempt: deliveryCount + 1,
      timestamp: msg.properties.timestamp ? new Date(Number(msg.properties.timestamp) * 1000) : undefined,
    };
    if (!message.messageId) {
      // Consumers deduplicate by id; a message without one cannot be applied safely.
      logger.error('amqp message has no message id; dead-lettering', { queue: spec.queue, routingKey: message.routingKey });
      await deadLetter(channel, spec, msg, 'no message id (consumers deduplicate on it)', message.attempt);
      return;
    }
    try {
      await spec.handler(message);
      channel.ack(msg);
    } catch (error) {
      if (error instanceof PoisonMessageError) {
        logger.error('amqp message rejected as poison; dead-lettering', {
          queue: spec.queue,
          messageId: message.messageId,
          reason: error.message,
        });
        await deadLetter(channel, spec, msg, `poison: ${error.message}`, message.attempt);
        return;
      }
      if (message.attempt >= (spec.maxAttempts ?? 5)) {
        // The last allowed delivery failed: dead-letter it now with the error, rather than let the
        // broker's x-delivery-limit (the backstop for a consumer that dies mid-message) do it without one.
        logger.error('amqp handler failed on the last attempt; dead-lettering', {
          queue: spec.queue,
          messageId: message.messageId,
          attempt: message.attempt,
          error,
        });
        await deadLetter(
          channel,
          spec,
          msg,
          `failed ${message.attempt} times: ${error instanceof Error ? error.message : String(error)}`,
          message.attempt,
        );
        return;
      }
      logger.warn('amqp handler failed; will retry', { queue: spec.queue, messageId: message.messageId, attempt: message.attempt, error });
      // Back off a little before handing it back so a transient failure (DB restarting) can pass.
      setTimeout(
        () => {
          try {
            channel.nack(msg, false, true);
          } catch {
            // Channel already closed: the broker requeues unacked messages by itself.
          }
        },
        Math.min(100 * 2 ** message.attempt, 2_000),
      );
    }
  }

  async function establish() {
    // A 10 s heartbeat notices a dead broker (or a cut connection) quickly, so we reconnect instead of waiting on TCP.
    const target = new URL(url);
    if (!target.searchParams.has('heartbeat')) target.searchParams.set('heartbeat', '10');
    const conn = await connect(target.toString(), { timeout: CONNECT_TIMEOUT_MS });
    conn.on('error', (error) => logger.warn('amqp connection error', { error }));
    conn.on('close', () => {
      model = undefined;
      publisher = undefined;
      if (!closing) {
        logger.warn('amqp connection closed; reconnecting');
        schedule();
      }
    });
    const confirm = await conn.createConfirmChannel();
    confirm.on('error', (error) => logger.warn('amqp publish channel error', { error }));
    await confirm.assertExchange(exchange, 'topic', { durable: true });
    await confirm.assertExchange(dlx, 'direct', { durable: true });
    for (const spec of consumers) await declareConsumer(conn, spec);
    model = conn;
    publisher = confirm;
    attempt = 0;
    logger.info('amqp connected', { exchange });
    for (const resolve of connectedWaiters.splice(0)) resolve();
  }

  function schedule() {
    if (closing || reconnectTimer) return;
    attempt += 1;
    // Capped exponential backoff with jitter: a restarting broker is back within seconds,
    // and many services reconnecting at once should not arrive in lockstep.
    const delay = Math.min(100 * 2 ** attempt, 5_000) * (0.8 + Math.random() * 0.4);
    reconnectTimer = setTimeout(() => {
      reconnectTimer = undefined;
      establish().catch((error) => {
        logger.warn('amqp connect failed', { attempt, error: (error as Error).message });
        schedule();
      });
    }, delay);
  }

  establish().catch((error) => {
    logger.warn('amqp connect failed', { error: (error as Error).message });
    schedule();
  });

  options.metrics?.gauge({
    name: 'amqp_dead_letter_messages',
    help: "Messages waiting in this service's dead-letter queues",
    labelNames: ['queue'],
    // A channel of its own per scrape (every 15 s): a failed check closes only that channel, never
    // the publisher's. Disconnected: the last values stay.
    async collect() {
      if (!model) return;
      const channel = await model.createChannel().catch(() => undefined);
      if (!channel) return;
      channel.on('error', () => undefined);
      try {
        for (const spec of consumers) {
          const { messageCount } = await channel.checkQueue(deadLetterQueueName(exchange, spec.queue));
          this.set({ queue: spec.queue }, messageCount);
        }
      } catch {
        // The broker went away mid-scrape; the next scrape tries again.
      } finally {
        await channel.close().catch(() => undefined);
      }
    },
  });

  return {
    exchange,
    async publish(routingKey, payload, { messageId, timestamp = new Date() }) {
      const channel = publisher;
      if (!channel) throw new Error('amqp not connected');
      await publishConfirmed(
        channel,
        { exchange, routingKey },
        Buffer.from(JSON.stringify(payload)),
        { persistent: true, messageId, timestamp: Math.floor(timestamp.getTime() / 1000), contentType: 'application/json' },
        confirmTimeoutMs,
      );
    },
    async consume(spec) {
      consumers.push(spec);
      if (model) await declareConsumer(model, spec);
    },
    isConnected: () => model !== undefined,
    waitForConnection(timeoutMs) {
      if (model) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`RabbitMQ not reachable within ${timeoutMs} ms`)), timeoutMs);
        connectedWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
    async close() {
      closing = true;
      if (reconnectTimer) clearTimeout(reconnectTimer);
      await model?.close().catch(() => undefined);
      model = undefined;
    },
  };
}
