import { randomUUID } from 'node:crypto';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SOCKET, dropTestDatabases, errorCodes, graphql, type GraphQLResponse } from '@bth/testkit';
import {
  CREATE,
  PRODUCT_FIELDS,
  asAdmin,
  asUser,
  createProduct,
  productInput,
  startProducts,
  stockOf,
  type Products,
} from '@bth/fixtures/products';

let products: Products;

beforeAll(async () => {
  products = await startProducts({ name: 'catalogue' });
});
afterAll(async () => {
  await products?.close();
  await dropTestDatabases();
});

const UPDATE = `mutation($id: ID!, $input: UpdateProductInput!) {
  updateProduct(id: $id, input: $input) {
    __typename
    ... on Product { ${PRODUCT_FIELDS} }
    ... on DuplicateProduct { name producer existingProductId }
  }
}`;
const DELETE = `mutation($id: ID!) { deleteProduct(id: $id) }`;
const ADJUST = `mutation($id: ID!, $delta: Int!, $reason: String!) {
  adjustStock(productId: $id, delta: $delta, reason: $reason) {
    __typename
    ... on Product { id stock }
    ... on StockBelowZero { message productId stock delta }
  }
}`;
const PRODUCT = `query($id: ID!) { product(id: $id) { ${PRODUCT_FIELDS} } }`;
const LIST = `query($first: Int, $after: String, $filter: ProductFilter, $orderBy: ProductOrder) {
  products(first: $first, after: $after, filter: $filter, orderBy: $orderBy) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id name price createdAt } }
    nodes { id }
  }
}`;

async function rowCounts() {
  const [[row]] = (await products.database.pool.query(
    'SELECT (SELECT COUNT(*) FROM products) AS products, (SELECT COUNT(*) FROM stock_ledger) AS ledger',
  )) as unknown as [[{ products: number; ledger: number }]];
  return row;
}

