import { lagTolerantTimeout } from '@bth/platform/deadline';
import type { Logger } from '@bth/platform/logger';
import type { Redis } from '@bth/platform/redis';
import type { ReserveOutcome } from './inventory.client.js';
import { withMessage, type Rejection } from './order.view.js';
import type { OrderLineInput } from './validation.js';

/**
 * The sold-out fast path of orders (issue 10, target 6): once a product is sold out, a buyer of it
 * is refused here — no order row, no inventory call, no transaction — instead of taking the
 * whole order path to hear "sold out" from products.
 *
 * The authority is the sold-out marker that PRODUCTS keeps in Redis (docs/internal-apis.md,
 * "Sold-out marker"; products/src/sold-out-marker.ts): it exists only while the product's stock
 * is 0, and products deletes it inside every transaction that puts stock back, before that
 * transaction commits. So a marker read here says "no unit is left right now", and a refusal
 * based on it can never turn a buyer away while units remain. This process only keeps a hint —
 * which products inventory recently answered with nothing left — to decide whether to look, so
 * an ordinary order costs no Redis round trip; a stale hint costs one GET, never a wrong answer.
 *
 * The answer: `SaleSoldOut` (remaining 0) for a line of the sale that products recorded as sold
 * out when it set the marker, `InsufficientStock` (available 0) for any other line. Both are
 * true (the stock is 0); products might have named a more specific reason (a member already at
 * the sale's limit hears "sold out" here, not "over the limit").
 */
export const soldOutMarkerKey = (productId: string) => `inventory:sold-out:${productId}`;

// A healthy Redis answers on loopback in well under a millisecond. Past this the order simply
// takes the normal path (products decides), so a slow or hung Redis costs at most this much.
const MARKER_READ_TIMEOUT_MS = 100;
// The hint is a cache of product ids; a flash sale has a handful. Cleared whole if ever this big.
const MAX_HINTS = 10_000;

export function createSoldOutCheck(deps: { redis?: Redis; logger: Logger }) {
  const { redis, logger } = deps;
  const hinted = new Set<string>();

  async function readMarker(productId: string): Promise<string | null | undefined> {
    // Lag-tolerant, so a burst that lags the event loop does not discard an answer already read.
    const deadline = lagTolerantTimeout(MARKER_READ_TIMEOUT_MS);
    try {
      return await Promise.race([redis!.get(soldOutMarkerKey(productId)), deadline.expired]);
    } catch (error) {
      logger.debug('sold-out marker unreadable or late; asking inventory', { error: (error as Error).message });
      return undefined;
    } finally {
      deadline.clear();
    }
  }

  return {
    /** Remembers products inventory answered with nothing left (only then is the marker worth a look). */
    note(outcome: ReserveOutcome): void {
      if (!redis) return;
      const empty =
        (outcome.outcome === 'INSUFFICIENT_STOCK' && outcome.available === 0) ||
        (outcome.outcome === 'SALE_SOLD_OUT' && outcome.remaining === 0);
      if (!empty) return;
      if (hinted.size >= MAX_HINTS) hinted.clear();
      hinted.add(outcome.productId);
    },

    /**
     * The refusal for a one-product order of a product marked sold out; undefined when the order
     * must take the normal path (several products, no marker, Redis unreadable).
     */
    async refusal(lines: readonly OrderLineInput[]): Promise<Rejection | undefined> {
      if (!redis || lines.length !== 1) return undefined;
      const line = lines[0]!;
      const { productId } = line;
      if (!hinted.has(productId)) return undefined;
      const marker = await readMarker(productId);
      if (marker === undefined) return undefined;
      if (marker === null) {
        hinted.delete(productId);
        return undefined;
      }
      if (line.saleEventId && marker === line.saleEventId) {
        return withMessage({
          __typename: 'SaleSoldOut',
          productId: line.productId,
          saleEventId: line.saleEventId,
          requested: line.quantity,
          remaining: 0,
        });
      }
      return withMessage({ __typename: 'InsufficientStock', productId: line.productId, requested: line.quantity, available: 0 });
    },
  };
}

export type SoldOutCheck = ReturnType<typeof createSoldOutCheck>;
