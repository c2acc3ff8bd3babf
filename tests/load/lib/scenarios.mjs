// The load scenarios, for the Node runner and the bench. The k6 scripts in ../k6 run the same
// scenarios with k6's own HTTP client.
import { randomUUID } from 'node:crypto';
import { CREATE_PRODUCT, EXPECTED_REFUSALS, INVENTORY_REPORT, LISTING, PLACE_ORDER, orderInput, productInput } from './operations.js';
import { gql, must, runLoad, summarise } from './node.mjs';

/** Anonymous front-page listing, `vus` clients back to back for `durationMs`. */
export async function listingScenario({ url, vus, durationMs, first = 20 }) {
  // One request first, so a cached run measures the steady state rather than the first miss.
  await must(url, LISTING, { first });
  const run = await runLoad({
    vus,
    durationMs,
    iteration: async () => {
      const response = await gql(url, LISTING, { first });
      return response.errors ? `error: ${response.errors[0]?.extensions?.code}` : 'ok';
    },
  });
  return summarise(run.latencies, run.elapsedMs, { outcomes: run.outcomes });
}

/**
 * Flash sale on one hot product: every member places one-unit orders back to back (a fresh
 * idempotency key each) until `durationMs` passes or the stock is gone. At the end the admin
 * inventory report must be consistent and its sold units must equal the orders that succeeded:
 * zero oversell, nothing lost.
 */
export async function flashSaleScenario({ url, adminToken, members, stock, durationMs, saleEventId, productId: existing }) {
  const productId =
    existing ??
    (await must(url, CREATE_PRODUCT, { input: productInput(`Hot ${randomUUID().slice(0, 8)}`, stock) }, adminToken)).createProduct.id;
  const run = await runLoad({
    vus: members.length,
    durationMs,
    iteration: async (vu) => {
      const response = await gql(url, PLACE_ORDER, { input: orderInput(productId, randomUUID(), saleEventId) }, members[vu].token);
      if (response.errors) return `error: ${response.errors[0]?.extensions?.code}`;
      return response.data.placeOrder.__typename;
    },
  });
  const report = (await must(url, INVENTORY_REPORT, { ids: [productId] }, adminToken)).inventoryReport;
  const placed = run.outcomes.Order ?? 0;
  const unexpected = Object.entries(run.outcomes).filter(([label]) => label !== 'Order' && !EXPECTED_REFUSALS.includes(label));
  return {
    productId,
    ...summarise(run.latencies, run.elapsedMs, { outcomes: run.outcomes }),
    ordersPlaced: placed,
    soldUnits: report.soldUnits,
    stockLeft: report.totalStock,
    invariantHolds: report.consistent && report.soldUnits === placed && report.totalStock === stock - placed,
    unexpectedOutcomes: Object.fromEntries(unexpected),
  };
}
