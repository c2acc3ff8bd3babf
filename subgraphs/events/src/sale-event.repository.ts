import { and, asc, eq, gt, inArray, isNull, lte, ne, or, sql, type SQL } from 'drizzle-orm';
import { runTransaction, type Database, type Transaction } from '@bth/platform/db';
import { claimInbox, enqueueMessages, type OutboxMessage } from '@bth/platform/outbox';
import { saleEventProductLocks, saleEvents, type SaleEventRow, type SaleEventStatus } from './db/schema.js';
import { BLOCKING_STATUSES, type ListingKey } from './sale-event.model.js';
import type { SaleEventTerms } from './sale-event.validation.js';

type Executor = Database | Transaction;

/** The scheduler's two questions: scheduled events whose start has come, live events whose end has. */
export type DueKind = 'OPEN' | 'CLOSE';

/** Timestamps a status change may set besides the status itself. */
export type TransitionFields = Partial<Pick<SaleEventRow, 'openedAt' | 'closedAt'>>;

function reads(db: Executor) {
  return {
    async findById(id: string): Promise<SaleEventRow | undefined> {
      const [row] = await db.select().from(saleEvents).where(eq(saleEvents.id, id)).limit(1);
      return row;
    },

    async findByIds(ids: readonly string[]): Promise<SaleEventRow[]> {
      if (ids.length === 0) return [];
      return db
        .select()
        .from(saleEvents)
        .where(inArray(saleEvents.id, [...ids]));
    },

    /** SCHEDULED and LIVE events of these products in one query (the index on product_id, status). */
    async findOpenByProducts(productIds: readonly string[]): Promise<SaleEventRow[]> {
      if (productIds.length === 0) return [];
      return db
        .select()
        .from(saleEvents)
        .where(and(inArray(saleEvents.productId, [...productIds]), inArray(saleEvents.status, BLOCKING_STATUSES)))
        .orderBy(asc(saleEvents.startsAt));
    },

    /** Soonest start first, id breaking ties; `after` continues strictly behind a cursor. */
    async list(options: { status: SaleEventStatus | null; after: ListingKey | null; limit: number }): Promise<SaleEventRow[]> {
      const conditions: SQL[] = [];
      if (options.status) conditions.push(eq(saleEvents.status, options.status));
      if (options.after) {
        const { startsAt, id } = options.after;
        conditions.push(or(gt(saleEvents.startsAt, startsAt), and(eq(saleEvents.startsAt, startsAt), gt(saleEvents.id, id))) as SQL);
      }
      return db
        .select()
        .from(saleEvents)
        .where(conditions.length > 0 ? and(...conditions) : undefined)
        .orderBy(asc(saleEvents.startsAt), asc(saleEvents.id))
        .limit(options.limit);
    },
  };
}

