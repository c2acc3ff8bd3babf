#!/usr/bin/env node
// Runs one load scenario against a running supergraph (`npm start`, or any deployment), the same
// scenarios as the k6 scripts in ./k6. Examples:
//   node tests/load/runner.mjs listing --vus 20 --duration 10
//   ADMIN_TOKEN=<admin access token> node tests/load/runner.mjs flash-sale --members 50 --stock 100 --duration 10
// Exit code 1 when a scenario sees an unexpected outcome or the inventory invariant breaks.
import { parseArgs } from 'node:util';
import { signUpMembers } from './lib/node.mjs';
import { flashSaleScenario, listingScenario } from './lib/scenarios.mjs';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    url: { type: 'string', default: process.env.ROUTER_URL ?? 'http://127.0.0.1:4000/graphql' },
    'users-url': { type: 'string', default: process.env.USERS_URL ?? 'http://127.0.0.1:4001' },
    vus: { type: 'string', default: '20' },
    duration: { type: 'string', default: '10' },
    members: { type: 'string', default: '50' },
    stock: { type: 'string', default: '100' },
    'sale-event': { type: 'string' },
    product: { type: 'string' },
  },
});
const scenario = positionals[0];
const durationMs = Number(values.duration) * 1000;

let result;
if (scenario === 'listing') {
  result = await listingScenario({ url: values.url, vus: Number(values.vus), durationMs });
} else if (scenario === 'flash-sale') {
  const adminToken = process.env.ADMIN_TOKEN;
  if (!adminToken)
    throw new Error('flash-sale needs ADMIN_TOKEN: an access token of an admin (npm run create-admin -- <email>, then login)');
  const members = await signUpMembers(values.url, values['users-url'], Number(values.members));
  result = await flashSaleScenario({
    url: values.url,
    adminToken,
    members,
    stock: Number(values.stock),
    durationMs,
    saleEventId: values['sale-event'],
    productId: values.product,
  });
} else {
  process.stderr.write('usage: runner.mjs listing|flash-sale [--url] [--vus] [--duration s] [--members] [--stock]\n');
  process.exit(2);
}
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
const unexpected = Object.keys(result.outcomes).some((label) => label.startsWith('error')) || result.invariantHolds === false;
process.exit(unexpected ? 1 : 0);