describe('catalogue: admin writes', () => {
  it('When an admin creates a product, then it is returned, readable and its initial stock is in the ledger', async () => {
    const input = productInput({ name: '  Omega-3 Gold  ', stock: 25, nutritionFacts: 'EPA+DHA 600 mg' });
    const created = await graphql(products.url, CREATE, { input }, await asAdmin());
    expect(created.errors).toBeUndefined();
    const product = created.data!.createProduct;
    expect(product).toMatchObject({
      __typename: 'Product',
      name: 'Omega-3 Gold',
      producer: input.producer,
      price: input.price,
      stock: 25,
      salePrice: null,
    });
    expect(new Date(product.createdAt).getTime()).toBeGreaterThan(Date.now() - 60_000);
    expect((await graphql(products.url, PRODUCT, { id: product.id })).data!.product).toEqual({ ...product, __typename: undefined });
    const [rows] = await products.database.pool.execute('SELECT kind, quantity_delta FROM stock_ledger WHERE product_id = ?', [product.id]);
    expect(rows).toEqual([{ kind: 'INITIAL', quantity_delta: 25 }]);
  });

  it('When a member or an anonymous caller uses an admin mutation, then FORBIDDEN or UNAUTHENTICATED and nothing changes', async () => {
    const id = await createProduct(products, { stock: 5 });
    const before = await rowCounts();
    const calls: Array<[string, Record<string, unknown>]> = [
      [CREATE, { input: productInput() }],
      [UPDATE, { id, input: { price: 1 } }],
      [DELETE, { id }],
      [ADJUST, { id, delta: 5, reason: 'found a box' }],
    ];
    for (const [query, variables] of calls) {
      expect(errorCodes(await graphql(products.url, query, variables, await asUser()))).toEqual(['FORBIDDEN']);
      expect(errorCodes(await graphql(products.url, query, variables))).toEqual(['UNAUTHENTICATED']);
      // A forged header is no identity at all.
      expect(errorCodes(await graphql(products.url, query, variables, { 'x-bth-identity': 'forged', 'x-user-role': 'ADMIN' }))).toEqual([
        'UNAUTHENTICATED',
      ]);
    }
    expect(await rowCounts()).toEqual(before);
    expect((await graphql(products.url, PRODUCT, { id })).data!.product).toMatchObject({ price: 12_900, stock: 5 });
  });

  it('When every field of a new product is invalid, then each is reported at once and nothing is written', async () => {
    const before = await rowCounts();
    const input = productInput({ name: '   ', producer: 'p'.repeat(31), price: -1, stock: 1_000_001, nutritionFacts: 'n'.repeat(251) });
    const response = await graphql(products.url, CREATE, { input }, await asAdmin());
    expect(errorCodes(response)).toEqual(['BAD_USER_INPUT']);
    const fields = (response.errors![0]!.extensions!.fieldErrors as { field: string }[]).map((f) => f.field);
    expect(new Set(fields)).toEqual(new Set(['name', 'producer', 'price', 'stock', 'nutritionFacts']));
    const tooDear = await graphql(
      products.url,
      CREATE,
      { input: productInput({ name: 'n'.repeat(51), price: 100_000_001 }) },
      await asAdmin(),
    );
    expect((tooDear.errors![0]!.extensions!.fieldErrors as { field: string }[]).map((f) => f.field).sort()).toEqual(['name', 'price']);
    const wrongEnum = await graphql(products.url, CREATE, { input: productInput({ function: 'MAGIC' }) }, await asAdmin());
    expect(errorCodes(wrongEnum)).toEqual(['BAD_USER_INPUT']);
    expect(await rowCounts()).toEqual(before);
  });

  it('When an update or adjustment is invalid, then a coded error names the fields and nothing changes', async () => {
    const id = await createProduct(products, { stock: 5 });
    const headers = await asAdmin();
    const badUpdate = await graphql(
      products.url,
      UPDATE,
      { id, input: { name: '', price: 100_000_001, nutritionFacts: 'x'.repeat(251) } },
      headers,
    );
    expect(errorCodes(badUpdate)).toEqual(['BAD_USER_INPUT']);
    expect((badUpdate.errors![0]!.extensions!.fieldErrors as { field: string }[]).map((f) => f.field).sort()).toEqual([
      'name',
      'nutritionFacts',
      'price',
    ]);
    const badAdjust = await graphql(products.url, ADJUST, { id, delta: 0, reason: ' ' }, headers);
    expect((badAdjust.errors![0]!.extensions!.fieldErrors as { field: string }[]).map((f) => f.field).sort()).toEqual(['delta', 'reason']);
    const overLimit = await graphql(products.url, ADJUST, { id, delta: 1_000_000, reason: 'delivery' }, headers);
    expect(errorCodes(overLimit)).toEqual(['BAD_USER_INPUT']);
    for (const missing of [randomUUID(), 'not-an-id']) {
      expect(errorCodes(await graphql(products.url, UPDATE, { id: missing, input: { price: 1 } }, headers))).toEqual(['NOT_FOUND']);
      expect(errorCodes(await graphql(products.url, ADJUST, { id: missing, delta: 1, reason: 'x' }, headers))).toEqual(['NOT_FOUND']);
      expect(errorCodes(await graphql(products.url, DELETE, { id: missing }, headers))).toEqual(['NOT_FOUND']);
    }
    expect((await graphql(products.url, PRODUCT, { id })).data!.product).toMatchObject({
      price: 12_900,
      stock: 5,
      nutritionFacts: 'Vitamin C 1000 mg',
    });
  });

  it('When an admin updates a product, then the fields change, stock does not, and an empty nutritionFacts clears it', async () => {
    const id = await createProduct(products, { stock: 7 });
    const before = (await graphql(products.url, PRODUCT, { id })).data!.product;
    const response = await graphql(
      products.url,
      UPDATE,
      { id, input: { price: 15_000, type: 'POWDER', nutritionFacts: '' } },
      await asAdmin(),
    );
    expect(response.data!.updateProduct).toMatchObject({
      __typename: 'Product',
      id,
      name: before.name,
      price: 15_000,
      type: 'POWDER',
      nutritionFacts: null,
      stock: 7,
    });
    expect(new Date(response.data!.updateProduct.updatedAt).getTime()).toBeGreaterThanOrEqual(new Date(before.updatedAt).getTime());
    expect((await graphql(products.url, PRODUCT, { id })).data!.product).toMatchObject({
      price: 15_000,
      type: 'POWDER',
      nutritionFacts: null,
    });
  });

  it('When a product row stays locked past the bound, then the update answers the retryable LOCK_TIMEOUT, not an internal error', async () => {
    const id = await createProduct(products, { stock: 3 });
    const impatient = await startProducts({ name: 'catalogue', keyPrefix: products.keyPrefix, lockWaitTimeoutSeconds: 1, poolSize: 2 });
    const holder = await mysql.createConnection({ socketPath: SOCKET, user: 'root', database: products.databaseName });
    try {
      await holder.query('START TRANSACTION');
      await holder.query('SELECT id FROM products WHERE id = ? FOR UPDATE', [id]);
      const blocked = await graphql(impatient.url, UPDATE, { id, input: { price: 9_000 } }, await asAdmin());
      expect(errorCodes(blocked)).toEqual(['LOCK_TIMEOUT']);
      expect(blocked.errors![0]!.extensions).toMatchObject({ retryable: true });
      await holder.query('ROLLBACK');
      const retried = await graphql(impatient.url, UPDATE, { id, input: { price: 9_000 } }, await asAdmin());
      expect(retried.data!.updateProduct).toMatchObject({ __typename: 'Product', price: 9_000 });
    } finally {
      await holder.end();
      await impatient.stop();
    }
  });

  it('When a name is taken by the same producer, then a DuplicateProduct result; once deleted, the name is free again', async () => {
    const name = `Probiotic ${randomUUID().slice(0, 6)}`;
    const original = await createProduct(products, { name, producer: 'Gut Co' });
    const again = await graphql(
      products.url,
      CREATE,
      { input: productInput({ name: name.toUpperCase(), producer: 'gut co' }) },
      await asAdmin(),
    );
    expect(again.data!.createProduct).toEqual({
      __typename: 'DuplicateProduct',
      message: expect.any(String),
      name: name.toUpperCase(),
      producer: 'gut co',
      existingProductId: original,
    });
    expect(await createProduct(products, { name, producer: 'Other Co' })).toBeTruthy();
    const other = await createProduct(products, { producer: 'Gut Co' });
    const clash = await graphql(products.url, UPDATE, { id: other, input: { name } }, await asAdmin());
    expect(clash.data!.updateProduct).toEqual({ __typename: 'DuplicateProduct', name, producer: 'Gut Co', existingProductId: original });
    expect((await graphql(products.url, DELETE, { id: original }, await asAdmin())).data).toEqual({ deleteProduct: true });
    expect(errorCodes(await graphql(products.url, DELETE, { id: original }, await asAdmin()))).toEqual(['NOT_FOUND']);
    expect(await createProduct(products, { name, producer: 'Gut Co' })).not.toBe(original);
  });

  it('When stock is adjusted, then it changes with a ledger row; below zero is a StockBelowZero result that changes nothing', async () => {
    const id = await createProduct(products, { stock: 3 });
    const headers = await asAdmin();
    const added = await graphql(products.url, ADJUST, { id, delta: 4, reason: 'delivery' }, headers);
    expect(added.data!.adjustStock).toEqual({ __typename: 'Product', id, stock: 7 });
    const refused = await graphql(products.url, ADJUST, { id, delta: -8, reason: 'damaged' }, headers);
    expect(refused.data!.adjustStock).toEqual({
      __typename: 'StockBelowZero',
      message: expect.any(String),
      productId: id,
      stock: 7,
      delta: -8,
    });
    expect(await stockOf(products, id)).toBe(7);
    const [rows] = await products.database.pool.execute(
      'SELECT kind, quantity_delta, reason FROM stock_ledger WHERE product_id = ? ORDER BY id',
      [id],
    );
    expect(rows).toEqual([
      { kind: 'INITIAL', quantity_delta: 3, reason: 'initial stock' },
      { kind: 'ADJUSTMENT', quantity_delta: 4, reason: 'delivery' },
    ]);
  });
});

