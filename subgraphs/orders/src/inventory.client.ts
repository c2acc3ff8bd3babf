import CircuitBreaker from 'opossum';
import { lagTolerantTimeout } from '@bth/platform/deadline';
import { z } from '@bth/platform/env';
import type { Logger } from '@bth/platform/logger';
import type { Metrics } from '@bth/platform/metrics';
import { ReplicaUnavailableError, createReplicaClient } from '@bth/platform/replicas';
import { backoffDelay, sleep, type BackoffPolicy } from './backoff.js';
import type { OrderLineInput } from './validation.js';

/**
 * Client of the inventory internal API (docs/internal-apis.md), served by every products replica.
 *
 * Layers, inside out:
 *   1. one request through the shared replica client: round-robin over INVENTORY_URLS, a deadline
 *      per attempt (INVENTORY_TIMEOUT_MS, or less when the caller's deadline is nearer), and, since
 *      every call is keyed by order id, a timeout, a broken connection or a hang on one replica is
 *      retried on another; a replica that refuses, times out repeatedly or hangs (silent, and its
 *      liveness probe fails) is ejected for a cool-down, and calls waiting on it move on at once;
 *   2. an opossum circuit breaker around that request, so a dead inventory costs microseconds
 *      per order instead of a timeout each. Hangs open it through the replica client, not opossum's
 *      timer: once every replica is ejected (a silent replica whose liveness probe fails is ejected
 *      within INVENTORY_HANG_MS + 0.5 s), the breaker opens and the waiting calls end, at any
 *      request rate. A timeout counts as a failure only if nothing answered after its call
 *      started: late timeouts of a hang that is over are no evidence, so they never open the
 *      breaker after inventory has recovered;
 *   3. retries with jittered backoff around the breaker, for transient failures only.
 * Every call is keyed by order id, so any repeat — a retry, a failover, a duplicate — is safe.
 */

/** Inventory's answer to a reserve, as its schema (`reserveSchema`, below) parses it. */
export type ReserveOutcome = z.infer<typeof reserveSchema>;
export type ReservedLine = Extract<ReserveOutcome, { outcome: 'RESERVED' }>['lines'][number];

export type FailureReason =
  | 'BREAKER_OPEN'
  | 'TIMEOUT'
  | 'DEADLINE'
  | 'NETWORK'
  | 'UNREACHABLE'
  | 'SERVER_ERROR'
  | 'LOCK_TIMEOUT'
  | 'OVERLOADED'
  | 'BAD_RESPONSE';

/**
 * Inventory could not give an answer. `mayHaveTakenEffect` is false only when no attempt can
 * have changed stock (the breaker refused, every replica refused the connection, or inventory
 * said LOCK_TIMEOUT after rolling back); otherwise the caller must treat the outcome as unknown.
 */
export class InventoryUnavailableError extends Error {
  constructor(
    readonly reason: FailureReason,
    readonly mayHaveTakenEffect: boolean,
    /** How long inventory asked the caller to wait (OVERLOADED), when it said. */
    readonly retryAfterSeconds?: number,
  ) {
    super(`inventory unavailable: ${reason}`);
    this.name = 'InventoryUnavailableError';
  }
}

/** Inventory refused the request itself (4xx): a bug or a misconfiguration, never retried. */
export class InventoryRequestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string | undefined,
  ) {
    super(`inventory refused the request: ${status} ${code ?? ''}`.trim());
    this.name = 'InventoryRequestError';
  }
}

/** One failed attempt, as seen inside the breaker. */
class AttemptError extends Error {
  constructor(
    readonly reason: FailureReason,
    readonly mayHaveTakenEffect: boolean,
    /** When the call began: a timeout is evidence against inventory only if nothing answered since. */
    readonly startedAt = Date.now(),
    readonly retryAfterSeconds?: number,
  ) {
    super(`inventory attempt failed: ${reason}`);
  }
}

const isAbort = (error: unknown) => error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');

