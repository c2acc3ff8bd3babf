import { describe, expect, it } from 'vitest';
import { FieldErrors } from '@bth/platform/errors';
import { checkQuantity, validateOrder } from './validation.js';

const fields = (errors: FieldErrors) => errors.list.map((e) => e.field);

describe('wishlist validation', () => {
  it('When the quantity is outside 1–100, then it is a field error', () => {
    for (const bad of [0, -1, 101, 1.5]) expect(fields(checkQuantity(new FieldErrors(), 'quantity', bad))).toEqual(['quantity']);
    for (const good of [1, 100]) expect(fields(checkQuantity(new FieldErrors(), 'quantity', good))).toEqual([]);
  });

  it('When every order field is broken, then each one is reported', () => {
    const errors = validateOrder({ postalCode: '123', address: '  ', phone: '0212345678' }, 'short');
    expect(fields(errors)).toEqual(['shipping.postalCode', 'shipping.address', 'shipping.phone', 'idempotencyKey']);
  });

  it('When the address holds control or direction characters, then it is a field error', () => {
    for (const address of ['Teheran\u0000ro 123', 'Teheran-ro \u202E321', 'x\uD800y']) {
      expect(fields(validateOrder({ postalCode: '06236', address, phone: '01012345678' }, 'key-12345')), JSON.stringify(address)).toEqual([
        'shipping.address',
      ]);
    }
  });

  it('When the order input is well-formed, then nothing is reported', () => {
    const errors = validateOrder(
      { postalCode: '06236', address: 'Teheran-ro 123', phone: '01012345678' },
      '3f1c2a9e-5a7b-4c1d-9e2f-0a1b2c3d4e5f',
    );
    expect(errors.list).toEqual([]);
  });
});
