import { randomUUID } from 'node:crypto';
import { and, asc, eq, isNotNull, isNull, lt, sql } from 'drizzle-orm';
import { bigint, char, int, mysqlTable, text, varchar } from 'drizzle-orm/mysql-core';
import type { AmqpClient } from './amqp.js';
import { createPeriodicTask } from './periodic.js';
import { insertUnlessDuplicate, runTransaction, timestampColumn, type Database, type Migration, type Transaction } from './db.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import { captureTraceContext, withTraceContext } from './telemetry.js';

/**
 * Transactional outbox and inbox, shared by every service that publishes or consumes domain
 * events (principle 3: events leave only after commit, consumers drop duplicates).
 *
 *   producer transaction ── INSERT outbox row ──▶ commit
 *   relay ── lease (one instance at a time) ── publish with confirm ── mark published
 *   consumer transaction ── INSERT inbox row (duplicate → skip) ── apply ── commit ── ack
 *
 * A service that publishes or consumes passes `messagingMigrations` to `migrate`, which creates the
 * three tables in its own database. This module is the only code that reads or writes them.
 */

export const outbox = mysqlTable('outbox', {
  id: bigint('id', { mode: 'number' }).autoincrement().primaryKey(),
  messageId: char('message_id', { length: 36 }).notNull(),
  routingKey: varchar('routing_key', { length: 100 }).notNull(),
  aggregateId: char('aggregate_id', { length: 36 }).notNull(),
  /** JSON text of the message body. */
  payload: text('payload').notNull(),
  createdAt: timestampColumn('created_at').notNull(),
  publishedAt: timestampColumn('published_at'),
  attempts: int('attempts').notNull().default(0),
  lastError: varchar('last_error', { length: 500 }),
  /** W3C traceparent of the request that wrote the row (tracing on), so the message continues its trace. */
  traceContext: varchar('trace_context', { length: 64 }),
});

/** One row named `relay`: whoever holds it FOR UPDATE is the one instance publishing right now. */
export const outboxRelayLease = mysqlTable('outbox_relay_lease', {
  name: varchar('name', { length: 32 }).primaryKey(),
});

/** Message ids a consumer has applied; the primary key is the duplicate check. */
export const inbox = mysqlTable('inbox', {
  messageId: varchar('message_id', { length: 64 }).primaryKey(),
  consumer: varchar('consumer', { length: 64 }).notNull(),
  processedAt: timestampColumn('processed_at').notNull(),
});

export type OutboxRow = typeof outbox.$inferSelect;

export const messagingMigration: Migration = {
  name: 'platform-messaging-v1',
  statements: [
    // Rows leave in id order; message_id is the AMQP message id consumers deduplicate on.
    `CREATE TABLE IF NOT EXISTS outbox (
      id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
      message_id CHAR(36) NOT NULL,
      routing_key VARCHAR(100) NOT NULL,
      aggregate_id CHAR(36) NOT NULL,
      payload TEXT NOT NULL,
      created_at DATETIME(3) NOT NULL,
      published_at DATETIME(3) NULL,
      attempts INT NOT NULL DEFAULT 0,
      last_error VARCHAR(500) NULL,
      UNIQUE KEY outbox_message_id_unique (message_id),
      KEY outbox_pending_idx (published_at, id),
      KEY outbox_aggregate_idx (aggregate_id)
    ) ENGINE=InnoDB`,
    `CREATE TABLE IF NOT EXISTS outbox_relay_lease (name VARCHAR(32) NOT NULL PRIMARY KEY) ENGINE=InnoDB`,
    `INSERT IGNORE INTO outbox_relay_lease (name) VALUES ('relay')`,
    `CREATE TABLE IF NOT EXISTS inbox (
      message_id VARCHAR(64) NOT NULL PRIMARY KEY,
      consumer VARCHAR(64) NOT NULL,
      processed_at DATETIME(3) NOT NULL,
      KEY inbox_processed_idx (processed_at)
    ) ENGINE=InnoDB`,
  ],
};

/** Adds the trace context column (platform-messaging-v1 tables predate tracing). */
export const messagingTraceMigration: Migration = {
  name: 'platform-messaging-v2-trace',
  statements: [`ALTER TABLE outbox ADD COLUMN IF NOT EXISTS trace_context VARCHAR(64) NULL`],
};

/** What a service that publishes or consumes passes to `migrate`, in order. */
export const messagingMigrations: Migration[] = [messagingMigration, messagingTraceMigration];

export interface OutboxMessage {
  routingKey: string;
  /** The entity the message is about (sale event id, …), for reading the outbox by hand. */
  aggregateId: string;
  payload: unknown;
}

/**
 * Writes messages in the caller's transaction: they are published if and only if it commits.
 * Returns the message ids (consumers deduplicate on them).
 */
export async function enqueueMessages(tx: Transaction, messages: OutboxMessage[], now: Date): Promise<string[]> {
  if (messages.length === 0) return [];
  const traceContext = captureTraceContext() ?? null;
  const rows = messages.map((m) => ({
    messageId: randomUUID(),
    routingKey: m.routingKey,
    aggregateId: m.aggregateId,
    payload: JSON.stringify(m.payload),
    createdAt: now,
    traceContext,
  }));
  await tx.insert(outbox).values(rows);
  return rows.map((r) => r.messageId);
}

/**
 * Records that `messageId` is being applied by `consumer`, in the consumer's own transaction.
 * False when it was applied before: the caller skips the work and acks. If the transaction rolls
 * back, the record goes with it, so a redelivery is applied again.
 */
export async function claimInbox(tx: Transaction, consumer: string, messageId: string, now: Date): Promise<boolean> {
  return insertUnlessDuplicate(() => tx.insert(inbox).values({ messageId, consumer, processedAt: now }));
}

