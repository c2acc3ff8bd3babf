// k6 run tests/load/k6/listing.js            (against `npm start`: http://127.0.0.1:4000/graphql)
// k6 run -e ROUTER_URL=https://shop.example/graphql -e VUS=50 -e DURATION=30s tests/load/k6/listing.js
//
// The anonymous front-page listing: served from the Redis cache after the first request.
import http from 'k6/http';
import { check } from 'k6';
import { LISTING } from '../lib/operations.js';

const url = __ENV.ROUTER_URL || 'http://127.0.0.1:4000/graphql';

export const options = {
  vus: Number(__ENV.VUS || 20),
  duration: __ENV.DURATION || '10s',
  thresholds: {
    checks: ['rate==1'],
    http_req_failed: ['rate==0'],
  },
};

export default function () {
  const response = http.post(url, JSON.stringify({ query: LISTING, variables: { first: 20 } }), {
    headers: { 'content-type': 'application/json' },
  });
  check(response, {
    'status 200': (r) => r.status === 200,
    'no GraphQL errors': (r) => !r.json('errors'),
    'a page of products': (r) => Array.isArray(r.json('data.products.nodes')),
  });
}
