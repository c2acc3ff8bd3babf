// The anonymous front-page listing, back to back: the Redis-cached read the Node bench measures
// (`node tests/load/runner.mjs listing`). browse.js is the fuller shopper.
//
//   k6 run tests/load/k6/listing.js            (against `npm start`: http://127.0.0.1:4000/graphql)
//   k6 run -e ROUTER_URL=https://shop.example/graphql -e VUS=50 -e DURATION=30s tests/load/k6/listing.js
//
// Environment (k6 run -e NAME=value):
//   ROUTER_URL (http://127.0.0.1:4000/graphql), VUS (20), DURATION (10s), FIRST (20) products per page
//   P95_MS (500), MAX_ERROR_RATE (0), SUMMARY (tests/load/results/k6-listing.json)
import { check } from 'k6';
import { LISTING } from '../lib/operations.js';
import { baseThresholds, envNumber, gql, summaryTo } from './lib/common.js';

const first = envNumber('FIRST', 20);

export const options = {
  vus: envNumber('VUS', 20),
  duration: __ENV.DURATION || '10s',
  thresholds: baseThresholds(envNumber('MAX_ERROR_RATE', 0), envNumber('P95_MS', 500)),
};

export default function () {
  const body = gql('listing', LISTING, { first });
  check(body, { 'a page of products': (b) => Boolean(b && b.data && Array.isArray(b.data.products.nodes)) });
}

export const handleSummary = summaryTo('tests/load/results/k6-listing.json');
