import { assertProductionSecrets, envFragments, loadEnv, z } from '@bth/platform/env';

/**
 * Every variable the products service reads, with its default. Exported (not read at import) so the
 * compose and Kubernetes manifest tests check what a deployment sets against this one list.
 */
export const envSchema = {
  ...envFragments.base,
  ...envFragments.port(4002),
  ...envFragments.mysql('bth_products'),
  ...envFragments.redis,
  ...envFragments.amqp,
  ...envFragments.internalAuth,
  // A buyer queued behind a hot product waits at most this long for its row lock, then gets a
  // retryable LOCK_TIMEOUT; InnoDB's 50 s default would hold a flash-sale crowd for most of a minute.
  LOCK_WAIT_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(50).default(5),
  // A replica frozen inside a transaction (SIGSTOP, a stalled VM) loses its connection after this
  // long idle in it, so its row locks go back to the queue before the waiters' 5 s lock wait ends.
  // Inventory transactions are milliseconds of SQL with no network call inside; only the outbox
  // relay publishes under its lease, and a cut lease is re-taken (at-least-once, consumers dedupe).
  IDLE_TRANSACTION_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(3_600).default(3),
  // Reservations of one product waiting in a replica's group-commit queue before new ones are
  // answered OVERLOADED at once: 256 drain in a few batches (well under a second even at the
  // hot-product rate), so an accepted buyer never waits near LOCK_WAIT_TIMEOUT_SECONDS.
  INVENTORY_QUEUE_HIGH_WATER: z.coerce.number().int().min(1).max(100_000).default(256),
  // Reservations per group-commit transaction: large enough to absorb a burst, small enough
  // that one commit holds the row lock for milliseconds.
  INVENTORY_MAX_BATCH: z.coerce.number().int().min(1).max(1_000).default(64),
  // Upper bound on how long a product entry can outlive a write whose invalidation was lost
  // (writer crashed between commit and invalidation). Normal writes invalidate at once.
  PRODUCT_CACHE_TTL_SECONDS: z.coerce.number().int().min(1).max(3_600).default(60),
  // Listing pages also go stale when time alone changes them (a sale's end passing), so short.
  LISTING_CACHE_TTL_SECONDS: z.coerce.number().int().min(1).max(600).default(10),
};

/** Refused in production while unset or holding a public development default. */
export const productionSecrets = ['INTERNAL_JWT_SECRET'] as const;

/** Parsed once in `index.ts` (and by the invariant script); everything else receives the typed `ProductsEnv`. */
export function readEnv() {
  const env = loadEnv(envSchema);
  assertProductionSecrets(env, [...productionSecrets]);
  return env;
}

export type ProductsEnv = ReturnType<typeof readEnv>;
