import { z } from '@bth/platform/env';
import type { OutboxMessage } from '@bth/platform/outbox';
import type { SaleEventRow } from './db/schema.js';

/**
 * The message contract of the events subgraph (see README "Messages"). Published on the topic
 * exchange `AMQP_EXCHANGE`; the AMQP `messageId` is unique per message and is what consumers
 * deduplicate on; the AMQP `timestamp` is when the transition happened (seconds).
 *
 * `v` versions the payload: a change that would break a consumer gets a new number and both
 * are published during the switch-over; adding an optional field does not bump it.
 */
/**
 * `sale.scheduled` (an admin created the event) and `sale.updated` (changed its terms while it was
 * scheduled) give products the whole window ahead of time: it opens and closes the sale by the
 * clock, so a broker that is down at `startsAt` or `endsAt` changes nothing for buyers.
 * `sale.started` / `sale.ended` confirm the transition (and `sale.ended` with CANCELLED calls
 * the sale off).
 */
export const SALE_SCHEDULED = 'sale.scheduled';
export const SALE_UPDATED = 'sale.updated';
export const SALE_STARTED = 'sale.started';
export const SALE_ENDED = 'sale.ended';
export type SaleRoutingKey = typeof SALE_SCHEDULED | typeof SALE_UPDATED | typeof SALE_STARTED | typeof SALE_ENDED;

/**
 * Why a sale ended: its window passed while it was live (ENDED), an admin cancelled it
 * (CANCELLED), or its whole window passed before it could be opened, e.g. while the service was
 * down (MISSED; such an event was never announced as started, though products sold it by the
 * clock during its window, as it does whenever the announcement is late).
 */
export type SaleEndReason = 'ENDED' | 'CANCELLED' | 'MISSED';

export interface SaleMessageV1 {
  v: 1;
  eventId: string;
  productId: string;
  salePrice: number;
  quantity: number;
  perUserLimit: number;
  /** ISO-8601 UTC. */
  startsAt: string;
  /** ISO-8601 UTC; the sale is over at this instant whatever the messages say. */
  endsAt: string;
  /**
   * The event's status after the change: SCHEDULED for `sale.scheduled` / `sale.updated`, LIVE for
   * `sale.started`, ENDED or CANCELLED for `sale.ended`.
   */
  status: 'SCHEDULED' | 'LIVE' | 'ENDED' | 'CANCELLED';
  /**
   * Orders the versions of one event's terms (the row's last change, epoch ms): a consumer applies
   * a `sale.updated` only over an older revision, so a late or redelivered one never rolls back.
   */
  revision: number;
  /** Only on `sale.ended`. */
  reason?: SaleEndReason;
}

export function saleMessage(row: SaleEventRow, reason?: SaleEndReason): SaleMessageV1 {
  return {
    v: 1,
    eventId: row.id,
    productId: row.productId,
    salePrice: row.salePrice,
    quantity: row.quantity,
    perUserLimit: row.perUserLimit,
    startsAt: row.startsAt.toISOString(),
    endsAt: row.endsAt.toISOString(),
    status: row.status,
    revision: row.updatedAt.getTime(),
    ...(reason ? { reason } : {}),
  };
}

/** The outbox message for a transition the same transaction just made (`row` is the row after it). */
export function saleOutboxMessage(row: SaleEventRow, routingKey: SaleRoutingKey, reason?: SaleEndReason): OutboxMessage {
  return { routingKey, aggregateId: row.id, payload: saleMessage(row, reason) };
}

/**
 * Consumed: `sale.sold_out`, published by products when a reservation takes the last sale unit of
 * an event. Checked strictly: a payload that fails this can never be applied (poison → DLQ).
 */
export const SALE_SOLD_OUT = 'sale.sold_out';

export const saleSoldOutSchema = z.object({
  v: z.literal(1),
  eventId: z.uuid(),
  productId: z.uuid(),
  soldOutAt: z.iso.datetime({ offset: true }).transform((value) => new Date(value)),
});

export type SaleSoldOutMessage = z.infer<typeof saleSoldOutSchema>;
