// Shared by the k6 scripts in ..; not a script itself. Plain ES2020 and k6 v0.48 APIs only.
//
// Environment read here (k6 run -e NAME=value):
//   ROUTER_URL       GraphQL endpoint (default http://127.0.0.1:4000/graphql, `npm start`)
//   USERS_URL        users service, for its development mailbox (default http://127.0.0.1:4001)
//   ADMIN_EMAIL, ADMIN_PASSWORD   an admin the script logs in as (`npm run create-admin -- <email>`)
//   ADMIN_TOKEN      an admin access token instead of the two above
//   MEMBER_EMAILS    comma-separated members to log in instead of signing new ones up
//   MEMBER_PASSWORD  their password (default the one the scripts sign members up with)
//   SIGNUP_BATCH     sign-ups sent in parallel during setup (default 8)
//   SUMMARY          where handleSummary writes the JSON summary (default per script)
//   SETUP_TIMEOUT    k6 setupTimeout (5m; 10m for the flash sale, which signs many members up)
import http from 'k6/http';
import { fail, sleep } from 'k6';
import { Rate } from 'k6/metrics';
import {
  CREATE_PRODUCT,
  LOGIN,
  PASSWORD,
  PRODUCTS_PAGE,
  PRODUCT_SALE,
  REQUEST_CODE,
  SIGN_UP,
  VERIFY,
  productInput,
  signUpInput,
} from '../../lib/operations.js';

export const ROUTER_URL = __ENV.ROUTER_URL || 'http://127.0.0.1:4000/graphql';
export const USERS_URL = __ENV.USERS_URL || 'http://127.0.0.1:4001';

/** Share of load requests whose body carried `errors` (a refusal typed in the schema is not one). */
export const graphqlErrors = new Rate('graphql_errors');

export function envNumber(name, fallback) {
  const raw = __ENV[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value)) fail(`${name} must be a number, got ${raw}`);
  return value;
}

/** The thresholds every script shares: failed requests, GraphQL errors and p95 latency of the load phase. */
export function baseThresholds(maxErrorRate, p95Ms) {
  return {
    'http_req_failed{phase:load}': [`rate<=${maxErrorRate}`],
    graphql_errors: [`rate<=${maxErrorRate}`],
    'http_req_duration{phase:load}': [`p(95)<${p95Ms}`],
  };
}

function request(query, variables, token, tags) {
  const headers = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  return ['POST', ROUTER_URL, JSON.stringify({ query, variables: variables || {} }), { headers, tags }];
}

function bodyOf(response) {
  try {
    return response.json();
  } catch (_error) {
    return null;
  }
}

/**
 * One GraphQL request of the load phase, tagged with its operation name (`op`) so each has its own
 * latency in the summary. Returns the parsed body, or null when the answer was not JSON; either
 * way the GraphQL-error rate counts it.
 */
export function gql(op, query, variables, token) {
  const response = http.request(...request(query, variables, token, { op, phase: 'load' }));
  const body = bodyOf(response);
  graphqlErrors.add(!body || Boolean(body.errors), { op });
  return body;
}

/** A setup or teardown request: any error stops the run with the operation and the answer. */
export function must(op, query, variables, token) {
  const response = http.request(...request(query, variables, token, { op, phase: 'setup' }));
  const body = bodyOf(response);
  if (!body || body.errors || !body.data) fail(`${op}: HTTP ${response.status} ${String(response.body).slice(0, 300)}`);
  return body.data;
}

/** Several setup requests at once (`http.batch`), each [op, query, variables, token]. */
export function mustAll(calls) {
  const responses = http.batch(calls.map(([op, query, variables, token]) => request(query, variables, token, { op, phase: 'setup' })));
  return responses.map((response, i) => {
    const body = bodyOf(response);
    if (!body || body.errors || !body.data) fail(`${calls[i][0]}: HTTP ${response.status} ${String(response.body).slice(0, 300)}`);
    return body.data;
  });
}

export function uuid() {
  return 'xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx'.replace(/[xy]/g, (c) => {
    const r = (Math.random() * 16) | 0;
    return (c === 'x' ? r : (r & 0x3) | 0x8).toString(16);
  });
}

export const pick = (list) => list[Math.floor(Math.random() * list.length)];

/** A shopper's pause between pages: THINK_TIME seconds (default 1) ± 50 %; 0 for a closed loop. */
export function think() {
  const base = envNumber('THINK_TIME', 1);
  if (base > 0) sleep(base * (0.5 + Math.random()));
}

/** An admin access token from ADMIN_TOKEN or by logging in ADMIN_EMAIL/ADMIN_PASSWORD; null if none is given. */
export function adminToken() {
  if (__ENV.ADMIN_TOKEN) return __ENV.ADMIN_TOKEN;
  if (!__ENV.ADMIN_EMAIL) return null;
  if (!__ENV.ADMIN_PASSWORD) fail('ADMIN_EMAIL needs ADMIN_PASSWORD');
  return must('login', LOGIN, { e: __ENV.ADMIN_EMAIL, p: __ENV.ADMIN_PASSWORD }).login.accessToken;
}

export function requireAdmin() {
  const token = adminToken();
  if (!token) fail('set ADMIN_EMAIL and ADMIN_PASSWORD (an admin: npm run create-admin -- <email>) or ADMIN_TOKEN');
  return token;
}

/** The members named by MEMBER_EMAILS (0 when unset). */
export function givenMemberCount() {
  return __ENV.MEMBER_EMAILS ? __ENV.MEMBER_EMAILS.split(',').filter((e) => e.trim()).length : 0;
}

