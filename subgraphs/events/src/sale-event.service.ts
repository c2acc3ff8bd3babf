import { randomUUID } from 'node:crypto';
import DataLoader from 'dataloader';
import { PoisonMessageError, type AmqpMessage } from '@bth/platform/amqp';
import { errors } from '@bth/platform/errors';
import { requireAdmin, type Identity } from '@bth/platform/identity';
import { idKey, normalizeId } from '@bth/platform/ids';
import type { Logger } from '@bth/platform/logger';
import type { Metrics } from '@bth/platform/metrics';
import type { OutboxMessage } from '@bth/platform/outbox';
import { isUuid } from '@bth/platform/validation';
import type { SaleEventRow, SaleEventStatus } from './db/schema.js';
import type { ProductsClient } from './products.client.js';
import { cancelDecision, dueTransition, effectiveStatus, isActiveAt, isEditable } from './sale-event.lifecycle.js';
import type {
  QuerySaleEventsArgs,
  ResolversParentTypes,
  ResolversTypes,
  ResolversUnionTypes,
  SaleEventNotEditable,
} from './generated/graphql.js';
import { encodeCursor, toView, type SaleEventView } from './sale-event.model.js';
import type { DueKind, SaleEventRepository } from './sale-event.repository.js';
import {
  checkAgainstProduct,
  checkNoOverlap,
  validateCreateSaleEvent,
  validatePage,
  validateUpdateSaleEvent,
  type CreateSaleEventInput,
  type UpdateSaleEventInput,
} from './sale-event.validation.js';
import { SOLD_OUT_CONSUMER } from './topology.js';
import {
  SALE_ENDED,
  SALE_SCHEDULED,
  SALE_SOLD_OUT,
  SALE_STARTED,
  SALE_UPDATED,
  saleOutboxMessage,
  saleSoldOutSchema,
} from './sale.messages.js';

// Due events moved per transaction: bounds how long one transaction holds its row locks; when a
// batch comes back full, the next one follows at once instead of waiting for the next tick.
const TRANSITION_BATCH = 100;

/** A transition the scheduler made, for the log and the metric after the commit. */
interface Move {
  id: string;
  to: SaleEventStatus;
  reason: string;
}

/** The schema's types for what the service answers (events as views). */
export type SaleEventsArgs = QuerySaleEventsArgs;
type SaleEventConnectionView = ResolversParentTypes['SaleEventConnection'];
type UpdateSaleEventResult = ResolversUnionTypes<ResolversTypes>['UpdateSaleEventResult'];
type CancelSaleEventResult = ResolversUnionTypes<ResolversTypes>['CancelSaleEventResult'];

/** Ids are lower-case UUIDs; anything else names no event (and costs no query). */
const normaliseId = normalizeId;

function notEditable(
  row: SaleEventRow,
  change: 'edit' | 'cancel',
  now: Date,
): SaleEventNotEditable & { __typename: 'SaleEventNotEditable' } {
  const status = effectiveStatus(row, now);
  return {
    __typename: 'SaleEventNotEditable',
    message:
      change === 'edit'
        ? `Only a scheduled event can be edited before it starts; this one is ${status}`
        : `This event is ${status} and can no longer be cancelled`,
    eventId: row.id,
    status,
  };
}

/**
 * Sale events: admin operations with their rules, public reads, the scheduler's transitions and
 * the `sale.sold_out` consumer. Every status change writes its announcement to the outbox in the
 * same transaction; `onMessagesQueued` (the relay's kick) runs after the commit.
 */