export interface OutboxRelayOptions {
  db: Database;
  amqp: AmqpClient;
  logger: Logger;
  metrics?: Metrics;
  /**
   * Fallback poll. Producers call `kick()` after each commit, so a message normally leaves within
   * milliseconds; the poll picks up what a kick missed (another instance's commit, a broker that
   * was down). 500 ms keeps "announced within a second" true with one idle query per tick.
   */
  pollMs?: number;
  /** Rows per lease: bounds how long the lease transaction stays open. */
  batch?: number;
  /** Published rows are kept this long for inspection, then deleted. */
  retentionMs?: number;
  now?: () => Date;
}

export interface OutboxRelay {
  start(): void;
  /** Publish now instead of at the next poll (coalesces while a pass is running). */
  kick(): void;
  /** Runs one pass and resolves with how many messages it published (tests, shutdown). */
  drain(): Promise<number>;
  stop(): Promise<void>;
}

const DAY_MS = 86_400_000;

export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { db, amqp, logger } = options;
  const pollMs = options.pollMs ?? 500;
  const batch = options.batch ?? 100;
  const retentionMs = options.retentionMs ?? DAY_MS;
  const now = options.now ?? (() => new Date());
  const published = options.metrics?.counter({
    name: 'outbox_published_total',
    help: 'Outbox messages confirmed by the broker',
    labelNames: ['routing_key'],
  });
  const failures = options.metrics?.counter({
    name: 'outbox_publish_failures_total',
    help: 'Outbox publish attempts that were not confirmed',
  });
  // Outbox lag, read at scrape time with one query on the pending index (both gauges share it).
  let backlog: Promise<{ pending: number; oldestSeconds: number } | null> | undefined;
  const readBacklog = () =>
    (backlog ??= db
      .select({ pending: sql<number>`COUNT(*)`, oldest: sql<Date | null>`MIN(${outbox.createdAt})` })
      .from(outbox)
      .where(isNull(outbox.publishedAt))
      .then(([row]) => {
        const oldest = row?.oldest ? new Date(row.oldest) : null;
        return { pending: Number(row?.pending ?? 0), oldestSeconds: oldest ? Math.max(0, (now().getTime() - oldest.getTime()) / 1000) : 0 };
      })
      .catch(() => null)
      .finally(() => setImmediate(() => (backlog = undefined))));
  options.metrics?.gauge({
    name: 'outbox_pending_messages',
    help: 'Outbox messages not yet confirmed by the broker',
    async collect() {
      const read = await readBacklog();
      if (read) this.set(read.pending);
    },
  });
  options.metrics?.gauge({
    name: 'outbox_oldest_pending_seconds',
    help: 'Age of the oldest outbox message not yet confirmed by the broker (0 when none wait): the outbox lag',
    async collect() {
      const read = await readBacklog();
      if (read) this.set(read.oldestSeconds);
    },
  });

  let passes = 0;

  /**
   * One pass under the lease. Rows go out in id order and the pass stops at the first failure, so
   * a message is never overtaken by a later one about the same event. Publishing happens while
   * the lease transaction is open: if this process dies mid-pass, the transaction rolls back, the
   * rows stay unpublished and the next holder sends them again — at-least-once, which is why
   * consumers deduplicate by message id.
   */
  async function pass(): Promise<number> {
    if (!amqp.isConnected()) return 0;
    const sent = await runTransaction(db, async (tx) => {
      const lease = await tx.select().from(outboxRelayLease).where(eq(outboxRelayLease.name, 'relay')).for('update', { skipLocked: true });
      if (lease.length === 0) return 0;
      const rows = await tx.select().from(outbox).where(isNull(outbox.publishedAt)).orderBy(asc(outbox.id)).limit(batch);
      let count = 0;
      for (const row of rows) {
        try {
          // Published inside the writer's trace: the amqplib instrumentation carries it in the headers.
          await withTraceContext(row.traceContext, () =>
            amqp.publish(row.routingKey, JSON.parse(row.payload), { messageId: row.messageId, timestamp: row.createdAt }),
          );
        } catch (error) {
          failures?.inc();
          const message = (error as Error).message.slice(0, 500);
          await tx
            .update(outbox)
            .set({ attempts: sql`${outbox.attempts} + 1`, lastError: message })
            .where(eq(outbox.id, row.id));
          logger.warn('outbox publish failed; will retry', { messageId: row.messageId, routingKey: row.routingKey, error: message });
          break;
        }
        await tx
          .update(outbox)
          .set({ publishedAt: now(), attempts: sql`${outbox.attempts} + 1` })
          .where(eq(outbox.id, row.id));
        published?.inc({ routing_key: row.routingKey });
        count += 1;
      }
      // Now and then, under the same lease, forget what was published long ago.
      if (++passes % 100 === 0) {
        await tx.delete(outbox).where(and(isNotNull(outbox.publishedAt), lt(outbox.publishedAt, new Date(now().getTime() - retentionMs))));
      }
      return count;
    });
    if (sent > 0) logger.debug('outbox published', { count: sent });
    return sent;
  }

  /** Passes until a batch comes back short (more may be waiting after a full one), or stop. */
  let lastRunTotal = 0;
  const loop = createPeriodicTask({
    name: 'outbox relay',
    intervalMs: pollMs,
    logger,
    async run(signal) {
      lastRunTotal = 0;
      let sent: number;
      do {
        sent = await pass();
        lastRunTotal += sent;
      } while (sent === batch && !signal.aborted);
    },
  });

  let started = false;
  return {
    start() {
      started = true;
      loop.start();
    },
    kick() {
      if (started) void loop.runNow();
    },
    drain: () => loop.runNow().then(() => lastRunTotal),
    stop() {
      started = false;
      return loop.stop();
    },
  };
}
