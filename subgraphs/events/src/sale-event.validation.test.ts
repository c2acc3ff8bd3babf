import { describe, expect, it } from 'vitest';
import { FieldErrors } from '@bth/platform/errors';
import { encodeCursor } from './sale-event.model.js';
import {
  SALE_EVENT_LIMITS,
  checkAgainstProduct,
  checkNoOverlap,
  validateCreateSaleEvent,
  validatePage,
  validateUpdateSaleEvent,
  type CreateSaleEventInput,
} from './sale-event.validation.js';

const NOW = new Date('2026-11-25T13:00:00.000Z');
const at = (offsetMs: number) => new Date(NOW.getTime() + offsetMs);
const HOUR = 3_600_000;
const PRODUCT = '0b6f1a52-3c3e-4a53-9d55-3b1f0c3c8a11';

const valid: CreateSaleEventInput = {
  name: 'Vitamin C flash sale',
  productId: PRODUCT,
  salePrice: 4_900,
  quantity: 100,
  perUserLimit: 1,
  startsAt: at(HOUR),
  endsAt: at(2 * HOUR),
};
const fields = (errors: FieldErrors) => errors.list.map((e) => e.field).sort();

describe('validateCreateSaleEvent', () => {
  it('names each malformed date (the DateTime scalar passes it on as an Invalid Date) and nothing derived from it', () => {
    const bad = validateCreateSaleEvent({ ...valid, startsAt: new Date(NaN), endsAt: new Date(NaN) }, NOW);
    expect(bad.errors.list).toEqual([
      { field: 'startsAt', message: expect.stringMatching(/ISO-8601/) },
      { field: 'endsAt', message: expect.stringMatching(/ISO-8601/) },
    ]);
    expect(fields(validateCreateSaleEvent({ ...valid, endsAt: new Date(NaN) }, NOW).errors)).toEqual(['endsAt']);
  });

  it('accepts a valid event, trims the name and lower-cases the product id', () => {
    const result = validateCreateSaleEvent({ ...valid, name: '  Flash  ', productId: PRODUCT.toUpperCase() }, NOW);
    expect(result.errors.list).toEqual([]);
    expect(result.event).toMatchObject({ name: 'Flash', productId: PRODUCT });
  });

  it('accepts the limits exactly', () => {
    const edge = { ...valid, name: '세'.repeat(100), salePrice: 0, quantity: 1_000_000, perUserLimit: 1_000_000 };
    expect(validateCreateSaleEvent(edge, NOW).errors.list).toEqual([]);
    expect(validateCreateSaleEvent({ ...valid, quantity: 1, perUserLimit: 1 }, NOW).errors.list).toEqual([]);
  });

  it('reports every broken rule at once', () => {
    const result = validateCreateSaleEvent(
      { ...valid, name: '   ', salePrice: -1, quantity: 0, perUserLimit: 0, startsAt: at(-HOUR), endsAt: at(-2 * HOUR) },
      NOW,
    );
    expect(fields(result.errors)).toEqual(['endsAt', 'name', 'perUserLimit', 'quantity', 'salePrice', 'startsAt']);
  });

  it('refuses a name over 100 characters, counting Hangul as one each', () => {
    expect(fields(validateCreateSaleEvent({ ...valid, name: '세'.repeat(101) }, NOW).errors)).toEqual(['name']);
  });

  it('refuses more than a million units and a per-member limit above the quantity', () => {
    expect(fields(validateCreateSaleEvent({ ...valid, quantity: 1_000_001 }, NOW).errors)).toEqual(['quantity']);
    expect(fields(validateCreateSaleEvent({ ...valid, quantity: 5, perUserLimit: 6 }, NOW).errors)).toEqual(['perUserLimit']);
  });

  it('tolerates a start up to 5 s in the past, not more', () => {
    const tolerance = SALE_EVENT_LIMITS.pastToleranceMs;
    expect(validateCreateSaleEvent({ ...valid, startsAt: at(-tolerance) }, NOW).errors.list).toEqual([]);
    expect(fields(validateCreateSaleEvent({ ...valid, startsAt: at(-tolerance - 1) }, NOW).errors)).toEqual(['startsAt']);
  });

  it('refuses an end equal to the start (the window is half-open, so it would be empty)', () => {
    expect(fields(validateCreateSaleEvent({ ...valid, endsAt: valid.startsAt }, NOW).errors)).toEqual(['endsAt']);
  });
});

