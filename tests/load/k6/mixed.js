// A realistic mix: most visits browse, some change a wishlist, some order one unit and pay for it.
//
//   k6 run tests/load/k6/mixed.js                           (against `npm start`; seeds an empty catalogue only with an admin)
//   k6 run -e ADMIN_EMAIL=… -e ADMIN_PASSWORD=… -e VUS=50 -e DURATION=2m tests/load/k6/mixed.js
//
// setup signs MEMBERS members in (one per VU by default) and reads the catalogue (seeding an
// empty one when an admin is given). Each iteration picks one visit by weight:
//   browse    a listing page (random filter and sort), perhaps the next page by cursor, a product
//   wishlist  the member's wishlist (federated), then adds a product, changes a quantity or removes one
//   order     placeOrder of one unit of a catalogue product, then payOrder of that order
// With an admin, teardown reads the inventory report of those products and counts every broken
// invariant in `inventory_violations` (threshold: 0).
//
// Environment (k6 run -e NAME=value; the shared ones are listed in lib/common.js):
//   ROUTER_URL (http://127.0.0.1:4000/graphql), USERS_URL (http://127.0.0.1:4001)
//   VUS (20), DURATION (1m), THINK_TIME (1 s between steps, ±50 %; 0 for a closed loop)
//   BROWSE_WEIGHT (65), WISHLIST_WEIGHT (20), ORDER_WEIGHT (15)   shares of the visits
//   PAY_METHOD (CARD: CARD, VIRTUAL_ACCOUNT, TRANSFER or MOBILE)
//   MEMBERS (VUS, or the number of MEMBER_EMAILS), MEMBER_EMAILS, MEMBER_PASSWORD
//   ADMIN_EMAIL + ADMIN_PASSWORD or ADMIN_TOKEN (optional: seeding and the inventory check)
//   SEED_PRODUCTS (30 when the catalogue is empty), SEED_STOCK (100000)
//   P95_MS (1500), MAX_ERROR_RATE (0.01), SUMMARY (tests/load/results/k6-mixed.json)
import { check, group } from 'k6';
import exec from 'k6/execution';
import { Counter, Rate } from 'k6/metrics';
import {
  ADD_TO_WISHLIST,
  CHANGE_WISHLIST_QUANTITY,
  INVENTORY_REPORT,
  MY_WISHLIST,
  PAY_ORDER,
  PLACE_ORDER,
  PRODUCTS_PAGE,
  PRODUCT_DETAIL,
  PRODUCT_FUNCTIONS,
  PRODUCT_ORDERS,
  PRODUCT_TYPES,
  REMOVE_FROM_WISHLIST,
  inventoryViolations,
  orderInput,
} from '../lib/operations.js';
import {
  adminToken,
  baseThresholds,
  catalogue,
  envNumber,
  givenMemberCount,
  gql,
  must,
  pick,
  signInMembers,
  summaryTo,
  think,
  uuid,
} from './lib/common.js';

const vus = envNumber('VUS', 20);
const members = envNumber('MEMBERS', givenMemberCount() || vus);
const weights = [envNumber('BROWSE_WEIGHT', 65), envNumber('WISHLIST_WEIGHT', 20), envNumber('ORDER_WEIGHT', 15)];
const payMethod = __ENV.PAY_METHOD || 'CARD';
// The wishlist holds at most 50 products; a visit stops adding well before that.
const WISHLIST_TARGET = 8;

const placed = new Counter('orders_placed');
const paid = new Counter('orders_paid');
const refused = new Counter('orders_refused');
const declined = new Counter('payments_declined');
const expectedOutcome = new Rate('outcome_expected');
const violations = new Counter('inventory_violations');

const thresholds = baseThresholds(envNumber('MAX_ERROR_RATE', 0.01), envNumber('P95_MS', 1500));
thresholds.outcome_expected = ['rate==1'];
thresholds.inventory_violations = ['count==0'];

export const options = {
  scenarios: {
    mixed: { executor: 'constant-vus', vus, duration: __ENV.DURATION || '1m' },
  },
  // Seeding and signing members up (~0.1 s of scrypt each) outlast k6's default 60 s on a busy machine.
  setupTimeout: __ENV.SETUP_TIMEOUT || '5m',
  thresholds,
};

export function setup() {
  const admin = adminToken();
  const products = catalogue(admin);
  return { admin, tokens: signInMembers(members), productIds: products.map((p) => p.id) };
}

