import type { Metrics } from '@bth/platform/metrics';

/**
 * `orders_placed_total{outcome}` and `order_place_duration_seconds{outcome}`: what the dashboard's
 * "orders per second by outcome" and "placeOrder p50/p95/p99" panels read. The outcome is the
 * answer's GraphQL type (Order, InsufficientStock, SaleSoldOut, InventoryUnavailable, …) or
 * `error`. Label children are bound once per outcome and reused, so a request only looks one up.
 */
export function placeOrderMetrics(metrics: Metrics) {
  const count = metrics.counter({
    name: 'orders_placed_total',
    help: 'placeOrder answers by outcome (the answer type, or error)',
    labelNames: ['outcome'],
  });
  const duration = metrics.histogram({
    name: 'order_place_duration_seconds',
    help: 'placeOrder duration in the orders service, by outcome',
    labelNames: ['outcome'],
    // From a replayed answer (~1 ms) through a contended hot row (tens to hundreds of ms) to the
    // 7 s inventory deadline.
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  });
  const bound = new Map<string, { count: ReturnType<typeof count.labels>; duration: ReturnType<typeof duration.labels> }>();
  return {
    observe(outcome: string, seconds: number) {
      let children = bound.get(outcome);
      if (!children) {
        children = { count: count.labels(outcome), duration: duration.labels(outcome) };
        bound.set(outcome, children);
      }
      children.count.inc();
      children.duration.observe(seconds);
    },
  };
}
