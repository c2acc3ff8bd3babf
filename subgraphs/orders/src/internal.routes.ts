import { z } from '@bth/platform/env';
import type { JsonRoute } from '@bth/platform/http';
import { verifyServiceToken } from '@bth/platform/identity';
import { idSchema } from '@bth/platform/ids';
import { internalRoute } from '@bth/platform/internal-route';
import type { Logger } from '@bth/platform/logger';
import type { OrderService } from './order.service.js';
import type { PlaceOrderResult } from './order.view.js';

/**
 * `POST /internal/orders/place` (docs/internal-apis.md): how wishlists orders a whole wishlist.
 * Not in the supergraph; a service token with audience `orders` is required, and the user comes
 * from the body because the caller took it from its own verified identity.
 */
const placeBody = z.object({
  userId: idSchema,
  lines: z.array(z.object({ productId: z.string(), quantity: z.number(), saleEventId: z.string().nullish() })),
  shipping: z.object({ postalCode: z.string(), address: z.string(), phone: z.string() }),
  idempotencyKey: z.string(),
});

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
    internalRoute({
      path: '/internal/orders/place',
      api: 'orders',
      authorize: (authorization) => verifyServiceToken(deps.internalSecret, authorization, 'orders'),
      schema: placeBody,
      logger,
      handle: async ({ userId, ...input }) => {
        const result = await orders.placeOrder(userId, input);
        return { status: 200, body: { result: await toJson(result, orders) } };
      },
    }),
  ];
}
