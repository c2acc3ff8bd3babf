import { AppError, verifyServiceToken, z, type JsonRoute, type Logger } from '@bth/platform';
import type { OrderService } from './order.service.js';
import type { PlaceOrderResult } from './order.view.js';

/**
 * `POST /internal/orders/place` (docs/internal-apis.md): how wishlists orders a whole wishlist.
 * Not in the supergraph; a service token with audience `orders` is required, and the user comes
 * from the body because the caller took it from its own verified identity.
 */
const placeBody = z.object({
  userId: z.uuid(),
  lines: z.array(z.object({ productId: z.string(), quantity: z.number(), saleEventId: z.string().nullish() })),
  shipping: z.object({ postalCode: z.string(), address: z.string(), phone: z.string() }),
  idempotencyKey: z.string(),
});

const STATUS_OF: Record<string, number> = {
  BAD_USER_INPUT: 400,
  NOT_FOUND: 404,
  CONFLICT: 409,
  LOCK_TIMEOUT: 503,
  UPSTREAM_UNAVAILABLE: 503,
};

/** The result as JSON: lines added to an order; every refusal carries its sentence for people already. */
async function toJson(result: PlaceOrderResult, orders: OrderService): Promise<Record<string, unknown>> {
  switch (result.__typename) {
    case 'Order': {
      const { shipping: _private, ...order } = result;
      const lines = (await orders.findLines(result.id)).map((l) => ({
        productId: l.productId,
        quantity: l.quantity,
        unitPrice: l.unitPrice,
        regularPrice: l.regularPrice,
        saleEventId: l.saleEventId,
      }));
      return { ...order, lines };
    }
    default:
      return { ...result };
  }
}

export function internalRoutes(deps: { orders: OrderService; internalSecret: string; logger: Logger }): JsonRoute[] {
  const { orders, logger } = deps;
  return [
    {
      method: 'POST',
      path: '/internal/orders/place',
      handler: async ({ body, headers, requestId }) => {
        const caller = await verifyServiceToken(deps.internalSecret, headers.authorization, 'orders');
        if (!caller) return { status: 401, body: { error: { code: 'UNAUTHENTICATED', message: 'A service token for orders is required' } } };
        const parsed = placeBody.safeParse(body);
        if (!parsed.success) {
          const fieldErrors = parsed.error.issues.map((issue) => ({ field: issue.path.join('.') || '(body)', message: issue.message }));
          return { status: 400, body: { error: { code: 'BAD_USER_INPUT', message: 'The request body is malformed', fieldErrors } } };
        }
        const { userId, ...input } = parsed.data;
        try {
          const result = await orders.placeOrder(userId.toLowerCase(), input);
          return { status: 200, body: { result: await toJson(result, orders) } };
        } catch (error) {
          if (error instanceof AppError) {
            return {
              status: STATUS_OF[error.code] ?? 500,
              body: { error: { code: error.code, message: error.message, ...error.extensions, http: undefined } },
            };
          }
          logger.error('internal place failed', { requestId, caller, error });
          return { status: 500, body: { error: { code: 'INTERNAL_SERVER_ERROR', message: 'Internal server error' } } };
        }
      },
    },
  ];
}
