// k6 run -e ADMIN_TOKEN=<admin access token> tests/load/k6/flash-sale.js
// Options (-e): ROUTER_URL, USERS_URL (the users service, for the development mailbox),
// MEMBERS (virtual users, each a signed-up member; default 50), STOCK (default 100),
// DURATION (default 20s), SALE_EVENT_ID and PRODUCT_ID (order in a live sale event instead of a
// fresh product).
//
// Every member orders one unit at a time, back to back, of one hot product. The run passes only
// if no request fails and, at the end, the admin inventory report is consistent (zero oversell:
// stock + units sold = initial stock, every sale within its quantity and per-member limit).
import http from 'k6/http';
import { check, fail } from 'k6';
import { Counter } from 'k6/metrics';
import exec from 'k6/execution';
import {
  CREATE_PRODUCT,
  EXPECTED_REFUSALS,
  INVENTORY_REPORT,
  LOGIN,
  PASSWORD,
  PLACE_ORDER,
  REQUEST_CODE,
  SIGN_UP,
  VERIFY,
  orderInput,
  productInput,
  signUpInput,
} from '../lib/operations.js';

const url = __ENV.ROUTER_URL || 'http://127.0.0.1:4000/graphql';
const usersUrl = __ENV.USERS_URL || 'http://127.0.0.1:4001';
const members = Number(__ENV.MEMBERS || 50);
const stock = Number(__ENV.STOCK || 100);

const placed = new Counter('orders_placed');
const refused = new Counter('orders_refused');

export const options = {
  scenarios: {
    rush: { executor: 'constant-vus', vus: members, duration: __ENV.DURATION || '20s' },
  },
  setupTimeout: '5m',
  thresholds: {
    checks: ['rate==1'],
    http_req_failed: ['rate==0'],
  },
};

function gql(query, variables, token) {
  const headers = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = http.post(url, JSON.stringify({ query, variables }), { headers });
  const body = response.json();
  if (body.errors) fail(`${query.slice(0, 40)}: ${JSON.stringify(body.errors)}`);
  return body.data;
}

function uuid() {
  return 'xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx'.replace(/[xy]/g, (c) => {
    const r = (Math.random() * 16) | 0;
    return (c === 'x' ? r : (r & 0x3) | 0x8).toString(16);
  });
}

export function setup() {
  const adminToken = __ENV.ADMIN_TOKEN;
  if (!adminToken) fail('set ADMIN_TOKEN to an admin access token (npm run create-admin -- <email>, then login)');
  const tokens = [];
  for (let i = 0; i < members; i++) {
    const email = `k6-${uuid().slice(0, 12)}@example.com`;
    gql(REQUEST_CODE, { e: email });
    const code = http.get(`${usersUrl}/dev/mailbox?email=${encodeURIComponent(email)}`).json('code');
    const proof = gql(VERIFY, { e: email, c: code }).verifyEmail.verificationToken;
    gql(SIGN_UP, { input: signUpInput(email, proof) });
    tokens.push(gql(LOGIN, { e: email, p: PASSWORD }).login.accessToken);
  }
  const productId = __ENV.PRODUCT_ID || gql(CREATE_PRODUCT, { input: productInput(`k6 hot ${uuid().slice(0, 8)}`, stock) }, adminToken).createProduct.id;
  return { adminToken, tokens, productId };
}

export default function (data) {
  const token = data.tokens[(exec.vu.idInTest - 1) % data.tokens.length];
  const response = http.post(url, JSON.stringify({ query: PLACE_ORDER, variables: { input: orderInput(data.productId, uuid(), __ENV.SALE_EVENT_ID) } }), {
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
  });
  const result = response.json('data.placeOrder.__typename');
  check(response, { 'an order or an expected refusal': () => result === 'Order' || EXPECTED_REFUSALS.includes(result) });
  if (result === 'Order') placed.add(1);
  else refused.add(1);
}

export function teardown(data) {
  const report = gql(INVENTORY_REPORT, { ids: [data.productId] }, data.adminToken).inventoryReport;
  console.log(`inventory: ${JSON.stringify(report)}`);
  if (!report.consistent || report.totalStock < 0) fail('inventory invariant broken: oversold or lost units');
}
