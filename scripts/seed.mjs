// `npm run seed`: a demo shop on a running stack — a demo admin and member, 300 products, a sale
// that opens a minute later and runs an hour, the member's wishlist. Everything goes through the
// public API via the router (so validation, caches, the ledger and the sale messages stay right);
// the one exception is making the admin, which no API can do by design: the documented
// `create-admin` script does it. Idempotent: what exists is left alone and reported as such.
// `npm start` calls `seedDemo` itself when the catalogue is empty (development only).
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { DEMO_SALE_PRODUCT, DEMO_WISHLIST, demoCatalogue } from './demo-catalogue.mjs';
import { ROOT } from './stack.mjs';

const run = promisify(execFile);

/** Demo accounts: public, printed, for a development shop only. */
export const DEMO_ACCOUNTS = {
  admin: { email: 'demo-admin@example.com', password: 'Demo!admin1', name: 'Demo Admin', nickname: 'demo-admin' },
  member: { email: 'demo-member@example.com', password: 'Demo!member1', name: 'Kim Demo', nickname: 'demo-member' },
};
export const DEMO_SALE_NAME = 'Demo flash sale: 6-Year Red Ginseng';
const SHIPPING = { phone: '01012345678', postalCode: '06236', address: 'Teheran-ro 123, Gangnam-gu, Seoul' };

// Every call is one small GraphQL operation answered in milliseconds; 15 s covers a cold stack on
// a loaded machine, and a hung router is reported instead of waited on forever.
const CALL_TIMEOUT_MS = 15_000;
// Products created at once: enough to hide the round trip, few enough not to crowd a 2-core box.
const CONCURRENCY = 4;

class SeedError extends Error {}

function client(routerUrl) {
  return async function gql(query, variables = {}, token) {
    const response = await fetch(routerUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query, variables }),
      signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
    });
    const body = await response.json();
    return body;
  };
}

const data = (body, what) => {
  if (body.errors?.length || !body.data) {
    const e = body.errors?.[0];
    throw new SeedError(`${what} failed: ${e ? `${e.extensions?.code ?? 'ERROR'} ${e.message}` : `HTTP answer without data`}`);
  }
  return body.data;
};

/** Whether the router has any product: `npm start` seeds only an empty catalogue. */
export async function catalogueSize(routerUrl) {
  return data(await client(routerUrl)('{ products(first: 1) { totalCount } }'), 'products').products.totalCount;
}

/**
 * @param {object} options
 * @param {string} options.routerUrl the router's /graphql URL
 * @param {string} options.usersBase the users service base URL (its development mailbox has the codes)
 * @param {(email: string) => Promise<void>} options.promoteAdmin raises a member to ADMIN (create-admin)
 * @param {(line: string) => void} options.log
 * @param {(done: number, total: number) => void} [options.progress]
 * @param {() => Date} [options.now]
 */
