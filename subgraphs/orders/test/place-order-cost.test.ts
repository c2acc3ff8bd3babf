import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropTestDatabases, graphql } from '@bth/testkit';
import { createProduct, startProducts, type Products } from '@bth/fixtures/products';
import { ORDER, newUser, placeInput, startOrders, type Orders } from '@bth/fixtures/orders';

// The selection a shop's checkout asks for: no lines or history, so every statement counted below
// is the placing itself, not a field resolver reading the order back.
const PLACE_SMALL = `mutation($input: PlaceOrderInput!) {
  placeOrder(input: $input) {
    __typename
    ... on Order { id status totalAmount paymentDueAt }
    ... on InsufficientStock { productId requested available }
  }
}`;

let products: Products;
let orders: Orders;

/**
 * Every statement the orders service sends to MariaDB, including those inside transactions
 * (drizzle runs a transaction on a connection taken from the pool, which `pool.query` alone misses).
 */
function recordAllStatements(pool: Orders['database']['pool']): string[] {
  const statements: string[] = [];
  const text = (sql: unknown) => (typeof sql === 'string' ? sql : String((sql as { sql?: unknown }).sql)).trim();
  const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
  (pool as unknown as { query: (...args: unknown[]) => unknown }).query = (sql: unknown, ...rest: unknown[]) => {
    statements.push(text(sql));
    return query(sql, ...rest);
  };
  const getConnection = pool.getConnection.bind(pool);
  pool.getConnection = async () => {
    const conn = await getConnection();
    const connQuery = conn.query.bind(conn) as (...args: unknown[]) => unknown;
    (conn as unknown as { query: (...args: unknown[]) => unknown }).query = (sql: unknown, ...rest: unknown[]) => {
      statements.push(text(sql));
      return connQuery(sql, ...rest);
    };
    return conn;
  };
  return statements;
}

beforeAll(async () => {
  products = await startProducts({ messaging: false });
  // No scheduler: its sweeps would be counted as the order's statements.
  orders = await startOrders({ inventoryUrls: [products.base] }, { scheduler: false });
});
afterAll(async () => {
  await orders?.stop();
  await products?.close();
  await dropTestDatabases();
});

describe('what one placeOrder costs in the orders database', () => {
  it('When a two-line order is placed, then it takes 3 statements and no multi-statement transaction, and is stored whole', async () => {
    const a = await createProduct(products, { stock: 10, price: 12_900 });
    const b = await createProduct(products, { stock: 10, price: 3_000 });
    const user = await newUser();
    const statements = recordAllStatements(orders.database.pool);
    const response = await graphql(
      orders.url,
      PLACE_SMALL,
      {
        input: placeInput([
          { productId: a, quantity: 2 },
          { productId: b, quantity: 1 },
        ]),
      },
      user.headers,
    );
    const counted = [...statements];
    statements.length = 0;

    const placed = response.data!.placeOrder as { __typename: string; id: string; status: string; totalAmount: number };
    expect(placed).toMatchObject({ __typename: 'Order', status: 'AWAITING_PAYMENT', totalAmount: 2 * 12_900 + 3_000 });
    // Lines, the order row (the claim) and one confirming statement; no re-read of what was just written.
    expect(counted).toHaveLength(3);
    expect(counted.filter((s) => /^(begin|commit)$/i.test(s))).toEqual([]);
    expect(counted.filter((s) => /^select/i.test(s))).toEqual([]);

    // Nothing was lost by writing less: prices, total and history are all stored.
    const stored = await graphql(orders.url, ORDER, { id: placed.id }, user.headers);
    const order = stored.data!.order as {
      lines: { unitPrice: number; regularPrice: number }[];
      history: { status: string; at: string }[];
      totalAmount: number;
    };
    expect(order.lines.map((l) => [l.unitPrice, l.regularPrice])).toEqual([
      [12_900, 12_900],
      [3_000, 3_000],
    ]);
    expect(order.history.map((h) => h.status)).toEqual(['PENDING', 'AWAITING_PAYMENT']);
    expect(order.totalAmount).toBe(2 * 12_900 + 3_000);
  });

  it('When an order is refused for stock, then it takes 3 statements and a replay answers the same refusal', async () => {
    const a = await createProduct(products, { stock: 1 });
    const user = await newUser();
    const input = placeInput([{ productId: a, quantity: 2 }]);
    const statements = recordAllStatements(orders.database.pool);
    const first = await graphql(orders.url, PLACE_SMALL, { input }, user.headers);
    const counted = [...statements];
    statements.length = 0;

    expect(first.data!.placeOrder).toEqual({ __typename: 'InsufficientStock', productId: a, requested: 2, available: 1 });
    expect(counted).toHaveLength(3);
    const history = await orders.query<{ status: string }>(
      'SELECT e.status FROM order_events e JOIN orders o ON o.id = e.order_id WHERE o.user_id = ? ORDER BY e.id',
      [user.identity.userId],
    );
    expect(history.map((h) => h.status)).toEqual(['PENDING', 'REJECTED']);
    expect((await graphql(orders.url, PLACE_SMALL, { input }, user.headers)).data).toEqual(first.data);
  });
});

describe('the claim without a transaction', () => {
  it('When a key is sent 10 times at once, then one order stands with its lines and the losers leave no lines behind', async () => {
    const a = await createProduct(products, { stock: 50 });
    const user = await newUser();
    const input = placeInput([{ productId: a, quantity: 1 }]);
    const answers = await Promise.all(Array.from({ length: 10 }, () => graphql(orders.url, PLACE_SMALL, { input }, user.headers)));
    expect(new Set(answers.map((r) => r.data?.placeOrder?.id)).size).toBe(1);
    const lines = await orders.query<{ order_id: string }>('SELECT order_id FROM order_lines WHERE product_id = ?', [a]);
    expect(lines).toEqual([{ order_id: answers[0]!.data!.placeOrder.id }]);
  });
});
