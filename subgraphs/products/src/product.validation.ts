import { FieldErrors } from '@bth/platform/errors';
import { isPlainText, textLength } from '@bth/platform/validation';
import type { ProductFunction, ProductType } from './db/schema.js';
import type { CreateProductInput, UpdateProductInput } from './generated/graphql.js';
import { decodeCursor, type ProductOrder, type SortKey } from './listing-cursor.js';

/**
 * Pure rules for catalogue input. Every broken rule is collected, so an admin form can mark all
 * fields in one round, and nothing is written unless the list is empty.
 */
export const LIMITS = {
  nameLength: 50,
  producerLength: 30,
  // 100 million won: far above any supplement, low enough that a typo of extra zeros is caught.
  price: 100_000_000,
  // A million units of one product is beyond any warehouse here; also keeps sums far from 2^31.
  stock: 1_000_000,
  nutritionFactsLength: 250,
  reasonLength: 200,
  pageSize: 100,
  defaultPageSize: 20,
} as const;

export interface ProductFields {
  name: string;
  producer: string;
  price: number;
  function: ProductFunction;
  type: ProductType;
  nutritionFacts: string | null;
}

/** What clients send is the schema's input types; in an update, omitted or null fields keep their value. */
export type { CreateProductInput, UpdateProductInput };

const PLAIN_TEXT = 'Only printable text: no control or text-direction characters';

const normaliseFacts = (facts: string | null | undefined) => {
  const trimmed = facts?.trim() ?? '';
  return trimmed === '' ? null : trimmed;
};

function checkName(errors: FieldErrors, name: string) {
  const length = textLength(name);
  errors.check(length >= 1 && length <= LIMITS.nameLength, 'name', `The name must be 1 to ${LIMITS.nameLength} characters long`);
  errors.check(isPlainText(name), 'name', PLAIN_TEXT);
}
function checkProducer(errors: FieldErrors, producer: string) {
  const length = textLength(producer);
  errors.check(
    length >= 1 && length <= LIMITS.producerLength,
    'producer',
    `The producer must be 1 to ${LIMITS.producerLength} characters long`,
  );
  errors.check(isPlainText(producer), 'producer', PLAIN_TEXT);
}
function checkPrice(errors: FieldErrors, price: number) {
  errors.check(Number.isInteger(price) && price >= 0 && price <= LIMITS.price, 'price', `The price must be 0 to ${LIMITS.price} won`);
}
function checkFacts(errors: FieldErrors, facts: string | null) {
  errors.check(
    facts === null || textLength(facts) <= LIMITS.nutritionFactsLength,
    'nutritionFacts',
    `Nutrition facts may be at most ${LIMITS.nutritionFactsLength} characters long`,
  );
  errors.check(facts === null || isPlainText(facts, { multiline: true }), 'nutritionFacts', PLAIN_TEXT);
}

export function validateCreateProduct(input: CreateProductInput): { errors: FieldErrors; fields: ProductFields; stock: number } {
  const errors = new FieldErrors();
  const fields: ProductFields = {
    name: input.name.trim(),
    producer: input.producer.trim(),
    price: input.price,
    function: input.function,
    type: input.type,
    nutritionFacts: normaliseFacts(input.nutritionFacts),
  };
  checkName(errors, fields.name);
  checkProducer(errors, fields.producer);
  checkPrice(errors, fields.price);
  checkFacts(errors, fields.nutritionFacts);
  errors.check(
    Number.isInteger(input.stock) && input.stock >= 0 && input.stock <= LIMITS.stock,
    'stock',
    `The stock must be 0 to ${LIMITS.stock} units`,
  );
  return { errors, fields, stock: input.stock };
}

export function validateUpdateProduct(input: UpdateProductInput): { errors: FieldErrors; changes: Partial<ProductFields> } {
  const errors = new FieldErrors();
  const changes: Partial<ProductFields> = {};
  if (input.name != null) changes.name = input.name.trim();
  if (input.producer != null) changes.producer = input.producer.trim();
  if (input.price != null) changes.price = input.price;
  if (input.function != null) changes.function = input.function;
  if (input.type != null) changes.type = input.type;
  if (input.nutritionFacts != null) changes.nutritionFacts = normaliseFacts(input.nutritionFacts);
  if (changes.name !== undefined) checkName(errors, changes.name);
  if (changes.producer !== undefined) checkProducer(errors, changes.producer);
  if (changes.price !== undefined) checkPrice(errors, changes.price);
  if (changes.nutritionFacts !== undefined) checkFacts(errors, changes.nutritionFacts);
  return { errors, changes };
}

/** Shape of an adjustment; whether it would take stock below zero is decided under the row lock. */
export function validateStockAdjustment(delta: number, reason: string): { errors: FieldErrors; reason: string } {
  const errors = new FieldErrors();
  const trimmed = reason.trim();
  errors.check(
    Number.isInteger(delta) && delta !== 0 && Math.abs(delta) <= LIMITS.stock,
    'delta',
    `The change must be a non-zero number of units, at most ${LIMITS.stock} either way`,
  );
  const length = textLength(trimmed);
  errors.check(length >= 1 && length <= LIMITS.reasonLength, 'reason', `Give a reason of 1 to ${LIMITS.reasonLength} characters`);
  errors.check(isPlainText(trimmed), 'reason', PLAIN_TEXT);
  return { errors, reason: trimmed };
}

export function validatePage(order: ProductOrder, first: number | null | undefined, after: string | null | undefined) {
  const errors = new FieldErrors();
  const size = first ?? LIMITS.defaultPageSize;
  errors.check(
    Number.isInteger(size) && size >= 1 && size <= LIMITS.pageSize,
    'first',
    `Ask for 1 to ${LIMITS.pageSize} products per page`,
  );
  let afterKey: SortKey | null = null;
  if (after != null) {
    afterKey = decodeCursor(order, after);
    errors.check(afterKey !== null, 'after', 'The cursor is not valid for this order; start again from the first page');
  }
  return { errors, first: size, after: afterKey };
}