export async function seedDemo(options) {
  const { log } = options;
  const gql = client(options.routerUrl);
  const now = options.now ?? (() => new Date());
  const changes = [];

  async function login(account) {
    const body = await gql(`mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }`, {
      e: account.email,
      p: account.password,
    });
    if (body.errors?.[0]?.extensions?.reason === 'BAD_CREDENTIALS') return null;
    const { accessToken } = data(body, `login ${account.email}`).login;
    // The role is private: readable only with the member's own token, not on the anonymous login.
    const { me } = data(await gql('{ me { id role } }', {}, accessToken), 'me');
    return { accessToken, user: me };
  }

  async function ensureAccount(account, label) {
    const existing = await login(account);
    if (existing) return { ...existing, created: false };
    const requested = await gql(`mutation($e: String!) { requestEmailVerification(email: $e) { email } }`, { e: account.email });
    data(requested, 'requestEmailVerification');
    const mailbox = await fetch(`${options.usersBase}/dev/mailbox?email=${encodeURIComponent(account.email)}`, {
      signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
    });
    const { code } = mailbox.ok ? await mailbox.json() : {};
    if (!code)
      throw new SeedError(
        `no verification code for ${account.email}: the users service's development mailbox is off (NODE_ENV=production?)`,
      );
    const verified = data(
      await gql(`mutation($e: String!, $c: String!) { verifyEmail(email: $e, code: $c) { verificationToken } }`, {
        e: account.email,
        c: code,
      }),
      'verifyEmail',
    );
    const signedUp = await gql(`mutation($i: SignUpInput!) { signUp(input: $i) { id } }`, {
      i: {
        verificationToken: verified.verifyEmail.verificationToken,
        email: account.email,
        password: account.password,
        name: account.name,
        nickname: account.nickname,
        ...SHIPPING,
      },
    });
    if (signedUp.errors?.length)
      throw new SeedError(`${label} ${account.email} exists with another password, or signUp failed: ${signedUp.errors[0].message}`);
    changes.push(`${label} signed up`);
    return { ...(await login(account)), created: true };
  }

  // 1. Accounts.
  let admin = await ensureAccount(DEMO_ACCOUNTS.admin, 'demo admin');
  if (admin.user.role !== 'ADMIN') {
    await options.promoteAdmin(DEMO_ACCOUNTS.admin.email);
    admin = { ...(await login(DEMO_ACCOUNTS.admin)), created: admin.created };
    changes.push('demo admin made ADMIN');
  }
  const member = await ensureAccount(DEMO_ACCOUNTS.member, 'demo member');
  log(`accounts   admin ${DEMO_ACCOUNTS.admin.email} / ${DEMO_ACCOUNTS.admin.password}${admin.created ? ' (created)' : ''}`);
  log(`           member ${DEMO_ACCOUNTS.member.email} / ${DEMO_ACCOUNTS.member.password}${member.created ? ' (created)' : ''}`);

  // 2. Catalogue: read every live product, create the demo ones that are missing.
  const present = new Map();
  let after = null;
  do {
    const page = data(
      await gql(
        `query($after: String) { products(first: 100, after: $after) { nodes { id name producer } pageInfo { hasNextPage endCursor } } }`,
        { after },
      ),
      'products',
    ).products;
    for (const p of page.nodes) present.set(`${p.name}\u0000${p.producer}`, p.id);
    after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
  } while (after);
  const catalogue = demoCatalogue();
  const missing = catalogue.filter((p) => !present.has(`${p.name}\u0000${p.producer}`));
  let done = catalogue.length - missing.length;
  let next = 0;
  options.progress?.(done, catalogue.length);
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < missing.length) {
        const product = missing[next++];
        const result = data(
          await gql(
            `mutation($i: CreateProductInput!) { createProduct(input: $i) { __typename ... on Product { id } ... on DuplicateProduct { existingProductId } } }`,
            { i: product },
            admin.accessToken,
          ),
          `createProduct ${product.name}`,
        ).createProduct;
        // DuplicateProduct: created meanwhile by a seed running in parallel; it is there, as wanted.
        present.set(`${product.name}\u0000${product.producer}`, result.id ?? result.existingProductId);
        options.progress?.(++done, catalogue.length);
      }
    }),
  );
  if (missing.length) changes.push(`${missing.length} products created`);
  log(`catalogue  ${catalogue.length} demo products${missing.length ? ` (${missing.length} created)` : ' (all there)'}`);
  const idOf = (name) => {
    const product = catalogue.find((p) => p.name === name);
    return present.get(`${product.name}\u0000${product.producer}`);
  };

  // 3. The sale: kept while one is scheduled or live; a new one when the last has ended.
  const saleProduct = catalogue.find((p) => p.name === DEMO_SALE_PRODUCT);
  const saleProductId = idOf(DEMO_SALE_PRODUCT);
  const events = [];
  for (const status of ['SCHEDULED', 'LIVE']) {
    events.push(
      ...data(
        await gql(
          `query($s: SaleEventStatus) { saleEvents(status: $s, first: 100) { nodes { id name status startsAt endsAt salePrice quantity perUserLimit product { id } } } }`,
          { s: status },
        ),
        'saleEvents',
      ).saleEvents.nodes,
    );
  }
  let sale = events.find((e) => e.name === DEMO_SALE_NAME && e.product?.id === saleProductId);
  const saleCreated = !sale;
  if (!sale) {
    const startsAt = new Date(Math.ceil((now().getTime() + 60_000) / 1000) * 1000);
    const created = data(
      await gql(
        `mutation($i: CreateSaleEventInput!) { createSaleEvent(input: $i) { id name status startsAt endsAt salePrice quantity perUserLimit } }`,
        {
          i: {
            name: DEMO_SALE_NAME,
            productId: saleProductId,
            // Half price, rounded to 100 won.
            salePrice: Math.round(saleProduct.price / 2 / 100) * 100,
            quantity: 100,
            perUserLimit: 2,
            startsAt: startsAt.toISOString(),
            endsAt: new Date(startsAt.getTime() + 3_600_000).toISOString(),
          },
        },
        admin.accessToken,
      ),
      'createSaleEvent',
    ).createSaleEvent;
    sale = created;
    changes.push('sale scheduled');
  }
  log(
    `sale       "${sale.name}": ${sale.quantity} × ${saleProduct.name} at ${sale.salePrice} won (was ${saleProduct.price}), ${sale.perUserLimit} per member`,
  );
  log(
    `           ${sale.status === 'LIVE' ? 'live now' : `opens ${sale.startsAt}`}, ends ${sale.endsAt}${saleCreated ? ' (scheduled)' : ''}`,
  );

  // 4. The member's wishlist: add what is not in it (adding twice would add to the quantity).
  const wishlist = data(await gql(`{ myWishlist { items { productId quantity } } }`, {}, member.accessToken), 'myWishlist').myWishlist;
  let added = 0;
  for (const wish of DEMO_WISHLIST) {
    const productId = idOf(wish.name);
    if (wishlist.items.some((i) => i.productId === productId)) continue;
    const result = data(
      await gql(
        `mutation($p: ID!, $q: Int!) { addToWishlist(productId: $p, quantity: $q) { __typename } }`,
        { p: productId, q: wish.quantity },
        member.accessToken,
      ),
      'addToWishlist',
    ).addToWishlist;
    if (result.__typename !== 'Wishlist') throw new SeedError(`addToWishlist ${wish.name} answered ${result.__typename}`);
    added += 1;
  }
  if (added) changes.push(`${added} wishlist items added`);
  log(`wishlist   ${DEMO_WISHLIST.length} products for the demo member${added ? ` (${added} added)` : ' (all there)'}`);
  log(changes.length ? `seeded: ${changes.join(', ')}` : 'nothing to do: the demo shop was already seeded');

  return {
    changes,
    sale: { ...sale, productId: saleProductId, productName: saleProduct.name },
    memberToken: member.accessToken,
    adminToken: admin.accessToken,
  };
}

