import { z, type OutboxMessage } from '@bth/platform';
import type { SaleRow } from './db/schema.js';

/**
 * The messages products exchanges with the events subgraph (contract in subgraphs/events/README.md).
 *
 * Consumed: `sale.started` / `sale.ended`, published by events when a sale opens, closes or is
 * cancelled. Read as a tolerant reader: only the fields inventory needs are checked, unknown
 * fields are ignored, and a payload that fails the check can never be applied (poison → DLQ).
 *
 * Published: `sale.sold_out`, when a reservation takes the last sale unit of an event.
 */
export const SALE_STARTED = 'sale.started';
export const SALE_ENDED = 'sale.ended';
export const SALE_SOLD_OUT = 'sale.sold_out';

const isoDate = z.iso.datetime({ offset: true }).transform((value) => new Date(value));

export const saleMessageSchema = z.object({
  v: z.literal(1),
  eventId: z.uuid(),
  productId: z.uuid(),
  salePrice: z.number().int().min(0),
  quantity: z.number().int().min(1),
  perUserLimit: z.number().int().min(1),
  startsAt: isoDate,
  endsAt: isoDate,
  status: z.enum(['LIVE', 'ENDED', 'CANCELLED']),
});

export type SaleMessage = z.infer<typeof saleMessageSchema>;

export function saleSoldOutMessage(sale: Pick<SaleRow, 'eventId' | 'productId'>, at: Date): OutboxMessage {
  return {
    routingKey: SALE_SOLD_OUT,
    aggregateId: sale.eventId,
    payload: { v: 1, eventId: sale.eventId, productId: sale.productId, soldOutAt: at.toISOString() },
  };
}
