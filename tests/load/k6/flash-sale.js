// Flash sale: every member hits one live sale at the same instant; the run fails on any oversell.
//
//   k6 run -e ADMIN_EMAIL=admin@example.com -e ADMIN_PASSWORD=… tests/load/k6/flash-sale.js
//   k6 run -e ADMIN_EMAIL=… -e ADMIN_PASSWORD=… -e MEMBERS=500 -e SALE_QUANTITY=100 tests/load/k6/flash-sale.js
//
// setup: logs the admin in, signs MEMBERS members up through the development mailbox (or logs in
// MEMBER_EMAILS), creates a product with STOCK units and a sale of SALE_QUANTITY of them at
// SALE_PRICE with a per-member limit of PER_MEMBER_LIMIT, opening SALE_LEAD seconds later (or
// uses PRODUCT_ID / SALE_EVENT_ID), and waits until the sale is live. Then one VU per member
// fires ATTEMPTS one-unit orders at once (`per-vu-iterations`: all start together), retrying a
// retryable refusal after the seconds the answer asks for. teardown reads the admin inventory
// report and counts every broken invariant in `inventory_violations` (threshold: 0).
//
// Environment (k6 run -e NAME=value; the shared ones are listed in lib/common.js):
//   ROUTER_URL (http://127.0.0.1:4000/graphql), USERS_URL (http://127.0.0.1:4001)
//   ADMIN_EMAIL + ADMIN_PASSWORD, or ADMIN_TOKEN    required: the report and the set-up are admin-only
//   MEMBERS (200, or the number of MEMBER_EMAILS), MEMBER_EMAILS, MEMBER_PASSWORD
//   ATTEMPTS (1) orders each member places; RETRIES (3) retries of a retryable refusal
//   STOCK (SALE_QUANTITY × 2), PRICE (19900), SALE_QUANTITY (100), SALE_PRICE (9900),
//   PER_MEMBER_LIMIT (1), SALE_LEAD (3 s to opening), SALE_MINUTES (10), SALE_OPEN_TIMEOUT (60 s)
//   PRODUCT_ID, SALE_EVENT_ID     use an existing product / live-or-scheduled sale of it
//   MAX_DURATION (2m) the rush's limit; P95_MS (3000); MAX_ERROR_RATE (0)
//   SUMMARY (tests/load/results/k6-flash-sale.json) the JSON summary
import { check, fail, sleep } from 'k6';
import exec from 'k6/execution';
import { Counter, Rate } from 'k6/metrics';
import {
  CREATE_PRODUCT,
  CREATE_SALE_EVENT,
  EXPECTED_REFUSALS,
  INVENTORY_REPORT,
  PLACE_ORDER,
  SALE_EVENT,
  inventoryViolations,
  orderInput,
  productInput,
  saleEventInput,
} from '../lib/operations.js';
import {
  baseThresholds,
  envNumber,
  givenMemberCount,
  gql,
  must,
  requireAdmin,
  signInMembers,
  summaryTo,
  uuid,
  waitForLiveSale,
} from './lib/common.js';

const members = envNumber('MEMBERS', givenMemberCount() || 200);
const attempts = envNumber('ATTEMPTS', 1);
// A buyer told to come back tries a few times, as a shop's client would, then takes the answer.
const retries = envNumber('RETRIES', 3);
const saleQuantity = envNumber('SALE_QUANTITY', 100);
const stock = envNumber('STOCK', saleQuantity * 2);

const placed = new Counter('orders_placed');
const refused = new Counter('orders_refused');
const retried = new Counter('orders_retried');
const expectedOutcome = new Rate('order_outcome_expected');
const violations = new Counter('inventory_violations');
const soldByReport = new Counter('sale_units_sold_by_report');

const thresholds = baseThresholds(envNumber('MAX_ERROR_RATE', 0), envNumber('P95_MS', 3000));
thresholds.order_outcome_expected = ['rate==1'];
thresholds.inventory_violations = ['count==0'];
// A sale made here has a known size: more orders than units is an oversell seen by the buyers.
if (!__ENV.SALE_EVENT_ID) thresholds.orders_placed = [`count<=${saleQuantity}`];

export const options = {
  scenarios: {
    // All VUs start together the moment setup returns (the sale is live then); 2 m bounds a stuck rush.
    rush: { executor: 'per-vu-iterations', vus: members, iterations: attempts, maxDuration: __ENV.MAX_DURATION || '2m' },
  },
  // Signing members up costs ~0.1 s of scrypt each on the users service.
  setupTimeout: __ENV.SETUP_TIMEOUT || '10m',
  thresholds,
};