/** What to paste into Apollo Sandbox (or curl) to try the demo shop. */
export function sandboxTips(routerUrl, sale) {
  const m = DEMO_ACCOUNTS.member;
  return [
    `  Try it in Sandbox (${routerUrl}):`,
    `    1. Log in as the demo member (admin: ${DEMO_ACCOUNTS.admin.email} / ${DEMO_ACCOUNTS.admin.password}):`,
    `       mutation { login(email: "${m.email}", password: "${m.password}") { accessToken } }`,
    '       then add the header   Authorization: Bearer <accessToken>',
    '    2. Browse the catalogue:',
    '       { products(first: 5, orderBy: PRICE_ASC, filter: { function: EYE_HEALTH }) { totalCount nodes { id name producer price stock } } }',
    `    3. The sale${sale ? ` (${sale.status === 'LIVE' ? 'live now' : `opens ${sale.startsAt}`})` : 's'}:`,
    '       { saleEvents(first: 5) { nodes { id name status startsAt endsAt salePrice quantity product { id name price } } } }',
    '    4. Your wishlist:   { myWishlist { totalQuantity items { quantity product { name price } } } }',
    '    5. Once the sale is live, buy at the sale price:',
    `       mutation { placeOrder(input: { lines: [{ productId: "${sale?.productId ?? '<product id>'}", quantity: 1, saleEventId: "${sale?.id ?? '<sale event id>'}" }],`,
    '         shipping: { postalCode: "06236", address: "Teheran-ro 123", phone: "01012345678" }, idempotencyKey: "demo-order-0001" }) {',
    '         __typename ... on Order { id status totalAmount } ... on SaleNotLive { saleEventId } } }',
  ].join('\n');
}

/** Runs `create-admin` with the users service's database and keys, as an operator would. */
export function createAdminRunner(env) {
  return async (email) => {
    await run(process.execPath, [join(ROOT, 'subgraphs', 'users', 'dist', 'scripts', 'create-admin.js'), email], {
      env: { ...process.env, ...env, LOG_LEVEL: 'warn' },
      // Migrations are already applied by the running users service: the script only updates one row.
      timeout: 60_000,
    });
  };
}

async function main() {
  const env = process.env;
  if (env.NODE_ENV === 'production') throw new SeedError('refusing to seed demo data with NODE_ENV=production');
  const routerUrl = env.ROUTER_URL ?? 'http://127.0.0.1:4000/graphql';
  const usersBase = env.USERS_BASE_URL ?? 'http://127.0.0.1:4001';
  try {
    await catalogueSize(routerUrl);
  } catch (error) {
    throw new SeedError(
      `the router at ${routerUrl} does not answer (${error.cause?.code ?? error.message}). Start the stack first: npm start (it seeds an empty shop by itself), or set ROUTER_URL and USERS_BASE_URL`,
    );
  }
  const tty = process.stdout.isTTY;
  let lastShown = -1;
  const result = await seedDemo({
    routerUrl,
    usersBase,
    promoteAdmin: createAdminRunner({
      DATABASE_URL: env.USERS_DATABASE_URL ?? 'mysql://root@localhost/bth_users?socketPath=/run/mysqld/mysqld.sock',
    }),
    log: (line) => process.stdout.write(`${tty ? '\r\x1b[K' : ''}seed  ${line}\n`),
    progress: (done, total) => {
      if (tty) process.stdout.write(`\r\x1b[Kseed  products ${done}/${total}`);
      else if (done === total || done - lastShown >= 50) {
        lastShown = done;
        process.stdout.write(`seed  products ${done}/${total}\n`);
      }
    },
  });
  process.stdout.write(`\n${sandboxTips(routerUrl, result.sale)}\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    process.stderr.write(`seed failed: ${error.message}\n`);
    process.exit(1);
  });
}