describe('validateUpdateSaleEvent', () => {
  const current = { name: 'Old', salePrice: 4_900, quantity: 10, perUserLimit: 2, startsAt: at(HOUR), endsAt: at(2 * HOUR) };

  it('keeps omitted and null fields and checks the merged terms', () => {
    const result = validateUpdateSaleEvent(current, { name: ' New ', quantity: null }, NOW);
    expect(result.errors.list).toEqual([]);
    expect(result.terms).toEqual({ ...current, name: 'New' });
  });

  it('checks cross-field rules against the current values', () => {
    expect(fields(validateUpdateSaleEvent(current, { quantity: 1 }, NOW).errors)).toEqual(['perUserLimit']);
    expect(fields(validateUpdateSaleEvent(current, { startsAt: at(3 * HOUR) }, NOW).errors)).toEqual(['endsAt']);
  });

  it('holds only a changed start to "not in the past"', () => {
    const due = { ...current, startsAt: at(-1_000 - SALE_EVENT_LIMITS.pastToleranceMs) };
    expect(validateUpdateSaleEvent(due, { name: 'Renamed' }, NOW).errors.list).toEqual([]);
    expect(fields(validateUpdateSaleEvent(current, { startsAt: at(-HOUR) }, NOW).errors)).toEqual(['startsAt']);
  });
});

describe('checkAgainstProduct', () => {
  it('names the product when products has no such product', () => {
    expect(checkAgainstProduct(new FieldErrors(), 100, null).list).toEqual([{ field: 'productId', message: expect.any(String) }]);
  });

  it('wants the sale price strictly below the regular price', () => {
    expect(checkAgainstProduct(new FieldErrors(), 12_899, 12_900).list).toEqual([]);
    expect(fields(checkAgainstProduct(new FieldErrors(), 12_900, 12_900))).toEqual(['salePrice']);
    expect(fields(checkAgainstProduct(new FieldErrors(), 0, 0))).toEqual(['salePrice']);
  });
});

describe('checkNoOverlap', () => {
  const other = { id: 'e1', startsAt: at(HOUR), endsAt: at(2 * HOUR) };

  it('allows windows that only touch (half-open)', () => {
    expect(checkNoOverlap(new FieldErrors(), { startsAt: at(2 * HOUR), endsAt: at(3 * HOUR) }, [other]).list).toEqual([]);
    expect(checkNoOverlap(new FieldErrors(), { startsAt: at(0), endsAt: at(HOUR) }, [other]).list).toEqual([]);
  });

  it('refuses any shared instant, naming the other event', () => {
    for (const window of [
      { startsAt: at(HOUR + 1), endsAt: at(HOUR + 2) },
      { startsAt: at(0), endsAt: at(HOUR + 1) },
      { startsAt: at(2 * HOUR - 1), endsAt: at(3 * HOUR) },
      { startsAt: at(0), endsAt: at(3 * HOUR) },
    ]) {
      const list = checkNoOverlap(new FieldErrors(), window, [other]).list;
      expect(list).toHaveLength(1);
      expect(list[0]).toMatchObject({ field: 'startsAt', message: expect.stringContaining('e1') });
    }
  });
});

describe('validatePage', () => {
  it('defaults to 20 and accepts 1 to 100', () => {
    expect(validatePage(undefined, undefined)).toMatchObject({ first: 20, after: null });
    expect(validatePage(1, null).errors.list).toEqual([]);
    expect(validatePage(100, null).errors.list).toEqual([]);
    expect(fields(validatePage(0, null).errors)).toEqual(['first']);
    expect(fields(validatePage(101, null).errors)).toEqual(['first']);
  });

  it('decodes a cursor this API issued and refuses anything else', () => {
    const key = { startsAt: at(HOUR), id: PRODUCT };
    expect(validatePage(10, encodeCursor(key)).after).toEqual(key);
    expect(fields(validatePage(10, 'garbage').errors)).toEqual(['after']);
    expect(fields(validatePage(10, Buffer.from('[1,"x"]').toString('base64url')).errors)).toEqual(['after']);
  });
});

describe('validateUpdateSaleEvent with a malformed date', () => {
  it('names the field instead of keeping the current value', () => {
    const current = { name: 'x', salePrice: 1, quantity: 10, perUserLimit: 1, startsAt: at(HOUR), endsAt: at(2 * HOUR) };
    expect(fields(validateUpdateSaleEvent(current, { startsAt: new Date(NaN) }, NOW).errors)).toEqual(['startsAt']);
    expect(fields(validateUpdateSaleEvent(current, { endsAt: new Date(NaN) }, NOW).errors)).toEqual(['endsAt']);
  });
});

describe('sale event names', () => {
  it('When the name holds control or direction characters, then it is a field error', () => {
    for (const name of ['Flash\u0000sale', 'abc\u202Edcba', 'x\uD800y']) {
      expect(
        validateCreateSaleEvent({ ...valid, name }, NOW).errors.list.map((e) => e.field),
        JSON.stringify(name),
      ).toEqual(['name']);
    }
  });
});
