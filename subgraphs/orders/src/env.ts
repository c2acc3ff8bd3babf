import { assertProductionSecrets, devDefault, envFragments, envList, envUrlList, loadEnv, z } from '@bth/platform/env';

const PAYMENT_METHODS = ['CARD', 'VIRTUAL_ACCOUNT', 'TRANSFER', 'MOBILE'] as const;

const seconds = (fallback: number) => z.coerce.number().int().min(0).max(31_536_000).default(fallback);

/**
 * Every variable the orders service reads, with its default. Exported (not read at import) so the
 * compose and Kubernetes manifest tests check what a deployment sets against this one list.
 */
export const envSchema = {
  ...envFragments.base,
  ...envFragments.port(4004),
  ...envFragments.mysql('bth_orders'),
  ...envFragments.internalAuth,
  // Only for the sold-out marker products keeps there (src/sold-out.ts); unreachable = every order asks inventory.
  ...envFragments.redis,
  // AES-256-GCM key for the shipping address and phone at rest: 32 bytes, base64. Local default only.
  DATA_ENCRYPTION_KEY: z.base64().default(devDefault('ZGV2LW9ubHktb3JkZXJzLWtleS0zMi1ieXRlcy0hISE=')),
  // Every products replica serves inventory; requests are spread round-robin and fail over on refusal.
  INVENTORY_URLS: envUrlList('http://127.0.0.1:4002,http://127.0.0.1:4012'),
  // Per attempt: products waits up to 5 s (its LOCK_WAIT_TIMEOUT_SECONDS) for a hot row, plus 2 s for
  // the transaction and the hop. Longer than that bound so a busy row answers LOCK_TIMEOUT
  // (known: nothing reserved) instead of our timer firing (unknown outcome, reconciler needed).
  INVENTORY_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(7_000),
  // A replica with calls outstanding that has answered nothing this long gets a liveness probe
  // (/health/live, 500 ms); if that fails too it is ejected and its calls move to another replica
  // (same order id), and once every replica is ejected the breaker opens. It may be far below
  // products' 5 s lock wait: a call waiting on a hot row is silent, but its process answers the
  // probe at once, so only a frozen or wedged replica is ejected. 1 s: normal answers take ms.
  INVENTORY_HANG_MS: z.coerce.number().int().min(100).max(60_000).default(1_000),
  // How long the breaker stays open before one trial call; a replica restart takes a few seconds.
  INVENTORY_BREAKER_RESET_MS: z.coerce.number().int().min(100).max(600_000).default(5_000),
  // Admission control (src/admission.ts): orders of ONE product this process places at once; the
  // next is answered InventoryUnavailable (retry after 1 s) before anything is written. 64: one
  // full group commit in products (INVENTORY_MAX_BATCH), which at the measured 250–340 hot
  // orders/s drains in ~0.2–0.3 s, well inside the sustainable p99 (~0.6 s, BENCHMARKS.md);
  // more in flight only adds queueing to everyone's latency.
  ORDER_ADMISSION_PER_PRODUCT: z.coerce.number().int().min(1).max(100_000).default(64),
  // …and of all products together: 256 is about one second of orders at the measured rate
  // spread over many products (~240/s), the most that is worth waiting for on 2 cores.
  ORDER_ADMISSION_TOTAL: z.coerce.number().int().min(1).max(1_000_000).default(256),
  ORDER_PAYMENT_TIMEOUT_SECONDS: seconds(900),
  SHIP_AFTER_SECONDS: seconds(86_400),
  DELIVER_AFTER_SECONDS: seconds(86_400),
  RETURN_WINDOW_SECONDS: seconds(86_400),
  RETURN_COMPLETE_AFTER_SECONDS: seconds(86_400),
  // A PENDING order older than this has lost its request (crash, timeout); its stock is released.
  // Default: derived below from INVENTORY_TIMEOUT_MS, the longest a live request waits on reserve.
  RECONCILE_PENDING_AFTER_SECONDS: z.coerce.number().int().min(0).max(31_536_000).optional(),
  SCHEDULER_INTERVAL_MS: z.coerce.number().int().min(50).max(3_600_000).default(1_000),
  // Simulated payment provider: charges with these methods are declined (e.g. `MOBILE`), for tests and demos.
  PAYMENT_SIMULATOR_DECLINE_METHOD: envList('').pipe(z.array(z.enum(PAYMENT_METHODS))),
};

/** Refused in production while unset or holding a public development default. */
export const productionSecrets = ['INTERNAL_JWT_SECRET', 'DATA_ENCRYPTION_KEY'] as const;

/** Parsed once in `index.ts`; everything else receives the typed `OrdersEnv`. */
export function readEnv() {
  const env = loadEnv(envSchema);
  assertProductionSecrets(env, [...productionSecrets]);
  return {
    ...env,
    // A placing request gives up on reserve after one inventory deadline (all its attempts share
    // it); 3 s more covers its release call starting and the clock skew between orders instances,
    // so the reconciler never races a request that is still alive, and a lost order holds its
    // stock no longer than that (plus one scheduler tick) once a process runs the scheduler again.
    RECONCILE_PENDING_AFTER_SECONDS: env.RECONCILE_PENDING_AFTER_SECONDS ?? Math.ceil(env.INVENTORY_TIMEOUT_MS / 1000) + 3,
  };
}

export type OrdersEnv = ReturnType<typeof readEnv>;
