import { causeCodes } from '@bth/platform/causes';
import { AppError, errors } from '@bth/platform/errors';
import { requestIdHeader } from '@bth/platform/identity';
import type { Logger } from '@bth/platform/logger';
import type { ShippingInput } from './validation.js';

/**
 * Calls the orders service's internal API (`POST /internal/orders/place`, docs/internal-apis.md)
 * with a service token. Orders is idempotent by (user, idempotencyKey), so a call that timed out
 * may be repeated with the same key and never orders twice.
 */
export interface OrderLine {
  productId: string;
  quantity: number;
}

export interface PlaceOrderRequest {
  userId: string;
  lines: OrderLine[];
  shipping: ShippingInput;
  idempotencyKey: string;
}

/** Orders' PlaceOrderResult, reduced to what wishlists acts on. */
export type PlaceOrderOutcome =
  | { placed: true; orderId: string /** The lines orders recorded, when it returned them. */; lines: OrderLine[] | null }
  | { placed: false; reason: string; productId: string | null; message: string | null };

export interface OrdersClient {
  place(request: PlaceOrderRequest): Promise<PlaceOrderOutcome>;
}

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

function readLines(value: unknown): OrderLine[] | null {
  if (!Array.isArray(value)) return null;
  const lines: OrderLine[] = [];
  for (const line of value) {
    if (!isObject(line) || typeof line.productId !== 'string' || typeof line.quantity !== 'number') return null;
    lines.push({ productId: line.productId, quantity: line.quantity });
  }
  return lines;
}

/** Orders could not place the order right now (its inventory is unavailable); retrying may succeed. */
export interface OrdersUnavailable {
  unavailable: true;
  message: string | null;
  retryAfterSeconds: number | null;
}

/** Exported for unit tests: turns the `result` object of a 200 answer into an outcome. */
export function readPlaceOrderResult(result: unknown): PlaceOrderOutcome | OrdersUnavailable | null {
  if (!isObject(result) || typeof result.__typename !== 'string') return null;
  // Orders answers with the Order itself; a wrapper (`OrderPlaced { order }`) is read the same way.
  const order = isObject(result.order) ? result.order : result.__typename === 'Order' ? result : null;
  if (order && typeof order.id === 'string') return { placed: true, orderId: order.id, lines: readLines(order.lines) };
  const message = typeof result.message === 'string' ? result.message : null;
  // A retryable result (InventoryUnavailable) is not a refusal of this order: it is "not now".
  if (result.retryable === true) {
    return {
      unavailable: true,
      message,
      retryAfterSeconds: typeof result.retryAfterSeconds === 'number' ? result.retryAfterSeconds : null,
    };
  }
  return { placed: false, reason: result.__typename, productId: typeof result.productId === 'string' ? result.productId : null, message };
}

export function createOrdersClient(options: {
  baseUrl: string;
  token: () => Promise<string>;
  logger: Logger;
  /**
   * Placing an order waits on inventory: on a hot product orders makes up to 3 attempts, each
   * bounded by products' 5 s row-lock wait. 20 s covers that worst case; past it we answer a
   * retryable UPSTREAM_UNAVAILABLE, and the retry with the same key is safe.
   */
  timeoutMs?: number;
}): OrdersClient {
  const { logger } = options;
  const url = new URL('/internal/orders/place', options.baseUrl).toString();
  const timeoutMs = options.timeoutMs ?? 20_000;

  return {
    async place(request) {
      let response: Response;
      try {
        response = await fetch(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            authorization: `Bearer ${await options.token()}`,
            // Orders logs the placing under the id of the wishlist request that asked for it.
            ...requestIdHeader(),
          },
          body: JSON.stringify(request),
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (error) {
        logger.warn('orders could not be reached', { url, reason: causeCodes(error)[0] ?? (error as Error).name });
        throw errors.upstream('orders');
      }
      let body: Json = {};
      try {
        const parsed: unknown = await response.json();
        if (isObject(parsed)) body = parsed;
      } catch {
        // Fall through: an unreadable body is handled by status below.
      }
      if (response.ok) {
        const outcome = readPlaceOrderResult(body.result);
        if (outcome && 'unavailable' in outcome) {
          throw new AppError('UPSTREAM_UNAVAILABLE', outcome.message ?? 'Ordering is unavailable right now; try again shortly', {
            ...(outcome.retryAfterSeconds !== null ? { retryAfterSeconds: outcome.retryAfterSeconds } : {}),
          });
        }
        if (outcome) return outcome;
        logger.error('orders answered 200 with an unreadable result', { url });
        throw errors.upstream('orders');
      }
      const failure = isObject(body.error) ? body.error : {};
      const code = typeof failure.code === 'string' ? failure.code : undefined;
      const message = typeof failure.message === 'string' ? failure.message : undefined;
      if (code === 'BAD_USER_INPUT') {
        const fieldErrors = Array.isArray(failure.fieldErrors) ? failure.fieldErrors : [];
        throw new AppError('BAD_USER_INPUT', message ?? 'Some input is invalid', { fieldErrors });
      }
      if (code === 'CONFLICT') throw errors.conflict(message ?? 'This idempotency key was already used for a different order');
      if (code === 'LOCK_TIMEOUT') throw errors.lockTimeout();
      if (code === 'UPSTREAM_UNAVAILABLE')
        throw new AppError('UPSTREAM_UNAVAILABLE', message ?? 'Ordering is unavailable right now; try again shortly');
      if (response.status === 401 || response.status === 403) {
        // Our token was refused: a configuration error (secrets differ), not something a client can fix.
        logger.error('orders refused the service token; check INTERNAL_JWT_SECRET', { url, status: response.status });
        throw new Error('orders refused the service token');
      }
      logger.warn('orders failed', { url, status: response.status, code });
      throw errors.upstream('orders');
    },
  };
}
