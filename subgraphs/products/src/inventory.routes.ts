import { AppError, isUuid, verifyServiceToken, z, type JsonRoute, type Logger } from '@bth/platform';
import type { InventoryService } from './inventory.service.js';

/**
 * The internal inventory API (docs/internal-apis.md). Not GraphQL and not reachable through the
 * router: only a caller holding a service token for the `inventory` audience gets in, so a
 * client that reaches a replica directly, even with a user's valid identity, cannot move stock.
 */
const AUDIENCE = 'inventory';

const uuid = z
  .string()
  .transform((value) => value.toLowerCase())
  .refine(isUuid, 'Must be a UUID');

const reserveBody = z.object({
  orderId: uuid,
  userId: uuid,
  lines: z
    .array(z.object({ productId: uuid, quantity: z.number().int().min(1).max(100), saleEventId: uuid.nullish() }))
    .min(1)
    .max(50)
    .refine((lines) => new Set(lines.map((l) => l.productId)).size === lines.length, 'Each product may appear at most once'),
});
const orderBody = z.object({ orderId: uuid });

type Reply = { status: number; body: unknown };

const errorReply = (status: number, code: string, message: string, extra: Record<string, unknown> = {}): Reply => ({
  status,
  body: { error: { code, message, ...extra } },
});

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

  function route<S extends z.ZodType>(path: string, schema: S, run: (input: z.infer<S>) => Promise<Reply>): JsonRoute {
    return {
      method: 'POST',
      path,
      handler: async ({ body, headers, requestId }) => {
        const caller = await callerOf(headers.authorization);
        if (!caller) return errorReply(401, 'UNAUTHENTICATED', 'A service token for the inventory API is required');
        const parsed = schema.safeParse(body);
        if (!parsed.success) {
          const fieldErrors = parsed.error.issues.map((issue) => ({ field: issue.path.join('.') || '(body)', message: issue.message }));
          return errorReply(400, 'BAD_USER_INPUT', 'The request body is invalid', { fieldErrors });
        }
        try {
          return await run(parsed.data);
        } catch (error) {
          if (error instanceof AppError && error.code === 'LOCK_TIMEOUT') return errorReply(503, 'LOCK_TIMEOUT', error.message, { retryable: true });
          logger.error('inventory request failed', { path, caller, requestId, error });
          return errorReply(500, 'INTERNAL_SERVER_ERROR', 'Internal server error');
        }
      },
    };
  }

  return [
    route('/internal/inventory/reserve', reserveBody, async (input) => {
      const result = await inventory.reserveStock(input);
      if (result.outcome === 'OVERLOADED') {
        // Nothing was tried: the product's queue is full. Retryable, and says when.
        return errorReply(503, 'OVERLOADED', 'Too many reservations of this product are waiting; retry shortly', {
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
        const message = result.reason === 'RELEASED' ? 'This order was released; there is nothing to restock' : 'This order was never reserved';
        return errorReply(409, 'CONFLICT', message);
      }
      return { status: 200, body: result };
    }),
  ];
}