/** Statements that only make sense inside a transaction (locks, writes, outbox, inbox). */
function writes(tx: Transaction) {
  return {
    ...reads(tx),

    /**
     * Takes the product's lock row exclusively, creating it on the product's first event, in one
     * statement (ON DUPLICATE KEY UPDATE locks the existing row X at once; see the migration for
     * why not INSERT IGNORE + FOR UPDATE). Held to commit: overlap checks of one product queue here.
     */
    async lockProduct(productId: string): Promise<void> {
      await tx
        .insert(saleEventProductLocks)
        .values({ productId })
        .onDuplicateKeyUpdate({ set: { productId: sql`${saleEventProductLocks.productId}` } });
    },

    /** The product's events that still claim their window (call with the product lock held). */
    async findBlocking(productId: string, excludeId?: string): Promise<SaleEventRow[]> {
      const conditions: SQL[] = [eq(saleEvents.productId, productId), inArray(saleEvents.status, BLOCKING_STATUSES)];
      if (excludeId) conditions.push(ne(saleEvents.id, excludeId));
      return tx
        .select()
        .from(saleEvents)
        .where(and(...conditions));
    },

    async lockById(id: string): Promise<SaleEventRow | undefined> {
      const [row] = await tx.select().from(saleEvents).where(eq(saleEvents.id, id)).limit(1).for('update');
      return row;
    },

    /**
     * Locks up to `limit` events due for `kind` at `now`, skipping rows another instance holds:
     * several schedulers can run at once and each due event is handled by exactly one of them.
     */
    async lockDue(kind: DueKind, now: Date, limit: number): Promise<SaleEventRow[]> {
      const [status, clock] = kind === 'OPEN' ? (['SCHEDULED', saleEvents.startsAt] as const) : (['LIVE', saleEvents.endsAt] as const);
      return tx
        .select()
        .from(saleEvents)
        .where(and(eq(saleEvents.status, status), lte(clock, now)))
        .orderBy(asc(clock))
        .limit(limit)
        .for('update', { skipLocked: true });
    },

    async insert(row: SaleEventRow): Promise<void> {
      await tx.insert(saleEvents).values(row);
    },

    /** Only while still SCHEDULED; false when the event moved on meanwhile. */
    async updateTerms(id: string, terms: SaleEventTerms, now: Date): Promise<boolean> {
      const [result] = await tx
        .update(saleEvents)
        .set({ ...terms, updatedAt: now })
        .where(and(eq(saleEvents.id, id), eq(saleEvents.status, 'SCHEDULED')));
      return result.affectedRows === 1;
    },

    /**
     * Moves the event from `from` to `to` only if it is still in `from` (a conditional UPDATE: of
     * two writers racing, exactly one sees the row change). True when this call made the move.
     */
    async transition(id: string, from: SaleEventStatus, to: SaleEventStatus, fields: TransitionFields, now: Date): Promise<boolean> {
      const [result] = await tx
        .update(saleEvents)
        .set({ ...fields, status: to, updatedAt: now })
        .where(and(eq(saleEvents.id, id), eq(saleEvents.status, from)));
      return result.affectedRows === 1;
    },

    /** Records the first sell-out only; false when the event is unknown or already has one. */
    async markSoldOut(eventId: string, productId: string, soldOutAt: Date, now: Date): Promise<boolean> {
      const [result] = await tx
        .update(saleEvents)
        .set({ soldOutAt, updatedAt: now })
        .where(and(eq(saleEvents.id, eventId), eq(saleEvents.productId, productId), isNull(saleEvents.soldOutAt)));
      return result.affectedRows === 1;
    },

    /** False when this message id was applied before (the inbox row is part of this transaction). */
    claim: (consumer: string, messageId: string, now: Date) => claimInbox(tx, consumer, messageId, now),

    /** Messages leave (through the relay) if and only if this transaction commits. */
    enqueue: (messages: OutboxMessage[], now: Date) => enqueueMessages(tx, messages, now),
  };
}

export type SaleEventWrites = ReturnType<typeof writes>;

/** The only place in `events` that speaks SQL (the outbox and inbox through platform's helpers). */
export function createSaleEventRepository(db: Database) {
  return {
    ...reads(db),

    /**
     * Runs `work` in one transaction with the statement set bound to it. A lock that cannot be had
     * within the session's bound (or a deadlock victim) becomes the coded, retryable LOCK_TIMEOUT.
     */
    transaction<T>(work: (tx: SaleEventWrites) => Promise<T>): Promise<T> {
      // Two admins scheduling sales of one product at once lock its row and insert beside each
      // other's gap locks, so one may be chosen as a deadlock victim within milliseconds. Its work
      // was rolled back whole and touches only this database, so running it again is safe and
      // what the caller would do anyway; a lock that is really held still ends in LOCK_TIMEOUT.
      return runTransaction(db, (tx) => work(writes(tx)), { deadlockRetries: 2 });
    },
  };
}

export type SaleEventRepository = ReturnType<typeof createSaleEventRepository>;