export function createSaleEventService(deps: {
  repository: SaleEventRepository;
  products: ProductsClient;
  logger: Logger;
  metrics?: Metrics;
  /** Called after a commit that queued messages, so they leave now rather than at the next poll. */
  onMessagesQueued: () => void;
  now?: () => Date;
}) {
  const { repository, products, logger, onMessagesQueued } = deps;
  const now = deps.now ?? (() => new Date());
  const transitions = deps.metrics?.counter({
    name: 'sale_event_transitions_total',
    help: 'Sale event status changes, by new status and reason',
    labelNames: ['to', 'reason'],
  });

  /** One batch of due events moved in one transaction; returns how many were locked and what moved. */
  async function moveDue(kind: DueKind): Promise<{ locked: number; moved: Move[] }> {
    const at = now();
    return repository.transaction(async (tx) => {
      const due = await tx.lockDue(kind, at, TRANSITION_BATCH);
      const messages: OutboxMessage[] = [];
      const moved: Move[] = [];
      for (const row of due) {
        const next = dueTransition(row, at);
        if (!next) continue;
        const fields = next.to === 'LIVE' ? { openedAt: at } : { closedAt: at };
        if (!(await tx.transition(row.id, row.status, next.to, fields, at))) continue;
        const after: SaleEventRow = { ...row, ...fields, status: next.to, updatedAt: at };
        if (next.to === 'LIVE') {
          messages.push(saleOutboxMessage(after, SALE_STARTED));
          moved.push({ id: row.id, to: 'LIVE', reason: 'STARTED' });
        } else {
          messages.push(saleOutboxMessage(after, SALE_ENDED, next.reason));
          moved.push({ id: row.id, to: 'ENDED', reason: next.reason });
        }
      }
      await tx.enqueue(messages, at);
      return { locked: due.length, moved };
    });
  }

  async function loadByIds(ids: readonly string[]): Promise<Array<SaleEventView | null>> {
    const rows = await repository.findByIds(ids);
    const at = now();
    const byId = new Map(rows.map((row) => [row.id, toView(row, at)]));
    return ids.map((id) => byId.get(id) ?? null);
  }

  return {
    async createSaleEvent(identity: Identity | null, input: CreateSaleEventInput): Promise<SaleEventView> {
      requireAdmin(identity);
      const at = now();
      const { errors: fieldErrors, event } = validateCreateSaleEvent(input, at);
      // Asked before the transaction, so no lock is ever held across a network call.
      const regularPrice = isUuid(event.productId) ? await products.regularPrice(event.productId) : null;
      checkAgainstProduct(fieldErrors, event.salePrice, regularPrice);
      // The overlap check needs a real product and a real window (valid dates, end after start);
      // without them the list is complete. Negated so that a NaN (invalid date) also stops here.
      if (regularPrice === null || !(event.endsAt.getTime() > event.startsAt.getTime())) fieldErrors.throwIfAny();
      const row = await repository.transaction(async (tx) => {
        await tx.lockProduct(event.productId);
        checkNoOverlap(fieldErrors, event, await tx.findBlocking(event.productId));
        // Throwing rolls the lock row back too: a refused create writes nothing.
        fieldErrors.throwIfAny();
        const created: SaleEventRow = {
          id: randomUUID(),
          name: event.name,
          productId: event.productId,
          salePrice: event.salePrice,
          quantity: event.quantity,
          perUserLimit: event.perUserLimit,
          startsAt: event.startsAt,
          endsAt: event.endsAt,
          status: 'SCHEDULED',
          openedAt: null,
          closedAt: null,
          soldOutAt: null,
          createdAt: at,
          updatedAt: at,
        };
        await tx.insert(created);
        await tx.enqueue([saleOutboxMessage(created, SALE_SCHEDULED)], at);
        return created;
      });
      onMessagesQueued();
      logger.info('sale event scheduled', { eventId: row.id, productId: row.productId, startsAt: row.startsAt, endsAt: row.endsAt });
      return toView(row, at);
    },

    /**
     * The product cannot change, so only a new sale price needs products' answer; an unchanged one
     * is not held against a regular price changed since (a rename must not depend on products).
     */
    async updateSaleEvent(identity: Identity | null, id: string, input: UpdateSaleEventInput): Promise<UpdateSaleEventResult> {
      requireAdmin(identity);
      const key = normaliseId(id);
      const current = key ? await repository.findById(key) : undefined;
      if (!key || !current) throw errors.notFound('Sale event');
      const asked = now();
      if (!isEditable(current, asked)) return notEditable(current, 'edit', asked);
      const regularPrice = input.salePrice != null ? await products.regularPrice(current.productId) : undefined;
      const result = await repository.transaction(async (tx): Promise<UpdateSaleEventResult> => {
        await tx.lockProduct(current.productId);
        const locked = await tx.lockById(key);
        if (!locked) throw errors.notFound('Sale event');
        const at = now();
        if (!isEditable(locked, at)) return notEditable(locked, 'edit', at);
        // Merged with the locked row, so a concurrent edit of another field is not overwritten.
        const { errors: fieldErrors, terms } = validateUpdateSaleEvent(locked, input, at);
        if (regularPrice !== undefined) checkAgainstProduct(fieldErrors, terms.salePrice, regularPrice);
        checkNoOverlap(fieldErrors, terms, await tx.findBlocking(locked.productId, locked.id));
        fieldErrors.throwIfAny();
        if (!(await tx.updateTerms(locked.id, terms, at))) throw new Error(`sale event ${locked.id} changed under its lock`);
        const updated: SaleEventRow = { ...locked, ...terms, updatedAt: at };
        // Products sells by these terms from `startsAt` on, so it hears of every change at once.
        await tx.enqueue([saleOutboxMessage(updated, SALE_UPDATED)], at);
        return toView(updated, at);
      });
      if (result.__typename === 'SaleEvent') onMessagesQueued();
      return result;
    },

    async cancelSaleEvent(identity: Identity | null, id: string): Promise<CancelSaleEventResult> {
      requireAdmin(identity);
      const key = normaliseId(id);
      if (!key) throw errors.notFound('Sale event');
      const outcome = await repository.transaction(async (tx): Promise<{ result: CancelSaleEventResult; queued: boolean }> => {
        const row = await tx.lockById(key);
        if (!row) throw errors.notFound('Sale event');
        const at = now();
        switch (cancelDecision(row, at)) {
          case 'ALREADY_CANCELLED':
            return { result: toView(row, at), queued: false };
          case 'NOT_EDITABLE':
            return { result: notEditable(row, 'cancel', at), queued: false };
          case 'CANCEL': {
            // The row is locked, so the conditional update cannot miss; it still guards the status.
            if (!(await tx.transition(row.id, row.status, 'CANCELLED', { closedAt: at }, at)))
              throw new Error(`sale event ${row.id} changed under its lock`);
            const cancelled: SaleEventRow = { ...row, status: 'CANCELLED', closedAt: at, updatedAt: at };
            // Also for a SCHEDULED event: products keeps it as a tombstone, so a stray start is ignored.
            await tx.enqueue([saleOutboxMessage(cancelled, SALE_ENDED, 'CANCELLED')], at);
            return { result: toView(cancelled, at), queued: true };
          }
        }
      });
      if (outcome.queued) {
        onMessagesQueued();
        transitions?.inc({ to: 'CANCELLED', reason: 'CANCELLED' });
        logger.info('sale event cancelled', { eventId: key });
      }
      return outcome.result;
    },

    getSaleEvent(id: string, loader: DataLoader<string, SaleEventView | null>): Promise<SaleEventView | null> | null {
      const key = normaliseId(id);
      return key ? loader.load(key) : null;
    },

    async listSaleEvents(args: SaleEventsArgs): Promise<SaleEventConnectionView> {
      const page = validatePage(args.first, args.after);
      page.errors.throwIfAny();
      const rows = await repository.list({ status: args.status ?? null, after: page.after, limit: page.first + 1 });
      const at = now();
      const edges = rows.slice(0, page.first).map((row) => ({ cursor: encodeCursor(row), node: toView(row, at) }));
      return {
        edges,
        nodes: edges.map((edge) => edge.node),
        pageInfo: { hasNextPage: rows.length > page.first, endCursor: edges.at(-1)?.cursor ?? null },
      };
    },

    /** Per-request loaders: every SaleEvent and every Product.activeSale of a response in one query each. */
    createLoaders() {
      return {
        saleEvent: new DataLoader<string, SaleEventView | null>(loadByIds),
        activeSale: new DataLoader<string, SaleEventView | null>(async (productIds) => {
          const at = now();
          const valid = productIds.map((id) => normaliseId(id)).filter((id): id is string => id !== null);
          const active = new Map<string, SaleEventView>();
          // Soonest start first; the overlap rule allows only one active event per product anyway.
          for (const row of await repository.findOpenByProducts([...new Set(valid)])) {
            if (isActiveAt(row, at) && !active.has(row.productId)) active.set(row.productId, toView(row, at));
          }
          return productIds.map((id) => active.get(idKey(id)) ?? null);
        }),
      };
    },

    /**
     * One scheduler pass: opens what is due to open, then closes what is due to close, in batches.
     * Safe to run on every instance at once (rows are locked SKIP LOCKED and moved conditionally)
     * and after any downtime (what is due is read from the table, not remembered).
     */
    async runDueTransitions(): Promise<number> {
      let total = 0;
      for (const kind of ['OPEN', 'CLOSE'] as const) {
        for (;;) {
          const batch = await moveDue(kind);
          if (batch.moved.length > 0) {
            onMessagesQueued();
            total += batch.moved.length;
            for (const move of batch.moved) {
              transitions?.inc({ to: move.to, reason: move.reason });
              logger.info(move.to === 'LIVE' ? 'sale event opened' : 'sale event closed', { eventId: move.id, reason: move.reason });
            }
          }
          if (batch.locked < TRANSITION_BATCH) break;
        }
      }
      return total;
    },

    /**
     * The `sale.sold_out` consumer: records when an event's sale units first ran out. The inbox
     * claim and the update commit together, so a redelivered message id changes nothing; the ack
     * follows the commit (the AMQP client acks when this resolves).
     */
    async applySoldOut(message: AmqpMessage): Promise<void> {
      if (message.routingKey !== SALE_SOLD_OUT) throw new PoisonMessageError(`unexpected routing key ${message.routingKey}`);
      const parsed = saleSoldOutSchema.safeParse(message.payload);
      if (!parsed.success) {
        throw new PoisonMessageError(
          `not a sale.sold_out message: ${parsed.error.issues.map((i) => i.path.join('.') || '(root)').join(', ')}`,
        );
      }
      const eventId = parsed.data.eventId.toLowerCase();
      const productId = parsed.data.productId.toLowerCase();
      const outcome = await repository.transaction(async (tx) => {
        const at = now();
        if (!(await tx.claim(SOLD_OUT_CONSUMER, message.messageId, at))) return 'DUPLICATE';
        return (await tx.markSoldOut(eventId, productId, parsed.data.soldOutAt, at)) ? 'APPLIED' : 'UNCHANGED';
      });
      logger.info('sale.sold_out handled', { messageId: message.messageId, eventId, outcome });
    },
  };
}

export type SaleEventService = ReturnType<typeof createSaleEventService>;
export type SaleEventLoaders = ReturnType<SaleEventService['createLoaders']>;
