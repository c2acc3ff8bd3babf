import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor, sortKeyOf } from './listing-cursor.js';

const id = '0b7c4c9e-8f5a-4d59-9a43-2f1b6a1d9e10';
const row = { id, createdAt: new Date('2026-11-25T14:00:00.123Z'), price: 12_900, name: '홍삼 Gold' };

describe('listing cursors', () => {
  it('round-trips the sort key of each order', () => {
    for (const order of ['NEWEST', 'PRICE_ASC', 'PRICE_DESC', 'NAME_ASC'] as const) {
      const key = sortKeyOf(order, row);
      expect(decodeCursor(order, encodeCursor(order, key))).toEqual(key);
    }
    expect(sortKeyOf('NEWEST', row).value).toBe(row.createdAt.getTime());
    expect(sortKeyOf('NAME_ASC', row).value).toBe('홍삼 Gold');
  });

  it('is opaque: URL-safe base64 without padding', () => {
    expect(encodeCursor('NAME_ASC', sortKeyOf('NAME_ASC', row))).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  it('refuses cursors of another order, wrong value types, bad ids and garbage', () => {
    const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    expect(decodeCursor('PRICE_DESC', encodeCursor('PRICE_ASC', { value: 1, id }))).toBeNull();
    expect(decodeCursor('PRICE_ASC', b64(['PRICE_ASC', '1', id]))).toBeNull();
    expect(decodeCursor('PRICE_ASC', b64(['PRICE_ASC', 1.5, id]))).toBeNull();
    expect(decodeCursor('NAME_ASC', b64(['NAME_ASC', 3, id]))).toBeNull();
    expect(decodeCursor('NEWEST', b64(['NEWEST', 1, 'x']))).toBeNull();
    expect(decodeCursor('NEWEST', b64({ order: 'NEWEST' }))).toBeNull();
    expect(decodeCursor('NEWEST', 'not base64!')).toBeNull();
    expect(decodeCursor('NEWEST', '')).toBeNull();
    expect(decodeCursor('NEWEST', 'a'.repeat(401))).toBeNull();
  });
});