/** Records whether a typed answer is one of `expected`; an answer with errors is counted by graphql_errors instead. */
function outcome(body, field, expected) {
  const result = body && body.data && body.data[field] ? body.data[field] : null;
  if (!result) return null;
  const ok = expected.indexOf(result.__typename) >= 0;
  expectedOutcome.add(ok, { op: field, result: result.__typename });
  check(result, { [`${field}: an expected answer`]: () => ok });
  return result;
}

function browse(data) {
  group('browse', () => {
    const r = Math.random();
    const filter =
      r < 0.3 ? { function: pick(PRODUCT_FUNCTIONS) } : r < 0.5 ? { type: pick(PRODUCT_TYPES) } : r < 0.6 ? { onSale: true } : null;
    const variables = { first: 20, filter, orderBy: pick(PRODUCT_ORDERS) };
    const body = gql('listing', PRODUCTS_PAGE, variables);
    const products = body && body.data ? body.data.products : null;
    let ids = products ? products.nodes.map((n) => n.id) : [];
    if (products && products.pageInfo.hasNextPage && Math.random() < 0.5) {
      think();
      const next = gql('listing', PRODUCTS_PAGE, Object.assign({}, variables, { after: products.pageInfo.endCursor }));
      if (next && next.data) ids = next.data.products.nodes.map((n) => n.id);
    }
    think();
    gql('product', PRODUCT_DETAIL, { id: pick(ids.length ? ids : data.productIds) });
  });
}

function wishlist(data, token) {
  group('wishlist', () => {
    const body = gql('myWishlist', MY_WISHLIST, {}, token);
    const items = body && body.data ? body.data.myWishlist.items : [];
    think();
    const r = Math.random();
    if (!items.length || (items.length < WISHLIST_TARGET && r < 0.5)) {
      const held = items.map((i) => i.productId);
      const candidates = data.productIds.filter((id) => held.indexOf(id) < 0);
      const productId = pick(candidates.length ? candidates : data.productIds);
      outcome(gql('addToWishlist', ADD_TO_WISHLIST, { productId, quantity: 1 }, token), 'addToWishlist', [
        'Wishlist',
        'WishlistFull',
        'ProductNotFound',
      ]);
    } else if (r < 0.8) {
      const variables = { productId: pick(items).productId, quantity: 1 + Math.floor(Math.random() * 3) };
      outcome(gql('changeWishlistQuantity', CHANGE_WISHLIST_QUANTITY, variables, token), 'changeWishlistQuantity', [
        'Wishlist',
        'NotInWishlist',
      ]);
    } else {
      const answer = gql('removeFromWishlist', REMOVE_FROM_WISHLIST, { productId: pick(items).productId }, token);
      check(answer, { 'removeFromWishlist: the wishlist': (b) => Boolean(b && b.data && b.data.removeFromWishlist) });
    }
  });
}

function orderAndPay(data, token) {
  group('order and pay', () => {
    const productId = pick(data.productIds);
    const order = outcome(gql('placeOrder', PLACE_ORDER, { input: orderInput(productId, uuid()) }, token), 'placeOrder', [
      'Order',
      'InsufficientStock',
      'InventoryUnavailable',
    ]);
    if (!order || order.__typename !== 'Order') {
      if (order) refused.add(1, { result: order.__typename });
      return;
    }
    placed.add(1);
    think();
    const payment = outcome(
      gql('payOrder', PAY_ORDER, { orderId: order.id, method: payMethod, idempotencyKey: uuid() }, token),
      'payOrder',
      ['Order', 'PaymentDeclined'],
    );
    if (payment && payment.__typename === 'Order') paid.add(1);
    if (payment && payment.__typename === 'PaymentDeclined') declined.add(1);
  });
}

export default function (data) {
  const token = data.tokens[(exec.vu.idInTest - 1) % data.tokens.length];
  const roll = Math.random() * (weights[0] + weights[1] + weights[2]);
  if (roll < weights[0]) browse(data);
  else if (roll < weights[0] + weights[1]) wishlist(data, token);
  else orderAndPay(data, token);
  think();
}

export function teardown(data) {
  // Added even without an admin, so the threshold always has a sample to judge.
  if (!data.admin) {
    violations.add(0);
    console.warn('no admin given: the inventory report was not checked');
    return;
  }
  const report = must('inventoryReport', INVENTORY_REPORT, { ids: data.productIds }, data.admin).inventoryReport;
  const broken = inventoryViolations(report);
  violations.add(broken.length);
  if (broken.length) console.error(`INVENTORY INVARIANT BROKEN: ${broken.join('; ')}`);
}

export const handleSummary = summaryTo('tests/load/results/k6-mixed.json');