/** Which failures are worth another attempt, and which count against the breaker. */
export const FAILURE_POLICY: Record<FailureReason, { retry: boolean; tripsBreaker: boolean }> = {
  // Open breaker: the point is to fail fast, so no retry.
  BREAKER_OPEN: { retry: false, tripsBreaker: false },
  // The replica client already tried the other replicas within the deadline; the deadline is spent.
  TIMEOUT: { retry: false, tripsBreaker: true },
  // The caller's deadline ran out (the router gave up), which says nothing about inventory.
  DEADLINE: { retry: false, tripsBreaker: false },
  NETWORK: { retry: true, tripsBreaker: true },
  UNREACHABLE: { retry: true, tripsBreaker: true },
  SERVER_ERROR: { retry: true, tripsBreaker: true },
  // A hot row, not a sick service: opening the breaker would turn one sold-out-in-seconds product
  // into an outage for every product. Retried (after jitter the queue has usually moved).
  LOCK_TIMEOUT: { retry: true, tripsBreaker: false },
  // One product's queue is full: inventory refused at once and took nothing. Retrying now would
  // only add to that queue; the buyer is told when to come back. Not a sick service either.
  OVERLOADED: { retry: false, tripsBreaker: false },
  BAD_RESPONSE: { retry: false, tripsBreaker: true },
};

export interface InventoryClientOptions {
  urls: string[];
  token: () => Promise<string>;
  logger: Logger;
  metrics?: Metrics;
  /** Per attempt; see INVENTORY_TIMEOUT_MS for why it must exceed products' lock wait bound. */
  timeoutMs: number;
  /** Silence of a replica with calls outstanding before its liveness is probed; see INVENTORY_HANG_MS. */
  hangMs: number;
  /** Open → half-open after this long; see INVENTORY_BREAKER_RESET_MS. */
  resetTimeoutMs: number;
  // One first try plus two retries: enough to ride out a replica restart, few enough that a
  // buyer hears back within a couple of seconds when inventory is really gone.
  attempts?: number;
  backoff?: BackoffPolicy;
}

// 250 ms: a resumed replica is found within a quarter second; one tiny GET per replica per tick while open.
const RECOVERY_PROBE_MS = 250;

// 50 ms doubles to 400 ms: the first retry lands after the blip, the cap keeps a buyer's wait short.
const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 50, capMs: 400 };

export type BreakerState = 'closed' | 'open' | 'halfOpen';

