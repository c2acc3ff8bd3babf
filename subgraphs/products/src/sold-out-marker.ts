import { randomInt } from 'node:crypto';
import { lagTolerantTimeout } from '@bth/platform/deadline';
import type { Redis } from '@bth/platform/redis';

/**
 * The sold-out marker (issue 10, target 6; docs/internal-apis.md "Sold-out marker"): a Redis key
 * per product that exists only while the product's stock is 0, so that orders can refuse its
 * buyers without calling inventory at all (orders/src/sold-out.ts). Its value is the id of the
 * product's live sale that was sold out when it was set, or `-`.
 *
 *   inventory:sold-out:<productId>      the marker (with a TTL, only so forgotten ones go away)
 *   inventory:sold-out-gen:<productId>  a counter bumped by every transaction that puts stock back
 *
 * THE RULE: a buyer may never be refused by the marker while a unit remains. Stock only goes up
 * in a transaction holding the product row FOR UPDATE (release, restock after a return, admin
 * adjustment); each of those, while it holds the lock and BEFORE it commits, bumps the counter
 * and deletes the marker in one script call, and rolls back if that call fails. The marker is
 * set (`InventoryService.markSoldOut`) by a transaction that locks the same row, sees stock 0,
 * and reads the counter — waiting for the reply — before it lets go of the lock; after that it
 * writes the marker only if the counter still has the value it read (one script call).
 *
 * Why that is enough, for a setter S and any transaction R that puts stock back:
 * - R commits before S locks the row: S reads R's stock, so S marks only if the units are gone
 *   again (sold to someone), and then the marker is true.
 * - R locks the row after S lets go: S read the counter before that, and R bumps it after that.
 *   If S's conditional write is executed by Redis before R's script, R's script deletes the
 *   marker; if after (however late S's write arrives: a slow network, a paused process), the
 *   counter differs and nothing is written. Either way no marker of S exists once R's script has
 *   run, and R commits only after it ran: the marker is gone before R's units can be sold.
 * The two cannot overlap: both hold the row lock. A reservation that takes the last unit never
 * sets the marker itself — it only schedules S, which queues for the lock behind it and sees
 * the committed result.
 *
 * Redis down: S writes nothing (orders then asks inventory as before); R fails only for a
 * product whose row says a marker may exist (`sold_out_marked`, committed by S before any write),
 * so restocking a product that never sold out does not depend on Redis. Redis losing its data
 * (a restart without persistence) loses the marker too; a missing counter is first created with
 * a random value, never the '0' a lost one reads as, so a late conditional write of S after
 * such a loss compares unequal and writes nothing.
 */
export const soldOutKeys = {
  marker: (productId: string) => `inventory:sold-out:${productId}`,
  generation: (productId: string) => `inventory:sold-out-gen:${productId}`,
};

/** Marker value when no live sale was sold out (stock ran out outside a sale, or past its units). */
export const NO_SALE = '-';

/** KEYS: generation. ARGV: a random start for a counter that does not exist yet. */
const GENERATION = `
local current = redis.call('GET', KEYS[1])
if current then return current end
redis.call('SET', KEYS[1], ARGV[1])
return ARGV[1]
`;

/** KEYS: generation, marker. ARGV: the generation read under the lock, the value, TTL seconds. */
const MARK_IF_UNCHANGED = `
local current = redis.call('GET', KEYS[1]) or '0'
if current ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[3])
return 1
`;

/** KEYS: n generation keys, then n marker keys. */
const CLEAR = `
local n = #KEYS / 2
for i = 1, n do
  redis.call('INCR', KEYS[i])
  redis.call('DEL', KEYS[n + i])
end
return n
`;

// A loopback Redis answers in well under a millisecond; a call under a row lock must not hold it
// for long. Past this, a clear counts as failed (its transaction rolls back; a late clear is
// harmless) and a read as missing (no marker is set).
const REDIS_DEADLINE_MS = 500;

// Markers outlive the sale only this long when nothing puts stock back: a marker is only a
// shortcut, and a replica that finds the product still sold out sets it again.
export const MARKER_TTL_SECONDS = 3_600;

async function withDeadline<T>(promise: Promise<T>, what: string): Promise<T> {
  // Lag-tolerant: under a flash-sale burst the event loop lags, and a plain timer would fail a
  // clear whose answer is already in the socket (rolling back a restock for nothing).
  const deadline = lagTolerantTimeout(REDIS_DEADLINE_MS, `${what}: Redis did not answer within ${REDIS_DEADLINE_MS} ms`);
  try {
    return await Promise.race([promise, deadline.expired]);
  } finally {
    deadline.clear();
  }
}

export function createSoldOutMarker(redis: Redis) {
  return {
    /** The product's counter, read while the caller holds its row; throws when Redis does not answer. */
    async generation(productId: string): Promise<string> {
      // From 1 up: a lost counter reads as '0' in MARK_IF_UNCHANGED and so never matches.
      const start = String(randomInt(1, 2 ** 47));
      return String(await withDeadline(redis.eval(GENERATION, 1, soldOutKeys.generation(productId), start), 'sold-out generation'));
    },

    /** Sets the marker if no stock went back since `generation` was read; true if set. */
    async markIfUnchanged(productId: string, generation: string, value: string): Promise<boolean> {
      const set = await withDeadline(
        redis.eval(
          MARK_IF_UNCHANGED,
          2,
          soldOutKeys.generation(productId),
          soldOutKeys.marker(productId),
          generation,
          value,
          MARKER_TTL_SECONDS,
        ),
        'sold-out mark',
      );
      return set === 1;
    },

    /** Deletes the markers (and retires any pending write); throws if Redis did not confirm it. */
    async clear(productIds: readonly string[]): Promise<void> {
      if (productIds.length === 0) return;
      await withDeadline(
        redis.eval(CLEAR, productIds.length * 2, ...productIds.map(soldOutKeys.generation), ...productIds.map(soldOutKeys.marker)),
        'sold-out clear',
      );
    },
  };
}

export type SoldOutMarker = ReturnType<typeof createSoldOutMarker>;
