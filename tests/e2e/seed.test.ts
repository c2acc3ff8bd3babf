import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@bth/testkit';
import { DEMO_SALE_PRODUCT, DEMO_WISHLIST, demoCatalogue } from '../../scripts/demo-catalogue.mjs';
import { DEMO_ACCOUNTS, DEMO_SALE_NAME, catalogueSize, createAdminRunner, seedDemo } from '../../scripts/seed.mjs';
import { ROOT } from '../../scripts/stack.mjs';
import { startStack, type Stack } from '../support/stack.js';

const run = promisify(execFile);

/**
 * The demo shop on a whole stack: seeded once the way `npm start` does it (in-process), then a
 * second time with `npm run seed`'s script as a user runs it, which must change nothing.
 */
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ productsReplicas: 1, startTimeoutMs: 120_000 });
}, 300_000);

afterAll(async () => {
  await stack?.stop();
});

const count = async (service: string, sql: string) => Number(Object.values((await stack.query(service, sql))[0]!)[0]);

describe('npm run seed', () => {
  it('When seeded twice, then the second run changes nothing and says so, and the shop has exactly the demo data', {
    timeout: 600_000,
  }, async () => {
    expect(await catalogueSize(stack.routerUrl)).toBe(0);
    const lines: string[] = [];
    const progress: number[] = [];
    const before = Date.now();
    const first = await seedDemo({
      routerUrl: stack.routerUrl,
      usersBase: stack.service('users').base,
      promoteAdmin: createAdminRunner({ DATABASE_URL: stack.databaseUrl('users') }),
      log: (line) => lines.push(line),
      progress: (done) => progress.push(done),
    });
    const catalogue = demoCatalogue();
    expect(first.changes).toEqual([
      'demo admin signed up',
      'demo admin made ADMIN',
      'demo member signed up',
      `${catalogue.length} products created`,
      'sale scheduled',
      '3 wishlist items added',
    ]);
    expect(progress.at(-1)).toBe(catalogue.length);
    expect(lines.join('\n')).toContain(`admin ${DEMO_ACCOUNTS.admin.email} / ${DEMO_ACCOUNTS.admin.password}`);

    // The sale opens a minute after seeding and runs an hour.
    const startsAt = new Date(first.sale.startsAt).getTime();
    expect(startsAt).toBeGreaterThanOrEqual(before + 60_000);
    expect(startsAt).toBeLessThanOrEqual(Date.now() + 61_000);
    expect(new Date(first.sale.endsAt).getTime() - startsAt).toBe(3_600_000);
    expect(first.sale).toMatchObject({ name: DEMO_SALE_NAME, status: 'SCHEDULED', productName: DEMO_SALE_PRODUCT });

    const second = await run(process.execPath, [join(ROOT, 'scripts', 'seed.mjs')], {
      env: {
        ...process.env,
        NODE_ENV: 'development',
        ROUTER_URL: stack.routerUrl,
        USERS_BASE_URL: stack.service('users').base,
        USERS_DATABASE_URL: stack.databaseUrl('users'),
      },
      // The script reads 300 products and 5 small answers; 2 minutes covers a loaded CI box.
      timeout: 120_000,
    });
    expect(second.stdout).toContain('nothing to do: the demo shop was already seeded');
    expect(second.stdout).toContain('(all there)');
    expect(second.stdout).toContain(`"${DEMO_SALE_NAME}"`);
    expect(second.stdout).toContain(
      `placeOrder(input: { lines: [{ productId: "${first.sale.productId}", quantity: 1, saleEventId: "${first.sale.id}" }]`,
    );

    // Counts in each service's own database: nothing doubled.
    expect(await catalogueSize(stack.routerUrl)).toBe(catalogue.length);
    expect(await count('products', 'SELECT COUNT(*) FROM products WHERE deleted_at IS NULL')).toBe(catalogue.length);
    expect(await count('products', `SELECT COUNT(DISTINCT type, \`function\`) FROM products`)).toBe(50);
    expect(await count('users', 'SELECT COUNT(*) FROM users')).toBe(2);
    expect(await count('users', `SELECT COUNT(*) FROM users WHERE role = 'ADMIN'`)).toBe(1);
    expect(await count('events', 'SELECT COUNT(*) FROM sale_events')).toBe(1);
    expect(await count('wishlists', 'SELECT COUNT(*) FROM wishlist_items')).toBe(DEMO_WISHLIST.length);
    expect(await count('wishlists', 'SELECT SUM(quantity) FROM wishlist_items')).toBe(
      DEMO_WISHLIST.reduce((sum, w) => sum + w.quantity, 0),
    );
    // Seeded through the API: the sale reached products by the outbox and RabbitMQ like any other.
    await waitFor(
      async () => ((await count('products', `SELECT COUNT(*) FROM sales WHERE event_id = '${first.sale.id}'`)) === 1 ? true : null),
      30_000,
    );

    const wishlist = await stack.gql(`{ myWishlist { totalQuantity items { product { name price } } } }`, {}, first.memberToken);
    expect(wishlist.data?.myWishlist.items.map((i: { product: { name: string } }) => i.product.name).sort()).toEqual(
      DEMO_WISHLIST.map((w) => w.name).sort(),
    );
  });
});