export function setup() {
  const adminToken = requireAdmin();
  const tokens = signInMembers(members);
  if (__ENV.SALE_EVENT_ID) {
    const given = must('saleEvent', SALE_EVENT, { id: __ENV.SALE_EVENT_ID }).saleEvent;
    if (!given) fail(`no sale event ${__ENV.SALE_EVENT_ID}`);
    const productId = given.product ? given.product.id : __ENV.PRODUCT_ID;
    if (!productId) fail(`sale event ${given.id} names no product: set PRODUCT_ID`);
    return ready(adminToken, tokens, productId, given);
  }
  const productId =
    __ENV.PRODUCT_ID ||
    must(
      'createProduct',
      CREATE_PRODUCT,
      { input: productInput(`k6 flash ${uuid().slice(0, 8)}`, stock, envNumber('PRICE', 19900)) },
      adminToken,
    ).createProduct.id;
  const input = saleEventInput(productId, {
    name: `k6 flash sale ${uuid().slice(0, 8)}`,
    salePrice: envNumber('SALE_PRICE', 9900),
    quantity: saleQuantity,
    perUserLimit: envNumber('PER_MEMBER_LIMIT', 1),
    // Far enough ahead that clock skew cannot put the start in the past, close enough to keep setup short.
    leadMs: envNumber('SALE_LEAD', 3) * 1000,
    minutes: envNumber('SALE_MINUTES', 10),
  });
  return ready(adminToken, tokens, productId, must('createSaleEvent', CREATE_SALE_EVENT, { input }, adminToken).createSaleEvent);
}

/** Waits for the sale to be live on its product: the rush starts the moment setup returns. */
function ready(adminToken, tokens, productId, sale) {
  // The scheduler opens a sale within a second or two of its start; 60 s means it will not open.
  waitForLiveSale(productId, sale.id, envNumber('SALE_OPEN_TIMEOUT', 60));
  return { adminToken, tokens, productId, saleEventId: sale.id, quantity: sale.quantity, perUserLimit: sale.perUserLimit };
}

const RETRYABLE_CODES = ['OVERLOADED', 'RATE_LIMITED'];

/** Seconds a retryable answer asks the buyer to wait, or -1 when the answer is final. */
function retryAfter(body) {
  if (body && body.data && body.data.placeOrder && body.data.placeOrder.__typename === 'InventoryUnavailable') {
    return body.data.placeOrder.retryAfterSeconds;
  }
  const error = body && body.errors && body.errors[0];
  const extensions = (error && error.extensions) || {};
  return RETRYABLE_CODES.indexOf(extensions.code) >= 0 ? Number(extensions.retryAfterSeconds || 1) : -1;
}

export default function (data) {
  const token = data.tokens[(exec.vu.idInTest - 1) % data.tokens.length];
  let body = null;
  for (let attempt = 0; ; attempt++) {
    body = gql('placeOrder', PLACE_ORDER, { input: orderInput(data.productId, uuid(), data.saleEventId) }, token);
    const wait = retryAfter(body);
    if (wait < 0 || attempt >= retries) break;
    retried.add(1);
    sleep(wait);
  }
  const result = body && body.data && body.data.placeOrder ? body.data.placeOrder.__typename : 'error';
  const expected = result === 'Order' || EXPECTED_REFUSALS.indexOf(result) >= 0;
  expectedOutcome.add(expected, { result });
  check(result, { 'an order or an expected refusal': () => expected });
  if (result === 'Order') placed.add(1);
  else refused.add(1, { result });
}

export function teardown(data) {
  const report = must('inventoryReport', INVENTORY_REPORT, { ids: [data.productId] }, data.adminToken).inventoryReport;
  const broken = inventoryViolations(report, { eventId: data.saleEventId, quantity: data.quantity, perUserLimit: data.perUserLimit });
  const sale = report.sales.filter((s) => s.eventId === data.saleEventId)[0];
  soldByReport.add(sale ? sale.sold : 0);
  // Added even when nothing broke, so the threshold always has a sample to judge.
  violations.add(broken.length);
  console.log(`inventory report: ${JSON.stringify(report)}`);
  if (broken.length) console.error(`INVENTORY INVARIANT BROKEN: ${broken.join('; ')}`);
}

export const handleSummary = summaryTo('tests/load/results/k6-flash-sale.json');
