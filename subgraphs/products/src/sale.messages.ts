import { z } from '@bth/platform/env';
import type { OutboxMessage } from '@bth/platform/outbox';
import type { SaleRow } from './db/schema.js';

/**
 * The messages products exchanges with the events subgraph (contract in subgraphs/events/README.md).
 *
 * Consumed: `sale.scheduled` / `sale.updated` when an admin schedules a sale or changes its terms,
 * `sale.started` / `sale.ended` when it opens, closes or is cancelled. Products needs only the
 * first to sell on time (the clock opens and closes the window); the others confirm or call it
 * off. Read as a tolerant reader: only the fields inventory needs are checked, unknown fields are
 * ignored, and a payload that fails the check can never be applied (poison → DLQ).
 *
 * Published: `sale.sold_out`, when a reservation takes the last sale unit of an event.
 */
export const SALE_SCHEDULED = 'sale.scheduled';
export const SALE_UPDATED = 'sale.updated';
export const SALE_STARTED = 'sale.started';
export const SALE_ENDED = 'sale.ended';
export const SALE_SOLD_OUT = 'sale.sold_out';

/** Every routing key the `products.sales` queue is bound to, with the statuses its payload may carry. */
export const SALE_MESSAGE_STATUSES: Record<string, readonly SaleMessage['status'][]> = {
  [SALE_SCHEDULED]: ['SCHEDULED'],
  [SALE_UPDATED]: ['SCHEDULED'],
  [SALE_STARTED]: ['LIVE'],
  [SALE_ENDED]: ['ENDED', 'CANCELLED'],
};

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
  status: z.enum(['SCHEDULED', 'LIVE', 'ENDED', 'CANCELLED']),
  /** Orders versions of one event's terms; absent from publishers older than it (then 0). */
  revision: z.number().int().min(0).default(0),
});

export type SaleMessage = z.infer<typeof saleMessageSchema>;

export function saleSoldOutMessage(sale: Pick<SaleRow, 'eventId' | 'productId'>, at: Date): OutboxMessage {
  return {
    routingKey: SALE_SOLD_OUT,
    aggregateId: sale.eventId,
    payload: { v: 1, eventId: sale.eventId, productId: sale.productId, soldOutAt: at.toISOString() },
  };
}
