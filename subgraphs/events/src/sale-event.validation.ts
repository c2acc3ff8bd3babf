import { FieldErrors } from '@bth/platform/errors';
import { INVALID_DATE_MESSAGE, isValidDate } from '@bth/platform/scalars';
import { isPlainText, textLength } from '@bth/platform/validation';
import type { CreateSaleEventInput, UpdateSaleEventInput } from './generated/graphql.js';
import { decodeCursor, windowsOverlap, type ListingKey } from './sale-event.model.js';

/**
 * Pure rules for sale event input. Every broken rule is collected, so an admin form can mark all
 * fields in one round, and nothing is written unless the list is empty (principle 6). The rules
 * that need the outside world take its answer as an argument: the product's regular price (asked
 * of products) and the product's other scheduled or live events (read under the product lock).
 */
export const SALE_EVENT_LIMITS = {
  nameLength: 100,
  // A million units is beyond any warehouse here (products caps stock the same way).
  maxQuantity: 1_000_000,
  // Clocks of the admin's machine, the router and this service differ a little; "now" typed into a
  // form arrives a moment late. 5 s forgives that without letting a real past date through.
  pastToleranceMs: 5_000,
  pageSize: 100,
  defaultPageSize: 20,
} as const;

/** The terms of an event (everything but the product, which never changes). */
export interface SaleEventTerms {
  name: string;
  salePrice: number;
  quantity: number;
  perUserLimit: number;
  startsAt: Date;
  endsAt: Date;
}

/** What clients send is the schema's input types; in an update, omitted or null fields keep their value. */
export type { CreateSaleEventInput, UpdateSaleEventInput };

const isCount = (n: number, min: number, max: number) => Number.isInteger(n) && n >= min && n <= max;

/** Rules every event must satisfy, whether new or edited; the start is only held to "not past" when it is input. */
function checkTerms(errors: FieldErrors, terms: SaleEventTerms, now: Date, startChanged: boolean): void {
  const nameLength = textLength(terms.name);
  errors.check(
    nameLength >= 1 && nameLength <= SALE_EVENT_LIMITS.nameLength,
    'name',
    `The name must be 1 to ${SALE_EVENT_LIMITS.nameLength} characters long`,
  );
  errors.check(isPlainText(terms.name), 'name', 'Only printable text: no control or text-direction characters');
  errors.check(Number.isInteger(terms.salePrice) && terms.salePrice >= 0, 'salePrice', 'The sale price must be 0 won or more');
  errors.check(
    isCount(terms.quantity, 1, SALE_EVENT_LIMITS.maxQuantity),
    'quantity',
    `The quantity must be 1 to ${SALE_EVENT_LIMITS.maxQuantity} units`,
  );
  const limitMax = isCount(terms.quantity, 1, SALE_EVENT_LIMITS.maxQuantity) ? terms.quantity : SALE_EVENT_LIMITS.maxQuantity;
  errors.check(
    isCount(terms.perUserLimit, 1, limitMax),
    'perUserLimit',
    'The per-member limit must be at least 1 and at most the quantity',
  );
  // The DateTime scalar lets a malformed date through as an Invalid Date so that it is named here.
  const startValid = isValidDate(terms.startsAt);
  const endValid = isValidDate(terms.endsAt);
  errors.check(startValid, 'startsAt', INVALID_DATE_MESSAGE);
  errors.check(endValid, 'endsAt', INVALID_DATE_MESSAGE);
  // An unchanged start of a scheduled event may be a moment past (due, not yet opened): not the admin's input.
  if (startChanged && startValid) {
    errors.check(
      terms.startsAt.getTime() >= now.getTime() - SALE_EVENT_LIMITS.pastToleranceMs,
      'startsAt',
      'The start may not be in the past',
    );
  }
  if (startValid && endValid) errors.check(terms.endsAt.getTime() > terms.startsAt.getTime(), 'endsAt', 'The end must be after the start');
}

export function validateCreateSaleEvent(input: CreateSaleEventInput, now: Date): { errors: FieldErrors; event: CreateSaleEventInput } {
  const errors = new FieldErrors();
  const event: CreateSaleEventInput = { ...input, name: input.name.trim(), productId: input.productId.toLowerCase() };
  checkTerms(errors, event, now, true);
  return { errors, event };
}

/** The edited terms (current values where the input is null or omitted), checked as a whole. */
export function validateUpdateSaleEvent(
  current: SaleEventTerms,
  input: UpdateSaleEventInput,
  now: Date,
): { errors: FieldErrors; terms: SaleEventTerms } {
  const errors = new FieldErrors();
  const terms: SaleEventTerms = {
    name: input.name != null ? input.name.trim() : current.name,
    salePrice: input.salePrice ?? current.salePrice,
    quantity: input.quantity ?? current.quantity,
    perUserLimit: input.perUserLimit ?? current.perUserLimit,
    startsAt: input.startsAt ?? current.startsAt,
    endsAt: input.endsAt ?? current.endsAt,
  };
  const startChanged = input.startsAt != null && input.startsAt.getTime() !== current.startsAt.getTime();
  checkTerms(errors, terms, now, startChanged);
  return { errors, terms };
}

/**
 * The product's answer: a null regular price means products has no such product (or the id is no
 * product id at all, which is the same to the admin). The sale price
 * must be strictly below the regular one (a "sale" at the full price is a mistake).
 */
export function checkAgainstProduct(errors: FieldErrors, salePrice: number, regularPrice: number | null): FieldErrors {
  if (regularPrice === null) return errors.add('productId', 'No such product in the catalogue');
  return errors.check(salePrice < regularPrice, 'salePrice', `The sale price must be below the regular price of ${regularPrice} won`);
}

/** The first of the product's other blocking events whose window overlaps, as a field error. */
export function checkNoOverlap(
  errors: FieldErrors,
  window: { startsAt: Date; endsAt: Date },
  others: ReadonlyArray<{ id: string; startsAt: Date; endsAt: Date }>,
): FieldErrors {
  const clash = others.find((other) => windowsOverlap(window, other));
  if (!clash) return errors;
  return errors.add(
    'startsAt',
    `The window overlaps event ${clash.id} (${clash.startsAt.toISOString()} – ${clash.endsAt.toISOString()}) of the same product`,
  );
}

export function validatePage(
  first: number | null | undefined,
  after: string | null | undefined,
): { errors: FieldErrors; first: number; after: ListingKey | null } {
  const errors = new FieldErrors();
  const size = first ?? SALE_EVENT_LIMITS.defaultPageSize;
  errors.check(isCount(size, 1, SALE_EVENT_LIMITS.pageSize), 'first', `Ask for 1 to ${SALE_EVENT_LIMITS.pageSize} events per page`);
  let key: ListingKey | null = null;
  if (after != null) {
    key = decodeCursor(after);
    errors.check(key !== null, 'after', 'Not a cursor from this list; start again from the first page');
  }
  return { errors, first: size, after: key };
}
