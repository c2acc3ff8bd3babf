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

export function createInventoryRoutes(deps: { inventory: InventoryService; internalSecret: string; logger: Logger }): JsonRoute[] {
  const { inventory, logger } = deps;

  function route<S extends z.ZodType>(path: string, schema: S, run: (input: z.infer<S>) => Promise<Reply>): JsonRoute {
    return {
      method: 'POST',
      path,
      handler: async ({ body, headers, requestId }) => {
        const caller = await verifyServiceToken(deps.internalSecret, headers.authorization, AUDIENCE);
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
