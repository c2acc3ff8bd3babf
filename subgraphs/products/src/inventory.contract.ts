import { z } from '@bth/platform/env';
import { idSchema } from '@bth/platform/ids';

/**
 * Request bodies of the internal inventory API (docs/internal-apis.md), once: the routes parse
 * with these schemas and the service's request types are inferred from them, so the two cannot
 * drift. Ids arrive in any case and leave the parse lower-case (`idSchema`).
 */
export const reserveRequestSchema = z.object({
  orderId: idSchema,
  userId: idSchema,
  lines: z
    .array(z.object({ productId: idSchema, quantity: z.number().int().min(1).max(100), saleEventId: idSchema.nullish() }))
    .min(1)
    .max(50)
    .refine((lines) => new Set(lines.map((l) => l.productId)).size === lines.length, 'Each product may appear at most once'),
});
export type ReserveRequest = z.infer<typeof reserveRequestSchema>;

export const orderRequestSchema = z.object({ orderId: idSchema });
