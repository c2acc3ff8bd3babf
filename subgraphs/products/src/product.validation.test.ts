import { describe, expect, it } from 'vitest';
import {
  validateCreateProduct,
  validatePage,
  validateStockAdjustment,
  validateUpdateProduct,
  type CreateProductInput,
} from './product.validation.js';
import { encodeCursor } from './listing-cursor.js';

const valid: CreateProductInput = {
  name: 'Milk Thistle',
  producer: 'Liver Lab',
  price: 19_900,
  function: 'LIVER_HEALTH',
  type: 'PILL',
  nutritionFacts: 'Silymarin 130 mg',
  stock: 100,
};
const fields = (errors: { list: { field: string }[] }) => errors.list.map((e) => e.field).sort();

describe('validateCreateProduct', () => {
  it('accepts a valid product and trims text', () => {
    const result = validateCreateProduct({ ...valid, name: '  Milk Thistle ', nutritionFacts: '   ' });
    expect(result.errors.list).toEqual([]);
    expect(result.fields).toMatchObject({ name: 'Milk Thistle', nutritionFacts: null });
  });

  it('accepts the limits exactly', () => {
    const edge = {
      ...valid,
      name: '가'.repeat(50),
      producer: 'p'.repeat(30),
      price: 100_000_000,
      stock: 1_000_000,
      nutritionFacts: '영'.repeat(250),
    };
    expect(validateCreateProduct(edge).errors.list).toEqual([]);
    expect(validateCreateProduct({ ...valid, price: 0, stock: 0 }).errors.list).toEqual([]);
  });

  it('reports every broken rule at once', () => {
    const result = validateCreateProduct({
      ...valid,
      name: ' ',
      producer: 'p'.repeat(31),
      price: -1,
      stock: 1_000_001,
      nutritionFacts: 'x'.repeat(251),
    });
    expect(fields(result.errors)).toEqual(['name', 'nutritionFacts', 'price', 'producer', 'stock']);
  });

  it('counts Hangul and emoji as one character each', () => {
    expect(validateCreateProduct({ ...valid, name: '😀'.repeat(50) }).errors.list).toEqual([]);
    expect(fields(validateCreateProduct({ ...valid, name: '😀'.repeat(51) }).errors)).toEqual(['name']);
  });
});

describe('validateUpdateProduct', () => {
  it('checks only the fields given and keeps null ones out of the changes', () => {
    const result = validateUpdateProduct({ name: null, price: 5, nutritionFacts: '' });
    expect(result.errors.list).toEqual([]);
    expect(result.changes).toEqual({ price: 5, nutritionFacts: null });
  });

  it('reports every broken rule at once', () => {
    expect(fields(validateUpdateProduct({ name: '', producer: '', price: 100_000_001, nutritionFacts: 'x'.repeat(251) }).errors)).toEqual([
      'name',
      'nutritionFacts',
      'price',
      'producer',
    ]);
  });
});

describe('validateStockAdjustment', () => {
  it('needs a non-zero bounded delta and a reason', () => {
    expect(validateStockAdjustment(-3, ' damaged ')).toMatchObject({ reason: 'damaged', errors: { list: [] } });
    expect(fields(validateStockAdjustment(0, '').errors)).toEqual(['delta', 'reason']);
    expect(fields(validateStockAdjustment(1_000_001, 'x').errors)).toEqual(['delta']);
    expect(fields(validateStockAdjustment(1, 'r'.repeat(201)).errors)).toEqual(['reason']);
  });
});

describe('validatePage', () => {
  const id = '0b7c4c9e-8f5a-4d59-9a43-2f1b6a1d9e10';
  it('defaults to 20 and accepts 1..100', () => {
    expect(validatePage('NEWEST', undefined, undefined)).toMatchObject({ first: 20, after: null });
    expect(validatePage('NEWEST', 100, null).errors.list).toEqual([]);
    expect(fields(validatePage('NEWEST', 101, null).errors)).toEqual(['first']);
    expect(fields(validatePage('NEWEST', 0, null).errors)).toEqual(['first']);
  });

  it('decodes a cursor of the same order and refuses others', () => {
    const cursor = encodeCursor('PRICE_ASC', { value: 1000, id });
    expect(validatePage('PRICE_ASC', 10, cursor).after).toEqual({ value: 1000, id });
    expect(fields(validatePage('PRICE_DESC', 10, cursor).errors)).toEqual(['after']);
  });
});

describe('text a shopper reads', () => {
  it('When a name, producer, nutrition facts or reason holds control or direction characters, then each is a field error', () => {
    const result = validateCreateProduct({ ...valid, name: 'Milk\u0000Thistle', producer: 'abc\u202Edcba', nutritionFacts: 'x\uD800y' });
    expect(fields(result.errors)).toEqual(['name', 'nutritionFacts', 'producer']);
    expect(fields(validateUpdateProduct({ name: '\u001b[31mred' }).errors)).toEqual(['name']);
    expect(fields(validateStockAdjustment(1, 'count\u0007ed').errors)).toEqual(['reason']);
  });

  it('When nutrition facts span lines, then that is allowed', () => {
    expect(validateCreateProduct({ ...valid, nutritionFacts: 'Silymarin 130 mg\nVitamin E 10 mg' }).errors.list).toEqual([]);
  });
});
