import CircuitBreaker from 'opossum';
import { z, type Logger, type Metrics } from '@bth/platform';
import { backoffDelay, sleep, type BackoffPolicy } from './backoff.js';
import type { OrderLineInput } from './validation.js';

/**
 * Client of the inventory internal API (docs/internal-apis.md), served by every products replica.
 *
 * Layers, inside out:
 *   1. one request, spread round-robin over INVENTORY_URLS; a refused connection (the request
 *      never left) moves on to the next replica at once;
 *   2. an opossum circuit breaker around that request, so a dead inventory costs microseconds
 *      per order instead of a timeout each;
 *   3. retries with jittered backoff around the breaker, for transient failures only.
 * Every call is keyed by order id, so any repeat — a retry, a failover, a duplicate — is safe.
 */

export type ReserveOutcome =
  | { outcome: 'RESERVED'; lines: ReservedLine[] }
  | { outcome: 'INSUFFICIENT_STOCK'; productId: string; requested: number; available: number }
  | { outcome: 'PRODUCT_NOT_FOUND'; productId: string }
  | { outcome: 'SALE_NOT_LIVE'; productId: string; saleEventId: string }
  | { outcome: 'SALE_SOLD_OUT'; productId: string; saleEventId: string; requested: number; remaining: number }
  | { outcome: 'PURCHASE_LIMIT_EXCEEDED'; productId: string; saleEventId: string; limit: number; alreadyPurchased: number }
  | { outcome: 'RELEASED' }
  | { outcome: 'RESTOCKED' };

export interface ReservedLine {
  productId: string;
  quantity: number;
  unitPrice: number;
  regularPrice: number;
  saleEventId: string | null;
}

export type FailureReason = 'BREAKER_OPEN' | 'TIMEOUT' | 'NETWORK' | 'UNREACHABLE' | 'SERVER_ERROR' | 'LOCK_TIMEOUT' | 'BAD_RESPONSE';

/**
 * Inventory could not give an answer. `mayHaveTakenEffect` is false only when no attempt can
 * have changed stock (the breaker refused, every replica refused the connection, or inventory
 * said LOCK_TIMEOUT after rolling back); otherwise the caller must treat the outcome as unknown.
 */
export class InventoryUnavailableError extends Error {
  constructor(
    readonly reason: FailureReason,
    readonly mayHaveTakenEffect: boolean,
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
  ) {
    super(`inventory attempt failed: ${reason}`);
  }
}

// Connection errors where the request cannot have reached a server: safe to send elsewhere at once.
const NOT_DELIVERED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'UND_ERR_CONNECT_TIMEOUT']);

/** Exported for unit tests: the error codes of a failed `fetch` (undici nests them in `cause`). */
export function fetchErrorCodes(error: unknown): string[] {
  const codes: string[] = [];
  const visit = (value: unknown, depth: number) => {
    if (!value || typeof value !== 'object' || depth > 4) return;
    const code = (value as { code?: unknown }).code;
    if (typeof code === 'string') codes.push(code);
    visit((value as { cause?: unknown }).cause, depth + 1);
    const nested = (value as { errors?: unknown }).errors;
    if (Array.isArray(nested)) for (const inner of nested) visit(inner, depth + 1);
  };
  visit(error, 0);
  return codes;
}

export const wasNotDelivered = (error: unknown): boolean => {
  const codes = fetchErrorCodes(error);
  return codes.length > 0 && codes.every((code) => NOT_DELIVERED.has(code));
};

const isAbort = (error: unknown) => error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');

/** Which failures are worth another attempt, and which count against the breaker. */
export const FAILURE_POLICY: Record<FailureReason, { retry: boolean; tripsBreaker: boolean }> = {
  // Open breaker: the point is to fail fast, so no retry.
  BREAKER_OPEN: { retry: false, tripsBreaker: false },
  // A timed-out request may still be running; sending it again would pile load on a slow service.
  TIMEOUT: { retry: false, tripsBreaker: true },
  NETWORK: { retry: true, tripsBreaker: true },
  UNREACHABLE: { retry: true, tripsBreaker: true },
  SERVER_ERROR: { retry: true, tripsBreaker: true },
  // A hot row, not a sick service: opening the breaker would turn one sold-out-in-seconds product
  // into an outage for every product. Retried (after jitter the queue has usually moved).
  LOCK_TIMEOUT: { retry: true, tripsBreaker: false },
  BAD_RESPONSE: { retry: false, tripsBreaker: true },
};

export interface InventoryClientOptions {
  urls: string[];
  token: () => Promise<string>;
  logger: Logger;
  metrics?: Metrics;
  /** Per attempt; see INVENTORY_TIMEOUT_MS for why it must exceed products' lock wait bound. */
  timeoutMs: number;
  /** Open → half-open after this long; see INVENTORY_BREAKER_RESET_MS. */
  resetTimeoutMs: number;
  // One first try plus two retries: enough to ride out a replica restart, few enough that a
  // buyer hears back within a couple of seconds when inventory is really gone.
  attempts?: number;
  backoff?: BackoffPolicy;
}

// 50 ms doubles to 400 ms: the first retry lands after the blip, the cap keeps a buyer's wait short.
const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 50, capMs: 400 };

export type BreakerState = 'closed' | 'open' | 'halfOpen';

