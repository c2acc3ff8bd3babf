/**
 * Group commit for hot products: concurrent reservations of ONE product wait in a per-product
 * queue of this replica, and one leader at a time takes up to `maxBatch` of them into one
 * transaction that locks the product row once (see `InventoryService.reserveStock`). While that
 * transaction runs, new arrivals queue up and form the next batch, so the batch size follows the
 * load by itself: one order alone is a batch of one and waits for nothing.
 *
 * The queue is bounded: past `highWater` waiting requests an arrival is refused at once
 * (`overloaded`), so a crowd larger than the row can serve gets a retryable answer in
 * milliseconds instead of piling into lock waits and timeouts. Each replica batches its own
 * arrivals; the row lock still serialises the replicas' batches.
 */
export interface GroupCommitOptions<T, R> {
  /** Most waiting requests per product; the next arrival is refused. */
  highWater: number;
  /** Most requests per transaction. */
  maxBatch: number;
  /** Serves one batch, in arrival order; one settled result per item, same order. */
  process: (key: string, items: T[]) => Promise<Array<Settled<R>>>;
}

export type Settled<R> = { ok: true; value: R } | { ok: false; error: unknown };

interface Waiting<T, R> {
  item: T;
  resolve: (value: R) => void;
  reject: (error: unknown) => void;
}

export function createGroupCommit<T, R>(options: GroupCommitOptions<T, R>) {
  const queues = new Map<string, Array<Waiting<T, R>>>();

  async function lead(key: string, queue: Array<Waiting<T, R>>): Promise<void> {
    while (queue.length) {
      const batch = queue.splice(0, options.maxBatch);
      let results: Array<Settled<R>>;
      try {
        results = await options.process(
          key,
          batch.map((w) => w.item),
        );
      } catch (error) {
        results = batch.map(() => ({ ok: false, error }));
      }
      batch.forEach((waiting, i) => {
        const result = results[i] ?? { ok: false, error: new Error('batch returned no result') };
        if (result.ok) waiting.resolve(result.value);
        else waiting.reject(result.error);
      });
    }
    queues.delete(key);
  }

  return {
    /** Requests waiting for `key` (the batch in flight not counted). */
    depth(key: string): number {
      return queues.get(key)?.length ?? 0;
    },

    /** Requests waiting over every key, for the queue-depth gauge (read at scrape time). */
    waiting(): number {
      let total = 0;
      for (const queue of queues.values()) total += queue.length;
      return total;
    },

    /** True when a new request for `key` would be refused. */
    full(key: string): boolean {
      return (queues.get(key)?.length ?? 0) >= options.highWater;
    },

    /** Queues `item`; the caller checks `full` first. The first arrival on an idle key leads. */
    submit(key: string, item: T): Promise<R> {
      return new Promise<R>((resolve, reject) => {
        const existing = queues.get(key);
        if (existing) {
          existing.push({ item, resolve, reject });
          return;
        }
        const queue: Array<Waiting<T, R>> = [{ item, resolve, reject }];
        queues.set(key, queue);
        // Led on the next turn of the event loop, so requests that arrived in the same I/O poll
        // share the first transaction instead of the first one going alone.
        setImmediate(() => void lead(key, queue));
      });
    },
  };
}