function inBatches(total, each) {
  // 8 sign-ups at once keep both cores of a dev machine busy with scrypt without queueing for long.
  const size = Math.max(1, envNumber('SIGNUP_BATCH', 8));
  const out = [];
  for (let done = 0; done < total; done += size) {
    const results = each(Math.min(size, total - done));
    for (let i = 0; i < results.length; i++) out.push(results[i]);
  }
  return out;
}

/**
 * Access tokens of `count` members: MEMBER_EMAILS logged in with MEMBER_PASSWORD when given,
 * otherwise new members signed up through the router with their codes read from the users
 * service's development mailbox (refused in production: give MEMBER_EMAILS there).
 */
export function signInMembers(count) {
  if (__ENV.MEMBER_EMAILS) {
    const emails = __ENV.MEMBER_EMAILS.split(',')
      .map((e) => e.trim())
      .filter((e) => e);
    const password = __ENV.MEMBER_PASSWORD || PASSWORD;
    let next = 0;
    return inBatches(emails.length, (n) => {
      const batch = emails.slice(next, next + n);
      next += n;
      return mustAll(batch.map((e) => ['login', LOGIN, { e, p: password }])).map((d) => d.login.accessToken);
    });
  }
  return inBatches(count, (n) => {
    const emails = [];
    for (let i = 0; i < n; i++) emails.push(`k6-${uuid().slice(0, 13)}@example.com`);
    mustAll(emails.map((e) => ['requestEmailVerification', REQUEST_CODE, { e }]));
    const mailbox = http.batch(
      emails.map((e) => ['GET', `${USERS_URL}/dev/mailbox?email=${encodeURIComponent(e)}`, null, { tags: { phase: 'setup' } }]),
    );
    const codes = mailbox.map((r) => {
      if (r.status !== 200)
        fail(`no development mailbox at ${USERS_URL} (HTTP ${r.status}): set USERS_URL, or MEMBER_EMAILS and MEMBER_PASSWORD`);
      return r.json('code');
    });
    const proofs = mustAll(emails.map((e, i) => ['verifyEmail', VERIFY, { e, c: codes[i] }])).map((d) => d.verifyEmail.verificationToken);
    mustAll(emails.map((e, i) => ['signUp', SIGN_UP, { input: signUpInput(e, proofs[i]) }]));
    return mustAll(emails.map((e) => ['login', LOGIN, { e, p: PASSWORD }])).map((d) => d.login.accessToken);
  });
}

/**
 * Up to 100 products of the catalogue (newest first). An empty catalogue is seeded with
 * SEED_PRODUCTS (default 30) products of every function and type when an admin token is given;
 * SEED_PRODUCTS>0 with an admin seeds that many in any case.
 */
export function catalogue(admin) {
  const firstPage = () => must('products', PRODUCTS_PAGE, { first: 100 }).products.nodes;
  let products = firstPage();
  const seed = envNumber('SEED_PRODUCTS', products.length ? 0 : 30);
  if (seed > 0 && admin) {
    const run = uuid().slice(0, 8);
    const stock = envNumber('SEED_STOCK', 100000);
    for (let i = 0; i < seed; i++) {
      must('createProduct', CREATE_PRODUCT, { input: productInput(`k6 product ${run} ${i}`, stock, 5000 + 100 * i, i + 1) }, admin);
    }
    products = firstPage();
  }
  if (!products.length) fail('the catalogue is empty: give ADMIN_EMAIL and ADMIN_PASSWORD to seed it, or seed it first');
  return products;
}

/** Polls until the product's active sale is `saleEventId` and LIVE, for at most `timeoutSeconds`. */
export function waitForLiveSale(productId, saleEventId, timeoutSeconds) {
  const deadline = Date.now() + timeoutSeconds * 1000;
  for (;;) {
    const sale = must('productSale', PRODUCT_SALE, { id: productId }).product.activeSale;
    if (sale && sale.id === saleEventId && sale.status === 'LIVE') return sale;
    if (Date.now() > deadline) fail(`sale ${saleEventId} not live on product ${productId} after ${timeoutSeconds} s`);
    // The scheduler opens sales on a short tick; 0.2 s keeps the wait close to the opening.
    sleep(0.2);
  }
}

const format = (value) => (Number.isInteger(value) ? String(value) : value.toFixed(2));

/** A short end-of-test report on stdout: each threshold with its verdict, then the main numbers. */
function textSummary(data) {
  const lines = [];
  const names = Object.keys(data.metrics).sort();
  for (let i = 0; i < names.length; i++) {
    const metric = data.metrics[names[i]];
    const values = Object.keys(metric.values)
      .map((key) => `${key}=${format(metric.values[key])}`)
      .join(' ');
    const thresholds = metric.thresholds ? Object.keys(metric.thresholds) : [];
    const verdict = thresholds.length ? (thresholds.every((t) => metric.thresholds[t].ok) ? 'ok  ' : 'FAIL') : '    ';
    lines.push(`${verdict} ${names[i]}: ${values}${thresholds.length ? `  [${thresholds.join(', ')}]` : ''}`);
  }
  return `${lines.join('\n')}\n`;
}

/** handleSummary for a script: the JSON summary at SUMMARY (default `fallbackPath`) and a text report on stdout. */
export function summaryTo(fallbackPath) {
  return (data) => {
    const out = { stdout: textSummary(data) };
    out[__ENV.SUMMARY || fallbackPath] = JSON.stringify(data, null, 2);
    return out;
  };
}