describe('catalogue: listing', () => {
  const filter = { function: 'BONE_HEALTH', type: 'SPRAY' };
  const prices = [5_000, 1_000, 3_000, 3_000, 9_000, 7_000, 2_000];
  let listed: Array<{ id: string; name: string; price: number; createdAt?: string }> = [];

  beforeAll(async () => {
    listed = [];
    for (const [i, price] of prices.entries()) {
      const name = `bone spray ${String.fromCharCode(106 - i)}`;
      listed.push({ id: await createProduct(products, { ...filter, name, price }), name, price });
    }
  });

  async function walk(orderBy: string | undefined, first: number) {
    const seen: typeof listed = [];
    let after: string | null = null;
    for (let page = 0; page < 10; page++) {
      const response: GraphQLResponse = await graphql(products.url, LIST, { first, after, filter, orderBy });
      expect(response.errors).toBeUndefined();
      const connection: Record<string, any> = response.data!.products;
      expect(connection.totalCount).toBe(prices.length);
      expect(connection.nodes.map((n: { id: string }) => n.id)).toEqual(connection.edges.map((e: { node: { id: string } }) => e.node.id));
      seen.push(...connection.edges.map((e: { node: (typeof listed)[number] }) => e.node));
      if (!connection.pageInfo.hasNextPage) return seen;
      after = connection.pageInfo.endCursor;
    }
    throw new Error('the listing never ended');
  }

  const byPriceThenId = (a: (typeof listed)[number], b: (typeof listed)[number]) => a.price - b.price || (a.id < b.id ? -1 : 1);

  it('When pages are walked in each order, then every product appears once, in that order', async () => {
    const newest = await walk(undefined, 3);
    const newestFirst = (a: { id: string; createdAt?: string }, b: { id: string; createdAt?: string }) =>
      Date.parse(b.createdAt!) - Date.parse(a.createdAt!) || (a.id < b.id ? 1 : -1);
    expect(newest.map((p) => p.id)).toEqual([...newest].sort(newestFirst).map((p) => p.id));
    expect(new Set(newest.map((p) => p.id))).toEqual(new Set(listed.map((p) => p.id)));
    expect((await walk('PRICE_ASC', 3)).map((p) => p.id)).toEqual([...listed].sort(byPriceThenId).map((p) => p.id));
    expect((await walk('PRICE_DESC', 2)).map((p) => p.id)).toEqual(
      [...listed]
        .sort(byPriceThenId)
        .reverse()
        .map((p) => p.id),
    );
    expect((await walk('NAME_ASC', 4)).map((p) => p.name)).toEqual(listed.map((p) => p.name).sort());
    expect((await walk('NEWEST', 100)).length).toBe(prices.length);
  });

  it('When the page size or cursor is invalid, then BAD_USER_INPUT names the argument', async () => {
    const first = await graphql(products.url, LIST, { first: 2, filter, orderBy: 'PRICE_ASC' });
    const priceCursor = first.data!.products.pageInfo.endCursor as string;
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ first: 101 }, 'first'],
      [{ first: 0 }, 'first'],
      [{ first: -5 }, 'first'],
      [{ after: 'garbage!' }, 'after'],
      [{ after: Buffer.from('["NEWEST",1,"x"]').toString('base64url') }, 'after'],
      [{ after: priceCursor, orderBy: 'NAME_ASC' }, 'after'],
    ];
    for (const [variables, field] of cases) {
      const response = await graphql(products.url, LIST, { filter, ...variables });
      expect(errorCodes(response)).toEqual(['BAD_USER_INPUT']);
      expect(response.errors![0]!.extensions!.fieldErrors).toEqual([{ field, message: expect.any(String) }]);
    }
  });

  it('When a sale is live on a product, then onSale filters on it and salePrice shows only while it lasts', async () => {
    const saleFilter = { function: 'JOINT_HEALTH', type: 'PILL' };
    const live = await createProduct(products, saleFilter);
    const ended = await createProduct(products, saleFilter);
    const plain = await createProduct(products, saleFilter);
    // The sale messages write these rows (see sales.test.ts); here they are set directly, before any read is cached.
    const window = (productId: string, startsAt: number, endsAt: number) =>
      products.database.pool.execute(
        `INSERT INTO sales (event_id, product_id, sale_price, quantity, per_user_limit, starts_at, ends_at, status, updated_at)
         VALUES (?, ?, 5000, 10, 1, ?, ?, 'SCHEDULED', NOW(3))`,
        [randomUUID(), productId, new Date(startsAt), new Date(endsAt)],
      );
    await window(live, Date.now() - 60_000, Date.now() + 3_600_000);
    await window(ended, Date.now() - 60_000, Date.now() - 1_000);
    const onSale = await graphql(products.url, LIST, { filter: { ...saleFilter, onSale: true } });
    expect(onSale.data!.products.nodes).toEqual([{ id: live }]);
    const notOnSale = await graphql(products.url, LIST, { filter: { ...saleFilter, onSale: false } });
    expect(new Set(notOnSale.data!.products.nodes.map((n: { id: string }) => n.id))).toEqual(new Set([ended, plain]));
    expect((await graphql(products.url, PRODUCT, { id: live })).data!.product.salePrice).toBe(5_000);
    expect((await graphql(products.url, PRODUCT, { id: ended })).data!.product).toMatchObject({ salePrice: null, saleEndsAt: null });
  });
});