export function createInventoryClient(options: InventoryClientOptions) {
  const { logger } = options;
  const urls = options.urls.map((url) => url.replace(/\/+$/, ''));
  const attempts = options.attempts ?? 3;
  const backoff = options.backoff ?? DEFAULT_BACKOFF;
  let turn = 0;

  /** One attempt. `parse` runs inside the breaker, so a body of the wrong shape counts against it. */
  async function send(path: string, body: unknown, parse: (json: unknown) => unknown): Promise<unknown> {
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${await options.token()}` };
    const payload = JSON.stringify(body);
    const first = turn++;
    for (let i = 0; i < urls.length; i++) {
      const base = urls[(first + i) % urls.length]!;
      let response: Response;
      try {
        response = await fetch(`${base}${path}`, { method: 'POST', headers, body: payload, signal: AbortSignal.timeout(options.timeoutMs) });
      } catch (error) {
        if (wasNotDelivered(error)) continue;
        throw new AttemptError(isAbort(error) ? 'TIMEOUT' : 'NETWORK', true);
      }
      let json: unknown;
      try {
        json = await response.json();
      } catch (error) {
        throw new AttemptError(isAbort(error) ? 'TIMEOUT' : 'BAD_RESPONSE', true);
      }
      if (response.ok) {
        const parsed = parse(json);
        if (parsed === null) throw new AttemptError('BAD_RESPONSE', true);
        return parsed;
      }
      const code = (json as { error?: { code?: unknown } } | null)?.error?.code;
      // LOCK_TIMEOUT: inventory rolled its transaction back, so nothing changed.
      if (response.status === 503 && code === 'LOCK_TIMEOUT') throw new AttemptError('LOCK_TIMEOUT', false);
      if (response.status >= 500) throw new AttemptError('SERVER_ERROR', true);
      throw new InventoryRequestError(response.status, typeof code === 'string' ? code : undefined);
    }
    throw new AttemptError('UNREACHABLE', false);
  }

  const breaker = new CircuitBreaker(send, {
    name: 'inventory',
    // Same bound as the fetch abort above; opossum's timer counts the slow call as a failure.
    timeout: options.timeoutMs,
    // Open when at least half of the recent calls failed…
    errorThresholdPercentage: 50,
    // …but only after 10 calls in the window, so two unlucky requests at night do not open it.
    volumeThreshold: 10,
    // 10 s window in 1 s buckets: long enough to see a trend, short enough to forget an old blip.
    rollingCountTimeout: 10_000,
    rollingCountBuckets: 10,
    resetTimeout: options.resetTimeoutMs,
    // Business refusals arrive as 200 and never reach here; 4xx and LOCK_TIMEOUT must not count.
    errorFilter: (error: unknown) =>
      error instanceof InventoryRequestError || (error instanceof AttemptError && !FAILURE_POLICY[error.reason].tripsBreaker),
  });
  const transitions = options.metrics?.counter({
    name: 'inventory_breaker_transitions_total',
    help: 'Inventory circuit breaker state changes',
    labelNames: ['state'],
  });
  breaker.on('open', () => {
    logger.warn('inventory breaker open: failing fast', { resetMs: options.resetTimeoutMs });
    transitions?.inc({ state: 'open' });
  });
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
    if (code === 'ETIMEDOUT') return new AttemptError('TIMEOUT', true);
    return new AttemptError('NETWORK', true);
  }

  async function call<T>(op: string, path: string, body: unknown, parse: (json: unknown) => T | null, maxAttempts = attempts): Promise<T> {
    let mayHaveTakenEffect = false;
    for (let attempt = 1; ; attempt++) {
      let failure: AttemptError;
      try {
        // Refused here rather than by opossum: it counts each call it refuses while open as a
        // fire, so an outage fills the 10 s window with "fires" that are no failures, and a new
        // outage right after recovery stays under the error threshold until they age out.
        if (breaker.opened) throw new AttemptError('BREAKER_OPEN', false);
        return (await breaker.fire(path, body, parse)) as T;
      } catch (error) {
        if (error instanceof InventoryRequestError) {
          logger.error('inventory refused the request', { op, status: error.status, code: error.code });
          throw error;
        }
        failure = toFailure(error);
        if (failure.reason === 'BAD_RESPONSE') logger.error('inventory answered with an unexpected body', { op });
      }
      mayHaveTakenEffect ||= failure.mayHaveTakenEffect;
      if (!FAILURE_POLICY[failure.reason].retry || attempt >= maxAttempts) {
        logger.warn('inventory call failed', { op, reason: failure.reason, attempts: attempt });
        throw new InventoryUnavailableError(failure.reason, mayHaveTakenEffect);
      }
      await sleep(backoffDelay(attempt, backoff));
    }
  }

  return {
    /** All-or-nothing reservation for an order; repeats return the first answer. */
    reserve(input: { orderId: string; userId: string; lines: OrderLineInput[] }): Promise<ReserveOutcome> {
      return call('reserve', '/internal/inventory/reserve', input, parseReserve);
    },
    /**
     * Gives back what the order reserved (or tombstones it, so a late reserve takes nothing).
     * `once`: a single attempt, for callers that hold the order's row lock meanwhile (the
     * scheduler's next tick is their retry), so the lock is held for one call at most.
     */
    release(orderId: string, options: { once?: boolean } = {}): Promise<'RELEASED' | 'RESTOCKED'> {
      return call('release', '/internal/inventory/release', { orderId }, parseOutcome(['RELEASED', 'RESTOCKED']), options.once ? 1 : attempts);
    },
    /** Puts a returned order's goods back on the shelf, once; `once` as for `release`. */
    restock(orderId: string, options: { once?: boolean } = {}): Promise<'RESTOCKED'> {
      return call('restock', '/internal/inventory/restock', { orderId }, parseOutcome(['RESTOCKED']), options.once ? 1 : attempts);
    },
    breakerState(): BreakerState {
      return breaker.opened ? 'open' : breaker.halfOpen ? 'halfOpen' : 'closed';
    },
    shutdown() {
      breaker.shutdown();
    },
  };
}

export type InventoryClient = ReturnType<typeof createInventoryClient>;

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
        saleEventId: z.string().nullish().transform((v) => v ?? null),
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
