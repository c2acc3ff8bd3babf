import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../scripts/stack.mjs';
import { startStack, type Stack } from '../support/stack.js';

/**
 * The committed Grafana dashboard only asks for metrics the services really export: every metric
 * name in its PromQL is declared (`# TYPE`) by the /metrics of a running instance, and Prometheus
 * scrapes every service of docker-compose.yml.
 */
const dashboard = JSON.parse(readFileSync(join(ROOT, 'deploy/observability/grafana/dashboards/bth-overview.json'), 'utf8')) as {
  panels: Array<{ title: string; targets?: Array<{ expr: string }> }>;
};

// PromQL words that are not metric names: aggregations, functions, modifiers.
const PROMQL_WORDS = new Set([
  'sum',
  'max',
  'min',
  'avg',
  'count',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'and',
  'or',
  'unless',
  'offset',
  'bool',
  'le',
  'inf',
  'nan',
]);

/** Metric names in one PromQL expression: identifiers left after label matchers, grouping clauses, ranges and function calls. */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\b(by|without|on|ignoring)\s*\([^)]*\)/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/"[^"]*"/g, ' ');
  const names = [...bare.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)]
    .filter((m) => !m[2] && !PROMQL_WORDS.has(m[1]!.toLowerCase()))
    .map((m) => m[1]!);
  return [...new Set(names)];
}

/** A histogram's series (`x_bucket`, `x_sum`, `x_count`) are declared under its own name `x`. */
const declaredAs = (name: string) => name.replace(/_(bucket|sum|count)$/, '');

const queried = [...new Set(dashboard.panels.flatMap((panel) => (panel.targets ?? []).flatMap((t) => metricNames(t.expr))))].sort();

let stack: Stack;
beforeAll(async () => {
  // Every service and both products replicas: seven processes starting at once on 2 shared cores.
  stack = await startStack({ startTimeoutMs: 120_000 });
}, 300_000);
afterAll(async () => {
  await stack?.stop();
});

describe('the Grafana dashboard', () => {
  it('When its queries are read, then they name the metrics of every panel the issue asks for', () => {
    for (const name of [
      'orders_placed_total',
      'order_place_duration_seconds_bucket',
      'inventory_breaker_state',
      'inventory_breaker_refusals_total',
      'cache_hits_total',
      'cache_misses_total',
      'inventory_lock_conflicts_total',
      'inventory_hot_queue_depth',
      'outbox_oldest_pending_seconds',
      'amqp_dead_letter_messages',
      'process_resident_memory_bytes',
      'process_cpu_seconds_total',
    ]) {
      expect(queried).toContain(name);
    }
  });

  it('When every instance of the stack is scraped, then each metric the dashboard queries is exported by one of them', async () => {
    const declared = new Map<string, Set<string>>();
    for (const instance of stack.instances) {
      const text = await stack.metrics(instance.name, instance.index);
      for (const match of text.matchAll(/^# TYPE (\S+) /gm)) {
        if (!declared.has(match[1]!)) declared.set(match[1]!, new Set());
        declared.get(match[1]!)!.add(instance.name);
      }
    }
    const missing = queried.filter((name) => {
      const type = declared.get(declaredAs(name)) ?? declared.get(name);
      return !type;
    });
    expect(missing).toEqual([]);
    // Both products replicas export the products metrics (Prometheus scrapes them apart).
    const products = stack.instances.filter((i) => i.name === 'products');
    expect(products).toHaveLength(2);
    for (const replica of products)
      expect(await stack.metrics('products', replica.index)).toMatch(/^# TYPE inventory_hot_queue_depth gauge$/m);
  });

  it('When Prometheus is configured, then it scrapes every service that docker-compose.yml runs', () => {
    const compose = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8');
    const prometheus = readFileSync(join(ROOT, 'deploy/observability/prometheus.yml'), 'utf8');
    const targets = new Set([...prometheus.matchAll(/^\s+- ([a-z0-9-]+):(\d+)$/gm)].map((m) => m[1]));
    // products-2 is an alias of products-1 (`products-2: *products`): same command, its own container.
    const services = [...compose.matchAll(/^ {2}([a-z0-9-]+):(?: &products)?\n(?:(?! {2}\S).*\n)*? {4}command: \["node"/gm)].map(
      (m) => m[1],
    );
    const aliases = [...compose.matchAll(/^ {2}([a-z0-9-]+): \*products$/gm)].map((m) => m[1]);
    const all = [...new Set([...services, ...aliases])].sort();
    expect(all).toEqual(['events', 'orders', 'products-1', 'products-2', 'router', 'users', 'wishlists']);
    expect([...targets].sort()).toEqual(all);
  });
});
