import DataLoader from 'dataloader';
import { PoisonMessageError, type AmqpMessage } from '@bth/platform/amqp';
import { idKey, normalizeId } from '@bth/platform/ids';
import type { Logger } from '@bth/platform/logger';
import type { SaleRow } from './db/schema.js';
import type { ProductCache } from './product-cache.js';
import { SALE_ENDED, SALE_MESSAGE_STATUSES, SALE_STARTED, saleMessageSchema, type SaleMessage } from './sale.messages.js';
import type { SaleQueries, SaleRepository } from './sale.repository.js';

/** What one message does to inventory's row of its event (pure; see the ladder below). */
export type SaleChange =
  | { kind: 'INSERT'; status: SaleRow['status'] }
  | { kind: 'TERMS' }
  | { kind: 'OPEN' }
  | { kind: 'CLOSE'; status: 'ENDED' | 'CANCELLED' }
  | { kind: 'NONE'; why: string };

/**
 * Each event moves only forward here, so messages may arrive twice, late or out of order:
 *   no row ─scheduled/updated─▶ SCHEDULED ─started─▶ LIVE ─ended─▶ ENDED | CANCELLED
 *   SCHEDULED ─updated (newer revision)─▶ SCHEDULED with the new terms
 *   SCHEDULED ─ended─▶ ENDED | CANCELLED (cancelled before it opened, or MISSED)
 *   no row ─started─▶ LIVE;  no row ─ended─▶ ENDED | CANCELLED (a tombstone)
 * ENDED and CANCELLED are final: a late `scheduled`, `updated` or `started` never reopens them, and
 * nothing changes a LIVE sale's terms (events edits only scheduled sales). Whether a SCHEDULED or
 * LIVE sale sells right now is the clock's call (sale-window.ts), not this ladder's.
 */
export function decideSaleChange(
  routingKey: string,
  message: Pick<SaleMessage, 'status' | 'revision' | 'quantity'>,
  known: Pick<SaleRow, 'status' | 'revision' | 'sold'> | undefined,
): SaleChange {
  const closing = routingKey === SALE_ENDED;
  if (!known) return { kind: 'INSERT', status: message.status };
  if (known.status === 'ENDED' || known.status === 'CANCELLED') return { kind: 'NONE', why: `already ${known.status}` };
  if (closing) return { kind: 'CLOSE', status: message.status === 'CANCELLED' ? 'CANCELLED' : 'ENDED' };
  if (known.status === 'LIVE') return { kind: 'NONE', why: 'already LIVE' };
  // Sale units sold by the clock before a late change arrived are never taken back.
  if (message.quantity < known.sold) return { kind: 'NONE', why: `quantity ${message.quantity} below the ${known.sold} units sold` };
  if (routingKey === SALE_STARTED) return { kind: 'OPEN' };
  return message.revision > known.revision ? { kind: 'TERMS' } : { kind: 'NONE', why: 'not newer than the terms held' };
}

/**
 * Keeps inventory's view of sale events in step with the events subgraph's messages, and answers
 * `SaleEvent.remaining`. A duplicate (same message id) is dropped by the inbox; a different
 * message repeating a transition already made changes nothing (see `decideSaleChange`).
 */
export function createSaleService(deps: { repository: SaleRepository; cache: ProductCache; logger: Logger; now?: () => Date }) {
  const { repository, cache, logger } = deps;
  const now = deps.now ?? (() => new Date());

  function parse(message: AmqpMessage): SaleMessage {
    const parsed = saleMessageSchema.safeParse(message.payload);
    if (!parsed.success) throw new PoisonMessageError(`not a sale message: ${parsed.error.issues.map((i) => i.path.join('.')).join(', ')}`);
    const sale = parsed.data;
    const expected = Object.hasOwn(SALE_MESSAGE_STATUSES, message.routingKey) ? SALE_MESSAGE_STATUSES[message.routingKey]! : [];
    if (!expected.includes(sale.status)) throw new PoisonMessageError(`${message.routingKey} with status ${sale.status}`);
    if (sale.endsAt.getTime() <= sale.startsAt.getTime()) throw new PoisonMessageError(`${message.routingKey} with an empty window`);
    return { ...sale, eventId: sale.eventId.toLowerCase(), productId: sale.productId.toLowerCase() };
  }

  async function write(q: SaleQueries, change: SaleChange, sale: SaleMessage, at: Date): Promise<void> {
    const terms = {
      salePrice: sale.salePrice,
      quantity: sale.quantity,
      perUserLimit: sale.perUserLimit,
      startsAt: sale.startsAt,
      endsAt: sale.endsAt,
      revision: sale.revision,
      updatedAt: at,
    };
    switch (change.kind) {
      case 'INSERT':
        return q.insertSale({ ...terms, eventId: sale.eventId, productId: sale.productId, status: change.status });
      case 'TERMS':
        return q.updateSale(sale.eventId, terms);
      case 'OPEN':
        // The terms a sale opens with are final, whatever `sale.updated` got lost on the way.
        return q.updateSale(sale.eventId, { ...terms, status: 'LIVE' });
      case 'CLOSE':
        return q.updateSale(sale.eventId, { status: change.status, updatedAt: at });
      case 'NONE':
        return;
    }
  }

  /** What the message changed; anything but NONE changes the catalogue (its cache entries must go). */
  async function applyInTransaction(messageId: string, routingKey: string, sale: SaleMessage): Promise<SaleChange> {
    return repository.transaction(async (q) => {
      const at = now();
      if (!(await q.claim(messageId, at))) return { kind: 'NONE', why: 'duplicate message' };
      const productExists = await q.lockProduct(sale.productId);
      const change = decideSaleChange(routingKey, sale, await q.findSale(sale.eventId));
      await write(q, change, sale, at);
      if (change.kind !== 'NONE' && productExists) await q.refreshSalesUntil(sale.productId);
      return change;
    });
  }

  return {
    /** The `products.sales` consumer. Throws to have the message redelivered (database trouble). */
    async apply(message: AmqpMessage): Promise<void> {
      if (!Object.hasOwn(SALE_MESSAGE_STATUSES, message.routingKey))
        throw new PoisonMessageError(`unexpected routing key ${message.routingKey}`);
      const sale = parse(message);
      const change = await applyInTransaction(message.messageId, message.routingKey, sale);
      if (change.kind === 'NONE') {
        logger.info('sale message changed nothing', { routingKey: message.routingKey, eventId: sale.eventId, why: change.why });
        return;
      }
      // After the commit, as for every catalogue write: the product's windows and onSale listings change.
      await cache.invalidate([sale.productId], { listings: true });
      logger.info('sale applied', {
        routingKey: message.routingKey,
        eventId: sale.eventId,
        productId: sale.productId,
        change: change.kind,
      });
    },

    /** Per request: every `SaleEvent.remaining` of one response in one SELECT. */
    createSoldLoader(): DataLoader<string, number> {
      return new DataLoader(async (ids) => {
        const sold = await repository.soldByEvent(ids.flatMap((id) => normalizeId(id) ?? []));
        return ids.map((id) => sold.get(idKey(id)) ?? 0);
      });
    },
  };
}

export type SaleService = ReturnType<typeof createSaleService>;
