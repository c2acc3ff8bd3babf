import { decodeKeysetCursor, encodeKeysetCursor } from '@bth/platform/cursor';
import { FieldErrors } from '@bth/platform/errors';
import { isMobilePhone, isPlainText, isPostalCode, isUuid, textLength } from '@bth/platform/validation';
import type { OrderLineInput, PlaceOrderInput, ShippingInput } from './generated/graphql.js';

/**
 * Pure rules for order input. Every broken rule is collected so a client can fix them all in one
 * round, and nothing is written before they pass (principle 6).
 */
export const ORDER_LIMITS = {
  // The inventory contract takes at most 50 lines and 100 of one product per order.
  maxLines: 50,
  maxQuantity: 100,
  maxAddressLength: 100,
  // Long enough that a random key never collides by chance, short enough to index cheaply.
  idempotencyKeyMin: 8,
  idempotencyKeyMax: 100,
  maxPageSize: 100,
} as const;

/** What clients send is the schema's input types (generated); a line without `saleEventId` is a regular purchase. */
export type { OrderLineInput, PlaceOrderInput, ShippingInput };

// Printable ASCII without spaces: keys end up in logs and an ASCII index.
const KEY_PATTERN = /^[\x21-\x7e]+$/;

export function checkIdempotencyKey(errors: FieldErrors, field: string, key: string): FieldErrors {
  return errors.check(
    key.length >= ORDER_LIMITS.idempotencyKeyMin && key.length <= ORDER_LIMITS.idempotencyKeyMax && KEY_PATTERN.test(key),
    field,
    `Use ${ORDER_LIMITS.idempotencyKeyMin} to ${ORDER_LIMITS.idempotencyKeyMax} visible ASCII characters (a UUID is a good key)`,
  );
}

/** Checks a `placeOrder` input; returns the errors and the normalised input (trimmed address). */
export function checkPlaceOrder(input: PlaceOrderInput): { errors: FieldErrors; input: PlaceOrderInput } {
  const errors = new FieldErrors();
  const { lines } = input;
  errors.check(lines.length >= 1 && lines.length <= ORDER_LIMITS.maxLines, 'lines', `An order has 1 to ${ORDER_LIMITS.maxLines} lines`);
  const seen = new Set<string>();
  lines.slice(0, ORDER_LIMITS.maxLines).forEach((line, i) => {
    if (!isUuid(line.productId)) errors.add(`lines[${i}].productId`, 'Not a product id');
    else if (seen.has(line.productId.toLowerCase())) errors.add(`lines[${i}].productId`, 'Each product may appear only once per order');
    seen.add(line.productId.toLowerCase());
    errors.check(
      Number.isInteger(line.quantity) && line.quantity >= 1 && line.quantity <= ORDER_LIMITS.maxQuantity,
      `lines[${i}].quantity`,
      `The quantity must be 1 to ${ORDER_LIMITS.maxQuantity}`,
    );
    if (line.saleEventId != null && !isUuid(line.saleEventId)) errors.add(`lines[${i}].saleEventId`, 'Not a sale event id');
  });
  const address = input.shipping.address.trim();
  errors.check(isPostalCode(input.shipping.postalCode), 'shipping.postalCode', 'Enter a 5-digit postal code');
  errors.check(
    textLength(address) >= 1 && textLength(address) <= ORDER_LIMITS.maxAddressLength,
    'shipping.address',
    `Enter the address (at most ${ORDER_LIMITS.maxAddressLength} characters)`,
  );
  errors.check(isPlainText(address), 'shipping.address', 'Only printable text: no control or text-direction characters');
  errors.check(isMobilePhone(input.shipping.phone), 'shipping.phone', 'Enter a mobile number such as 01012345678');
  checkIdempotencyKey(errors, 'idempotencyKey', input.idempotencyKey);
  return {
    errors,
    input: {
      lines: lines.map((l) => ({
        productId: l.productId.toLowerCase(),
        quantity: l.quantity,
        ...(l.saleEventId ? { saleEventId: l.saleEventId.toLowerCase() } : {}),
      })),
      shipping: { postalCode: input.shipping.postalCode, address, phone: input.shipping.phone },
      idempotencyKey: input.idempotencyKey,
    },
  };
}

export function checkPageSize(errors: FieldErrors, field: string, first: number): FieldErrors {
  return errors.check(
    Number.isInteger(first) && first >= 1 && first <= ORDER_LIMITS.maxPageSize,
    field,
    `Ask for 1 to ${ORDER_LIMITS.maxPageSize} orders`,
  );
}

/** Cursor of `myOrders`: (createdAt, id) of a page's last order (newest first, id breaks ties), platform's codec. */
export interface OrderCursor {
  createdAt: Date;
  id: string;
}

export const encodeCursor = (cursor: OrderCursor): string => encodeKeysetCursor([cursor.createdAt, cursor.id]);

export function decodeCursor(value: string): OrderCursor | null {
  const parts = decodeKeysetCursor(value, ['time', 'uuid']);
  return parts && { createdAt: parts[0], id: parts[1] };
}
