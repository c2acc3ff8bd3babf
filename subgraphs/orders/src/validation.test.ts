import { describe, expect, it } from 'vitest';
import { hashRequest } from './order.service.js';
import { checkPlaceOrder, decodeCursor, encodeCursor } from './validation.js';

const A = '0b9a4c57-3f0e-4c67-9d63-0d0c8c2ab001';
const B = '0b9a4c57-3f0e-4c67-9d63-0d0c8c2ab002';
const SALE = '5f0c2a1e-6a1b-4c0e-8f5e-1d2c3b4a5e60';
const shipping = { postalCode: '06236', address: '  Teheran-ro 123  ', phone: '01012345678' };

describe('checkPlaceOrder', () => {
  it('accepts a valid order and normalises ids and the address', () => {
    const { errors, input } = checkPlaceOrder({
      lines: [{ productId: A.toUpperCase(), quantity: 1, saleEventId: SALE.toUpperCase() }],
      shipping,
      idempotencyKey: 'key-12345',
    });
    expect(errors.list).toEqual([]);
    expect(input.lines).toEqual([{ productId: A, quantity: 1, saleEventId: SALE }]);
    expect(input.shipping.address).toBe('Teheran-ro 123');
  });

  it('reports every broken rule at once, per field', () => {
    const { errors } = checkPlaceOrder({
      lines: [
        { productId: 'nope', quantity: 0 },
        { productId: A, quantity: 101, saleEventId: 'not-a-sale' },
        { productId: A, quantity: 1 },
      ],
      shipping: { postalCode: '123', address: ' ', phone: '0212345678' },
      idempotencyKey: 'short',
    });
    expect(errors.list.map((e) => e.field).sort()).toEqual(
      [
        'idempotencyKey',
        'lines[0].productId',
        'lines[0].quantity',
        'lines[1].quantity',
        'lines[1].saleEventId',
        'lines[2].productId',
        'shipping.address',
        'shipping.phone',
        'shipping.postalCode',
      ].sort(),
    );
  });
});

describe('hashRequest', () => {
  const input = (lines: Array<{ productId: string; quantity: number; saleEventId?: string }>) =>
    checkPlaceOrder({ lines, shipping, idempotencyKey: 'key-12345' }).input;

  it('is the same for the same lines in another order, and differs when the sale or a quantity differs', () => {
    const base = hashRequest(
      input([
        { productId: A, quantity: 1 },
        { productId: B, quantity: 2 },
      ]),
    );
    expect(
      hashRequest(
        input([
          { productId: B, quantity: 2 },
          { productId: A, quantity: 1 },
        ]),
      ),
    ).toBe(base);
    expect(
      hashRequest(
        input([
          { productId: A, quantity: 1, saleEventId: SALE },
          { productId: B, quantity: 2 },
        ]),
      ),
    ).not.toBe(base);
    expect(
      hashRequest(
        input([
          { productId: A, quantity: 2 },
          { productId: B, quantity: 2 },
        ]),
      ),
    ).not.toBe(base);
  });
});

describe('order cursor', () => {
  it('round-trips and refuses anything it did not issue', () => {
    const cursor = { createdAt: new Date('2026-11-25T14:00:00.123Z'), id: A };
    expect(decodeCursor(encodeCursor(cursor))).toEqual(cursor);
    expect(decodeCursor('garbage')).toBeNull();
  });
});

describe('shipping address text', () => {
  it('When the address holds control or direction characters, then it is a field error', () => {
    for (const address of ['Teheran\u0000ro 123', 'Teheran-ro \u202E321', 'x\uDC00y']) {
      const { errors } = checkPlaceOrder({
        lines: [{ productId: A, quantity: 1 }],
        shipping: { ...shipping, address },
        idempotencyKey: 'key-12345',
      });
      expect(
        errors.list.map((e) => e.field),
        JSON.stringify(address),
      ).toEqual(['shipping.address']);
    }
  });
});
