// Browsing shoppers: listing pages followed by cursor, filtered and sorted listings, product pages,
// and a signed-in member's wishlist with its products' names and prices (a federated query).
//
//   k6 run tests/load/k6/browse.js                          (against `npm start`)
//   k6 run -e ROUTER_URL=https://shop.example/graphql -e VUS=50 -e DURATION=1m -e MEMBER_EMAILS=a@x.kr,b@x.kr -e MEMBER_PASSWORD=… tests/load/k6/browse.js
//
// setup signs MEMBERS members in (new ones through the development mailbox, or MEMBER_EMAILS) and
// puts WISHLIST_ITEMS products in each one's wishlist. An empty catalogue is seeded with
// SEED_PRODUCTS products when an admin is given (ADMIN_EMAIL + ADMIN_PASSWORD or ADMIN_TOKEN);
// SEED_PRODUCTS>0 with an admin seeds that many in any case.
//
// Environment (k6 run -e NAME=value; the shared ones are listed in lib/common.js):
//   ROUTER_URL (http://127.0.0.1:4000/graphql), USERS_URL (http://127.0.0.1:4001)
//   VUS (20), DURATION (30s), THINK_TIME (1 s between pages, ±50 %; 0 for a closed loop)
//   PAGE_SIZE (20), PAGES (3) pages followed by cursor per visit
//   MEMBERS (5, or the number of MEMBER_EMAILS; 0: anonymous only), MEMBER_EMAILS, MEMBER_PASSWORD
//   WISHLIST_ITEMS (5), SEED_PRODUCTS (30 when the catalogue is empty), SEED_STOCK (100000),
//   ADMIN_EMAIL + ADMIN_PASSWORD or ADMIN_TOKEN (only to seed)
//   P95_MS (800), MAX_ERROR_RATE (0.01), SUMMARY (tests/load/results/k6-browse.json)
import { check, group } from 'k6';
import exec from 'k6/execution';
import {
  ADD_TO_WISHLIST,
  MY_WISHLIST,
  PRODUCTS_PAGE,
  PRODUCT_DETAIL,
  PRODUCT_FUNCTIONS,
  PRODUCT_ORDERS,
  PRODUCT_TYPES,
} from '../lib/operations.js';
import {
  adminToken,
  baseThresholds,
  catalogue,
  envNumber,
  givenMemberCount,
  gql,
  mustAll,
  pick,
  signInMembers,
  summaryTo,
  think,
} from './lib/common.js';

const pageSize = envNumber('PAGE_SIZE', 20);
const pages = envNumber('PAGES', 3);
const members = envNumber('MEMBERS', givenMemberCount() || 5);

export const options = {
  scenarios: {
    browse: { executor: 'constant-vus', vus: envNumber('VUS', 20), duration: __ENV.DURATION || '30s' },
  },
  // Seeding and signing members up (~0.1 s of scrypt each) outlast k6's default 60 s on a busy machine.
  setupTimeout: __ENV.SETUP_TIMEOUT || '5m',
  thresholds: baseThresholds(envNumber('MAX_ERROR_RATE', 0.01), envNumber('P95_MS', 800)),
};

export function setup() {
  const products = catalogue(adminToken());
  const tokens = members > 0 ? signInMembers(members) : [];
  const items = Math.min(envNumber('WISHLIST_ITEMS', 5), products.length);
  for (let t = 0; t < tokens.length; t++) {
    const calls = [];
    for (let i = 0; i < items; i++)
      calls.push(['addToWishlist', ADD_TO_WISHLIST, { productId: products[(t + i) % products.length].id, quantity: 1 }, tokens[t]]);
    mustAll(calls);
  }
  return { tokens, productIds: products.map((p) => p.id) };
}

function listed(body) {
  return body && body.data && body.data.products ? body.data.products : null;
}

export default function (data) {
  let seen = [];
  group('listing, page by page', () => {
    let after = null;
    for (let page = 0; page < pages; page++) {
      const products = listed(gql('listing', PRODUCTS_PAGE, { first: pageSize, after }));
      check(products, { 'a listing page': (p) => p !== null });
      if (!products) return;
      seen = seen.concat(products.nodes.map((n) => n.id));
      if (!products.pageInfo.hasNextPage) return;
      after = products.pageInfo.endCursor;
      think();
    }
  });
  group('filtered listing', () => {
    const r = Math.random();
    const filter = r < 0.4 ? { function: pick(PRODUCT_FUNCTIONS) } : r < 0.7 ? { type: pick(PRODUCT_TYPES) } : { onSale: true };
    const products = listed(gql('filteredListing', PRODUCTS_PAGE, { first: pageSize, filter, orderBy: pick(PRODUCT_ORDERS) }));
    check(products, { 'a filtered page': (p) => p !== null });
    think();
  });
  group('product page', () => {
    const id = pick(seen.length ? seen : data.productIds);
    const body = gql('product', PRODUCT_DETAIL, { id });
    check(body, { 'the product': (b) => Boolean(b && b.data && b.data.product && b.data.product.id === id) });
    think();
  });
  if (data.tokens.length) {
    group('wishlist (member)', () => {
      const token = data.tokens[(exec.vu.idInTest - 1) % data.tokens.length];
      const body = gql('myWishlist', MY_WISHLIST, {}, token);
      const wishlist = body && body.data ? body.data.myWishlist : null;
      check(wishlist, {
        'the wishlist with product names': (w) =>
          Boolean(w && w.items.every((item) => item.product === null || typeof item.product.name === 'string')),
      });
      think();
    });
  }
}

export const handleSummary = summaryTo('tests/load/results/k6-browse.json');
