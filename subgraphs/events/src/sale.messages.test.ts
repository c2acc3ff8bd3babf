import { describe, expect, it } from 'vitest';
import type { SaleEventRow } from './db/schema.js';
import { SALE_ENDED, SALE_SCHEDULED, SALE_UPDATED, saleMessage, saleOutboxMessage, saleSoldOutSchema } from './sale.messages.js';

const row: SaleEventRow = {
  id: '5c1f3c1e-7a0e-4b7e-8a39-2b8f6b0d9e01',
  name: 'Flash',
  productId: '0b6f1a52-3c3e-4a53-9d55-3b1f0c3c8a11',
  salePrice: 4_900,
  quantity: 100,
  perUserLimit: 1,
  startsAt: new Date('2026-11-25T14:00:00.000Z'),
  endsAt: new Date('2026-11-25T15:00:00.000Z'),
  status: 'LIVE',
  openedAt: new Date('2026-11-25T14:00:00.120Z'),
  closedAt: null,
  soldOutAt: null,
  createdAt: new Date('2026-11-20T09:00:00.000Z'),
  updatedAt: new Date('2026-11-25T14:00:00.120Z'),
};

describe('sale messages', () => {
  it('carries the v1 contract fields, with ISO times and no reason on a start', () => {
    expect(saleMessage(row)).toEqual({
      v: 1,
      eventId: row.id,
      productId: row.productId,
      salePrice: 4_900,
      quantity: 100,
      perUserLimit: 1,
      startsAt: '2026-11-25T14:00:00.000Z',
      endsAt: '2026-11-25T15:00:00.000Z',
      status: 'LIVE',
      revision: row.updatedAt.getTime(),
    });
  });

  it('names the reason on an end and is keyed by the event', () => {
    const message = saleOutboxMessage({ ...row, status: 'ENDED' }, SALE_ENDED, 'MISSED');
    expect(message).toMatchObject({ routingKey: 'sale.ended', aggregateId: row.id, payload: { status: 'ENDED', reason: 'MISSED' } });
  });

  it('announces a scheduled event with its whole window, and each change of terms with a newer revision', () => {
    const scheduled = { ...row, status: 'SCHEDULED' as const, openedAt: null, updatedAt: row.createdAt };
    expect(saleOutboxMessage(scheduled, SALE_SCHEDULED)).toMatchObject({
      routingKey: 'sale.scheduled',
      aggregateId: row.id,
      payload: {
        status: 'SCHEDULED',
        startsAt: '2026-11-25T14:00:00.000Z',
        endsAt: '2026-11-25T15:00:00.000Z',
        revision: row.createdAt.getTime(),
      },
    });
    const updated = saleOutboxMessage({ ...scheduled, salePrice: 3_900, updatedAt: new Date('2026-11-21T09:00:00.000Z') }, SALE_UPDATED);
    expect(updated.payload).toMatchObject({ salePrice: 3_900 });
    expect((updated.payload as { revision: number }).revision).toBeGreaterThan(row.createdAt.getTime());
  });

  it('reads sale.sold_out strictly', () => {
    const good = { v: 1, eventId: row.id, productId: row.productId, soldOutAt: '2026-11-25T14:03:00.000Z' };
    expect(saleSoldOutSchema.parse(good).soldOutAt).toEqual(new Date('2026-11-25T14:03:00.000Z'));
    expect(saleSoldOutSchema.safeParse({ ...good, v: 2 }).success).toBe(false);
    expect(saleSoldOutSchema.safeParse({ ...good, eventId: 'nope' }).success).toBe(false);
    expect(saleSoldOutSchema.safeParse({ ...good, soldOutAt: 'yesterday' }).success).toBe(false);
  });
});
