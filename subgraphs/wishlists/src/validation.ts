import { FieldErrors } from '@bth/platform/errors';
import { isMobilePhone, isPlainText, isPostalCode, textLength } from '@bth/platform/validation';
import type { ShippingInput } from './generated/graphql.js';

/** Pure rules for wishlist input; every broken rule is collected so a client can show them all at once. */
export const WISHLIST_LIMITS = {
  /** Per product, the same bound orders puts on one order line. */
  maxQuantity: 100,
  /** Different products per wishlist: orders takes at most 50 lines, and the wishlist is ordered as one order. */
  maxItems: 50,
} as const;

/**
 * The rule orders applies to its idempotency keys (8–100 visible ASCII characters), so a key is
 * refused here with a field error rather than after the call.
 */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{8,100}$/;

/** The schema's input type (generated). */
export type { ShippingInput };

export function checkQuantity(errors: FieldErrors, field: string, quantity: number): FieldErrors {
  return errors.check(
    Number.isInteger(quantity) && quantity >= 1 && quantity <= WISHLIST_LIMITS.maxQuantity,
    field,
    `The quantity must be between 1 and ${WISHLIST_LIMITS.maxQuantity}`,
  );
}

export function validateOrder(shipping: ShippingInput, idempotencyKey: string): FieldErrors {
  const errors = new FieldErrors();
  errors.check(isPostalCode(shipping.postalCode), 'shipping.postalCode', 'Enter a 5-digit postal code');
  const length = textLength(shipping.address.trim());
  errors.check(length >= 1 && length <= 100, 'shipping.address', 'Enter the address (at most 100 characters)');
  errors.check(isPlainText(shipping.address), 'shipping.address', 'Only printable text: no control or text-direction characters');
  errors.check(isMobilePhone(shipping.phone), 'shipping.phone', 'Enter a mobile number such as 01012345678');
  errors.check(IDEMPOTENCY_KEY.test(idempotencyKey), 'idempotencyKey', 'Use 8 to 100 visible ASCII characters (a UUID is a good key)');
  return errors;
}