export function createInventoryClient(options: InventoryClientOptions) {
  const { logger } = options;
  const urls = options.urls.map((url) => url.replace(/\/+$/, ''));
  const attempts = options.attempts ?? 3;
  const backoff = options.backoff ?? DEFAULT_BACKOFF;
  // Ejects hanging replicas on its own; when every replica is ejected for hanging or failing
  // (not merely refusing: those calls fail fast anyway), the breaker opens and the waiting calls
  // end now rather than at their deadlines.
  const replicas = createReplicaClient({
    name: 'inventory',
    urls,
    logger,
    hangMs: options.hangMs,
    healthUrl: (base) => `${base}/health/live`,
    onAllEjected: () => {
      breaker.open();
      replicas.abandonAll();
      watchForRecovery();
    },
  });

  /**
   * After a hang opened the breaker, inventory's liveness is probed every RECOVERY_PROBE_MS and the
   * breaker closes as soon as a replica answers: buyers should not be refused for the rest of the
   * reset timeout once inventory runs again. Only for hangs: a breaker opened by errors (a process
   * that answers /health/live but fails its calls) waits for opossum's half-open trial as usual.
   */
  let recoveryWatch: NodeJS.Timeout | undefined;
  function watchForRecovery() {
    if (recoveryWatch) return;
    recoveryWatch = setInterval(() => {
      for (const base of urls) {
        const timeout = lagTolerantTimeout(RECOVERY_PROBE_MS);
        fetch(`${base}/health/live`, { signal: timeout.signal })
          .then(async (response) => {
            await response.body?.cancel();
            if (!response.ok || !recoveryWatch) return;
            stopWatching();
            if (breaker.opened) {
              logger.info('inventory answers its liveness probe again; closing the breaker', { replica: base });
              breaker.close();
            }
          })
          .catch(() => undefined)
          .finally(() => timeout.clear());
      }
    }, RECOVERY_PROBE_MS).unref();
  }
  function stopWatching() {
    if (recoveryWatch) clearInterval(recoveryWatch);
    recoveryWatch = undefined;
  }

  /** `callerBinds`: the caller's deadline, not this call's own budget, ran out first. */
  const failureOf = (error: ReplicaUnavailableError, startedAt: number, callerBinds: boolean): AttemptError => {
    switch (error.reason) {
      case 'NOT_DELIVERED':
        // The last replica refused, but an earlier one may have taken the reserve before dying
        // (a group commit that committed, then a reset connection): only "never delivered anywhere" is safe.
        return new AttemptError('UNREACHABLE', error.mayHaveBeenDelivered, startedAt);
      case 'DEADLINE':
        return new AttemptError(callerBinds ? 'DEADLINE' : 'TIMEOUT', error.mayHaveBeenDelivered, startedAt);
      case 'NETWORK':
      case 'CANCELLED':
        return new AttemptError('NETWORK', error.mayHaveBeenDelivered, startedAt);
      default:
        return new AttemptError('TIMEOUT', error.mayHaveBeenDelivered, startedAt);
    }
  };

  /** One call. `parse` runs inside the breaker, so a body of the wrong shape counts against it. */
  async function send(path: string, body: unknown, parse: (json: unknown) => unknown, deadline: number | undefined): Promise<unknown> {
    const startedAt = Date.now();
    // One inventory deadline for all replicas of this call, so a call made under an order's row
    // lock ends within it (orders' lock wait is sized for one), failover included.
    const ownDeadline = startedAt + options.timeoutMs;
    const callerBinds = deadline !== undefined && deadline < ownDeadline;
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${await options.token()}` };
    let response: Response;
    try {
      response = await replicas.request({
        method: 'POST',
        path,
        headers,
        body: JSON.stringify(body),
        attemptTimeoutMs: options.timeoutMs,
        deadline: callerBinds ? deadline : ownDeadline,
        // Keyed by order id, so a call that may have landed can still go to another replica.
        retry: 'idempotent',
        retries: urls.length - 1,
      });
    } catch (error) {
      if (error instanceof ReplicaUnavailableError) throw failureOf(error, startedAt, callerBinds);
      throw error;
    }
    let json: unknown;
    try {
      json = await response.json();
    } catch (error) {
      throw new AttemptError(isAbort(error) ? 'TIMEOUT' : 'BAD_RESPONSE', true, startedAt);
    }
    if (response.ok) {
      const parsed = parse(json);
      if (parsed === null) throw new AttemptError('BAD_RESPONSE', true, startedAt);
      return parsed;
    }
    const code = (json as { error?: { code?: unknown } } | null)?.error?.code;
    // LOCK_TIMEOUT: inventory rolled its transaction back, so nothing changed.
    if (response.status === 503 && code === 'LOCK_TIMEOUT') throw new AttemptError('LOCK_TIMEOUT', false, startedAt);
    // OVERLOADED: refused before anything was tried (docs/internal-apis.md).
    if (response.status === 503 && code === 'OVERLOADED') throw new AttemptError('OVERLOADED', false, startedAt, retryAfterOf(json));
    if (response.status >= 500) throw new AttemptError('SERVER_ERROR', true, startedAt);
    throw new InventoryRequestError(response.status, typeof code === 'string' ? code : undefined);
  }

  const breaker = new CircuitBreaker(send, {
    name: 'inventory',
    // Off: opossum's timer only counts a hang once per call and late (the old 7 s timeouts inside a
    // 10 s window full of earlier successes never reached 50 %). The replica client opens it on hangs.
    timeout: false,
    // Open when at least half of the recent calls failed…
    errorThresholdPercentage: 50,
    // …but only after 10 calls in the window, so two unlucky requests at night do not open it.
    volumeThreshold: 10,
    // 10 s window in 1 s buckets: long enough to see a trend, short enough to forget an old blip.
    rollingCountTimeout: 10_000,
    rollingCountBuckets: 10,
    resetTimeout: options.resetTimeoutMs,
    // Business refusals arrive as 200 and never reach here; 4xx and LOCK_TIMEOUT must not count,
    // nor a timeout of a call that started before inventory last answered (a stale timeout).
    errorFilter: (error: unknown) =>
      error instanceof InventoryRequestError ||
      (error instanceof AttemptError &&
        (!FAILURE_POLICY[error.reason].tripsBreaker || (error.reason === 'TIMEOUT' && replicas.lastAnswerAt() > error.startedAt))),
  });
  const transitions = options.metrics?.counter({
    name: 'inventory_breaker_transitions_total',
    help: 'Inventory circuit breaker state changes',
    labelNames: ['state'],
  });
  // 0 closed, 1 half-open, 2 open: read from the breaker at scrape time, nothing per call.
  options.metrics?.gauge({
    name: 'inventory_breaker_state',
    help: 'Inventory circuit breaker state (0 closed, 1 half-open, 2 open)',
    collect() {
      this.set(breaker.opened ? 2 : breaker.halfOpen ? 1 : 0);
    },
  });
  const refusals = options.metrics?.counter({
    name: 'inventory_breaker_refusals_total',
    help: 'Inventory calls refused at once because the breaker was open',
  });
  breaker.on('open', () => {
    logger.warn('inventory breaker open: failing fast', { resetMs: options.resetTimeoutMs });
    transitions?.inc({ state: 'open' });
  });
  breaker.on('close', stopWatching);
  breaker.on('halfOpen', () => {
    logger.info('inventory breaker half-open: trying one call');
    transitions?.inc({ state: 'halfOpen' });
  });
  breaker.on('close', () => {
    logger.info('inventory breaker closed: inventory answers again');
    transitions?.inc({ state: 'close' });
  });

  function toFailure(error: unknown): AttemptError {
    if (error instanceof AttemptError) return error;
    const code = (error as { code?: unknown }).code;
    if (code === 'EOPENBREAKER' || code === 'ESHUTDOWN') return new AttemptError('BREAKER_OPEN', false);
    return new AttemptError('NETWORK', true);
  }

  async function call<T>(
    op: string,
    path: string,
    body: unknown,
    parse: (json: unknown) => T | null,
    maxAttempts = attempts,
    deadline?: number,
  ): Promise<T> {
    let mayHaveTakenEffect = false;
    for (let attempt = 1; ; attempt++) {
      let failure: AttemptError;
      try {
        // Refused here rather than by opossum: it counts each call it refuses while open as a
        // fire, so an outage fills the 10 s window with "fires" that are no failures, and a new
        // outage right after recovery stays under the error threshold until they age out.
        if (breaker.opened) {
          refusals?.inc();
          throw new AttemptError('BREAKER_OPEN', false);
        }
        return (await breaker.fire(path, body, parse, deadline)) as T;
      } catch (error) {
        if (error instanceof InventoryRequestError) {
          logger.error('inventory refused the request', { op, status: error.status, code: error.code });
          throw error;
        }
        failure = toFailure(error);
        if (failure.reason === 'BAD_RESPONSE') logger.error('inventory answered with an unexpected body', { op });
      }
      mayHaveTakenEffect ||= failure.mayHaveTakenEffect;
      const outOfTime = deadline !== undefined && Date.now() + backoffDelay(attempt, backoff) >= deadline;
      if (!FAILURE_POLICY[failure.reason].retry || attempt >= maxAttempts || outOfTime) {
        logger.warn('inventory call failed', { op, reason: failure.reason, attempts: attempt });
        throw new InventoryUnavailableError(failure.reason, mayHaveTakenEffect, failure.retryAfterSeconds);
      }
      await sleep(backoffDelay(attempt, backoff));
    }
  }

  return {
    /**
     * All-or-nothing reservation for an order; repeats return the first answer. `deadline`: the
     * caller's (epoch ms); no attempt waits past it, each waits at most INVENTORY_TIMEOUT_MS.
     */
    reserve(input: { orderId: string; userId: string; lines: OrderLineInput[] }, deadline?: number): Promise<ReserveOutcome> {
      return call('reserve', '/internal/inventory/reserve', input, parseReserve, attempts, deadline);
    },
    /**
     * Gives back what the order reserved (or tombstones it, so a late reserve takes nothing).
     * `deadline`: as for reserve; when it leaves no time, the order is left to the reconciler.
     * `once`: a single attempt, for callers that hold the order's row lock meanwhile (the
     * scheduler's next tick is their retry), so the lock is held for one call at most.
     */
    release(orderId: string, options: { once?: boolean; deadline?: number } = {}): Promise<'RELEASED' | 'RESTOCKED'> {
      return call(
        'release',
        '/internal/inventory/release',
        { orderId },
        parseOutcome(['RELEASED', 'RESTOCKED']),
        options.once ? 1 : attempts,
        options.deadline,
      );
    },
    /** Puts a returned order's goods back on the shelf, once; `once` as for `release`. */
    restock(orderId: string, options: { once?: boolean } = {}): Promise<'RESTOCKED'> {
      return call('restock', '/internal/inventory/restock', { orderId }, parseOutcome(['RESTOCKED']), options.once ? 1 : attempts);
    },
    breakerState(): BreakerState {
      return breaker.opened ? 'open' : breaker.halfOpen ? 'halfOpen' : 'closed';
    },
    shutdown() {
      stopWatching();
      breaker.shutdown();
      replicas.close();
    },
  };
}

export type InventoryClient = ReturnType<typeof createInventoryClient>;

const retryAfterSchema = z.object({ error: z.object({ retryAfterSeconds: z.number().int().min(1).max(60) }) });
/** The wait an OVERLOADED answer names; 1 s when it names none (or an unlikely one). */
const retryAfterOf = (json: unknown): number => retryAfterSchema.safeParse(json).data?.error.retryAfterSeconds ?? 1;

const productId = z.string().min(1);
const saleEventId = productId;
const count = z.number().int().min(0);
const reserveSchema = z.discriminatedUnion('outcome', [
  z.object({
    outcome: z.literal('RESERVED'),
    lines: z.array(
      z.object({
        productId,
        quantity: count,
        unitPrice: count,
        regularPrice: count,
        saleEventId: z
          .string()
          .nullish()
          .transform((v) => v ?? null),
      }),
    ),
  }),
  z.object({ outcome: z.literal('INSUFFICIENT_STOCK'), productId, requested: count, available: count }),
  z.object({ outcome: z.literal('PRODUCT_NOT_FOUND'), productId }),
  z.object({ outcome: z.literal('SALE_NOT_LIVE'), productId, saleEventId }),
  z.object({ outcome: z.literal('SALE_SOLD_OUT'), productId, saleEventId, requested: count, remaining: count }),
  z.object({ outcome: z.literal('PURCHASE_LIMIT_EXCEEDED'), productId, saleEventId, limit: count, alreadyPurchased: count }),
  z.object({ outcome: z.literal('RELEASED') }),
  z.object({ outcome: z.literal('RESTOCKED') }),
]);

/** Exported for unit tests. */
export function parseReserve(json: unknown): ReserveOutcome | null {
  const parsed = reserveSchema.safeParse(json);
  return parsed.success ? parsed.data : null;
}

function parseOutcome<T extends string>(allowed: readonly T[]) {
  return (json: unknown): T | null => {
    const outcome = (json as { outcome?: unknown } | null)?.outcome;
    return typeof outcome === 'string' && (allowed as readonly string[]).includes(outcome) ? (outcome as T) : null;
  };
}
