import { describe, expect, it } from 'vitest';
import { decodeKeysetCursor, encodeKeysetCursor } from './cursor.js';

const ID = '7c9e6679-7425-40de-944b-e07fc1f90ae7';

describe('cursor codec', () => {
  it('round-trips each kind of part', () => {
    const at = new Date('2026-11-25T14:00:00.123Z');
    expect(decodeKeysetCursor(encodeKeysetCursor([at, ID]), ['time', 'uuid'])).toEqual([at, ID]);
    expect(decodeKeysetCursor(encodeKeysetCursor(['NAME_ASC', 'Omega "3" / 한글', ID]), ['string', 'string', 'uuid'])).toEqual([
      'NAME_ASC',
      'Omega "3" / 한글',
      ID,
    ]);
    expect(decodeKeysetCursor(encodeKeysetCursor(['PRICE_ASC', 15_000, ID]), ['string', 'int', 'uuid'])).toEqual(['PRICE_ASC', 15_000, ID]);
  });

  it('is opaque and URL-safe', () => {
    expect(encodeKeysetCursor([new Date(0), ID])).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  it('answers null for anything it did not issue', () => {
    const shape = ['time', 'uuid'] as const;
    expect(decodeKeysetCursor('', shape)).toBeNull();
    expect(decodeKeysetCursor('garbage!', shape)).toBeNull();
    expect(decodeKeysetCursor('a'.repeat(401), shape)).toBeNull();
    expect(decodeKeysetCursor(Buffer.from('not json').toString('base64url'), shape)).toBeNull();
    expect(decodeKeysetCursor(Buffer.from('{"a":1}').toString('base64url'), shape)).toBeNull();
    // Wrong arity, wrong kinds, an id that is no UUID, a time that is not a whole number.
    expect(decodeKeysetCursor(encodeKeysetCursor([1, ID, 'extra']), shape)).toBeNull();
    expect(decodeKeysetCursor(encodeKeysetCursor([ID, 1]), shape)).toBeNull();
    expect(decodeKeysetCursor(encodeKeysetCursor([1, 'not-a-uuid']), shape)).toBeNull();
    expect(decodeKeysetCursor(encodeKeysetCursor([1.5, ID]), shape)).toBeNull();
    expect(decodeKeysetCursor(encodeKeysetCursor([8.64e15 + 1, ID]), shape)).toBeNull();
    expect(decodeKeysetCursor(encodeKeysetCursor(['PRICE_ASC', 'cheap', ID]), ['string', 'int', 'uuid'])).toBeNull();
  });
});
