import DataLoader from 'dataloader';
import { PoisonMessageError, isUuid, type AmqpMessage, type Logger } from '@bth/platform';
import type { ProductCache } from './product-cache.js';
import { SALE_ENDED, SALE_STARTED, saleMessageSchema, type SaleMessage } from './sale.messages.js';
import type { SaleRepository } from './sale.repository.js';

/**
 * Keeps inventory's view of sale events in step with the events subgraph's messages, and answers
 * `SaleEvent.remaining`.
 *
 * Each event moves only forward here, so messages may arrive twice, late or out of order:
 *   no row ─started─▶ LIVE ─ended─▶ ENDED | CANCELLED
 *   no row ─ended──▶ ENDED | CANCELLED (a tombstone: a `started` arriving after it is ignored)
 * A duplicate (same message id) is dropped by the inbox; a different message repeating a
 * transition already made changes nothing.
 */
export function createSaleService(deps: { repository: SaleRepository; cache: ProductCache; logger: Logger; now?: () => Date }) {
  const { repository, cache, logger } = deps;
  const now = deps.now ?? (() => new Date());

  function parse(message: AmqpMessage): SaleMessage {
    const parsed = saleMessageSchema.safeParse(message.payload);
    if (!parsed.success) throw new PoisonMessageError(`not a sale message: ${parsed.error.issues.map((i) => i.path.join('.')).join(', ')}`);
    const sale = parsed.data;
    const expected = message.routingKey === SALE_STARTED ? ['LIVE'] : ['ENDED', 'CANCELLED'];
    if (!expected.includes(sale.status)) throw new PoisonMessageError(`${message.routingKey} with status ${sale.status}`);
    return { ...sale, eventId: sale.eventId.toLowerCase(), productId: sale.productId.toLowerCase() };
  }

  /** Returns whether the catalogue changed (then its cache entries must go). */
  async function applyInTransaction(messageId: string, routingKey: string, sale: SaleMessage): Promise<boolean> {
    return repository.transaction(async (q) => {
      const at = now();
      if (!(await q.claim(messageId, at))) return false;
      const productExists = await q.lockProduct(sale.productId);
      const known = await q.findSale(sale.eventId);
      const row = {
        eventId: sale.eventId,
        productId: sale.productId,
        salePrice: sale.salePrice,
        quantity: sale.quantity,
        perUserLimit: sale.perUserLimit,
        startsAt: sale.startsAt,
        endsAt: sale.endsAt,
        updatedAt: at,
      };
      if (routingKey === SALE_STARTED) {
        if (known) return false;
        await q.insertSale({ ...row, status: 'LIVE' });
        if (productExists) await q.showSale(sale.productId, row, at);
        return productExists;
      }
      const status = sale.status === 'CANCELLED' ? 'CANCELLED' : 'ENDED';
      if (!known) {
        await q.insertSale({ ...row, status });
        return false;
      }
      if (known.status !== 'LIVE') return false;
      await q.setSaleStatus(sale.eventId, status, at);
      if (productExists) await q.hideSale(sale.productId, sale.eventId, at);
      return productExists;
    });
  }

  return {
    /** The `products.sales` consumer. Throws to have the message redelivered (database trouble). */
    async apply(message: AmqpMessage): Promise<void> {
      if (message.routingKey !== SALE_STARTED && message.routingKey !== SALE_ENDED) {
        throw new PoisonMessageError(`unexpected routing key ${message.routingKey}`);
      }
      const sale = parse(message);
      const changed = await applyInTransaction(message.messageId, message.routingKey, sale);
      if (changed) {
        // After the commit, as for every catalogue write: onSale listings change too.
        await cache.invalidate([sale.productId], { listings: true });
        logger.info('sale applied', { routingKey: message.routingKey, eventId: sale.eventId, productId: sale.productId });
      }
    },

    /** Per request: every `SaleEvent.remaining` of one response in one SELECT. */
    createSoldLoader(): DataLoader<string, number> {
      return new DataLoader(async (ids) => {
        const sold = await repository.soldByEvent(ids.filter(isUuid).map((id) => id.toLowerCase()));
        return ids.map((id) => sold.get(id.toLowerCase()) ?? 0);
      });
    },
  };
}

export type SaleService = ReturnType<typeof createSaleService>;
