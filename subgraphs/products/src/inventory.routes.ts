import type { z } from '@bth/platform/env';
import type { JsonRoute } from '@bth/platform/http';
import { verifyServiceToken } from '@bth/platform/identity';
import { internalError, internalRoute, type InternalReply } from '@bth/platform/internal-route';
import type { Logger } from '@bth/platform/logger';
import { orderRequestSchema as orderBody, reserveRequestSchema as reserveBody } from './inventory.contract.js';
import type { InventoryService } from './inventory.service.js';

/**
 * The internal inventory API (docs/internal-apis.md). Not GraphQL and not reachable through the
 * router: only a caller holding a service token for the `inventory` audience gets in, so a
 * client that reaches a replica directly, even with a user's valid identity, cannot move stock.
 */
const AUDIENCE = 'inventory';

// Callers reuse one token for minutes (orders renews it well before expiry), so a handful of live
// tokens at most; the bound only stops a flood of distinct valid tokens from growing the map.
const MAX_REMEMBERED_TOKENS = 64;

/** `exp` (epoch seconds) of a token whose signature was just verified, or 0 when it has none. */
function expiryOf(token: string): number {
  try {
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { exp?: unknown };
    return typeof payload.exp === 'number' ? payload.exp : 0;
  } catch {
    return 0;
  }
}

export function createInventoryRoutes(deps: { inventory: InventoryService; internalSecret: string; logger: Logger }): JsonRoute[] {
  const { inventory, logger } = deps;

  /**
   * A verified token is remembered until its own `exp`: the HMAC check was a fifth of a
   * reservation's CPU, and every call of a caller carries the same token. Nothing is remembered
   * past the expiry the signer set, and an invalid token is never remembered.
   */
  const verified = new Map<string, { caller: string; expiresAtMs: number }>();
  async function callerOf(authorization: string | undefined): Promise<string | null> {
    const seen = authorization ? verified.get(authorization) : undefined;
    if (seen && seen.expiresAtMs > Date.now()) return seen.caller;
    if (seen) verified.delete(authorization!);
    const caller = await verifyServiceToken(deps.internalSecret, authorization, AUDIENCE);
    if (caller && authorization) {
      const expiresAtMs = expiryOf(authorization.slice('Bearer '.length)) * 1000;
      if (expiresAtMs > Date.now()) {
        if (verified.size >= MAX_REMEMBERED_TOKENS) verified.clear();
        verified.set(authorization, { caller, expiresAtMs });
      }
    }
    return caller;
  }

  const route = <S extends z.ZodType>(path: string, schema: S, handle: (input: z.infer<S>) => Promise<InternalReply>): JsonRoute =>
    internalRoute({ path, api: 'inventory', authorize: callerOf, schema, logger, handle });

  return [
    route('/internal/inventory/reserve', reserveBody, async (input) => {
      const result = await inventory.reserveStock(input);
      if (result.outcome === 'OVERLOADED') {
        // Nothing was tried: the product's queue is full. Retryable, and says when.
        return internalError(503, 'OVERLOADED', 'Too many reservations of this product are waiting; retry shortly', {
          retryable: true,
          retryAfterSeconds: result.retryAfterSeconds,
        });
      }
      return { status: 200, body: result };
    }),
    route('/internal/inventory/release', orderBody, async ({ orderId }) => ({ status: 200, body: await inventory.releaseStock(orderId) })),
    route('/internal/inventory/restock', orderBody, async ({ orderId }) => {
      const result = await inventory.restock(orderId);
      if (result.outcome === 'NOT_RESTOCKABLE') {
        const message =
          result.reason === 'RELEASED' ? 'This order was released; there is nothing to restock' : 'This order was never reserved';
        return internalError(409, 'CONFLICT', message);
      }
      return { status: 200, body: result };
    }),
  ];
}
