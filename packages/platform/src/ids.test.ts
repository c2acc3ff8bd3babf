import { describe, expect, it } from 'vitest';
import { idKey, idSchema, normalizeId } from './ids.js';

const ID = '7C9E6679-7425-40DE-944B-E07FC1F90AE7';

describe('id normaliser', () => {
  it('gives the stored, lower-case form of a UUID in any case, and null for anything else', () => {
    expect(normalizeId(ID)).toBe(ID.toLowerCase());
    expect(normalizeId(ID.toLowerCase())).toBe(ID.toLowerCase());
    expect(normalizeId('not-an-id')).toBeNull();
    expect(normalizeId('')).toBeNull();
  });

  it('idKey leaves a value that is no UUID as it is, so a lookup by it finds nothing', () => {
    expect(idKey(ID)).toBe(ID.toLowerCase());
    expect(idKey('Product-1')).toBe('Product-1');
  });

  it('idSchema parses a body field to the stored form and names a bad one', () => {
    expect(idSchema.parse(ID)).toBe(ID.toLowerCase());
    const bad = idSchema.safeParse('abc');
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.message).toBe('Must be a UUID');
  });
});
