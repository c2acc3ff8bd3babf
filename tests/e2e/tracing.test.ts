import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql, waitFor } from '@bth/testkit';
import { PLACE_ORDER, SHIPPING, startStack, type Member, type Stack } from '../support/stack.js';
import { startOtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver.js';

/**
 * Traces with OpenTelemetry on: every service exports to a local OTLP receiver, and one client
 * request is one trace through the router, the subgraphs, MariaDB, Redis and RabbitMQ, each
 * service's server span carrying the request id.
 */
const SERVER = 2;
const PRODUCER = 4;
const CONSUMER = 5;

let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>;
let stack: Stack;
let admin: Member;
beforeAll(async () => {
  receiver = await startOtlpReceiver();
  stack = await startStack({
    only: ['users', 'products', 'orders', 'events'],
    productsReplicas: 1,
    // Each service loads the whole SDK first (~2 s of CPU); on a busy 2-core machine five of them
    // starting at once take far longer than the usual 30 s.
    startTimeoutMs: 300_000,
    env: {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      // Spans leave within 100 ms instead of the default 5 s batch delay.
      OTEL_BSP_SCHEDULE_DELAY: '100',
    },
    // Except users': its batch waits a minute, so only the flush at shutdown can send it in time.
    envFor: { users: { OTEL_BSP_SCHEDULE_DELAY: '60000' } },
  });
  admin = await stack.signUpAdmin();
}, 420_000);
afterAll(async () => {
  await stack?.stop();
  await receiver?.close();
});

/** Sends one request with a request id of our own through the router. */
function request(query: string, variables: Record<string, unknown>, accessToken: string | undefined, requestId: string) {
  return graphql(stack.routerUrl, query, variables, {
    'x-request-id': requestId,
    ...(accessToken ? { authorization: `Bearer ${accessToken}` } : {}),
  });
}

/** The trace whose router server span carries `requestId`, once `until` holds for its spans. */
async function traceOf(requestId: string, until: (spans: ReceivedSpan[]) => boolean): Promise<ReceivedSpan[]> {
  let last: ReceivedSpan[] = [];
  try {
    return await waitFor(async () => {
      const root = receiver.spans.find((s) => s.service === 'router' && s.kind === SERVER && s.attributes['request.id'] === requestId);
      if (!root) return null;
      last = receiver.spans.filter((s) => s.traceId === root.traceId);
      return until(last) ? last : null;
    }, 15_000);
  } catch (error) {
    const seen = last.map((s) => `${s.service}/${s.scope}/${s.name}`).join(', ');
    throw new Error(`trace of ${requestId} incomplete; spans seen: ${seen || 'none'}: ${(error as Error).message}`);
  }
}

const services = (spans: ReceivedSpan[]) => new Set(spans.map((s) => s.service));
const hasScope = (spans: ReceivedSpan[], service: string, scope: string) => spans.some((s) => s.service === service && s.scope === scope);

describe('OpenTelemetry traces', () => {
  it('When a member places an order, then one trace spans router, orders and products down to MariaDB, with the request id on the router, orders and products server spans', async () => {
    const productId = await stack.createProduct(admin, { stock: 5 });
    const member = await stack.signUp();
    const requestId = `trace-${randomUUID()}`;
    const placed = await request(
      PLACE_ORDER,
      { input: { lines: [{ productId, quantity: 1 }], shipping: SHIPPING, idempotencyKey: randomUUID() } },
      member.accessToken,
      requestId,
    );
    expect(placed.data?.placeOrder.__typename).toBe('Order');

    const trace = await traceOf(
      requestId,
      (spans) =>
        ['router', 'orders', 'products'].every((name) => services(spans).has(name)) &&
        hasScope(spans, 'orders', '@opentelemetry/instrumentation-mysql2') &&
        hasScope(spans, 'products', '@opentelemetry/instrumentation-mysql2'),
    );
    // The router's subgraph fetch (its own node:http transport) carried the trace to orders, and
    // orders' inventory call carried it to products.
    for (const name of ['router', 'orders']) {
      const server = trace.filter((s) => s.service === name && s.kind === SERVER);
      expect(server.length, `${name} server spans`).toBeGreaterThan(0);
      expect(
        server.every((s) => s.attributes['request.id'] === requestId),
        `${name} request ids`,
      ).toBe(true);
    }
    // Products' reserve call comes from orders, which sends the request id on: its server span is a
    // child of orders' fetch span in the same trace, and carries the same id (so do its log lines).
    const reserve = trace.find((s) => s.service === 'products' && s.kind === SERVER);
    expect(trace.find((s) => s.spanId === reserve?.parentSpanId)?.service).toBe('orders');
    expect(reserve?.attributes['request.id']).toBe(requestId);
    // One trace for the request: every span that carries its id belongs to it.
    const tagged = receiver.spans.filter((s) => s.attributes['request.id'] === requestId);
    expect(new Set(tagged.map((s) => s.traceId)).size).toBe(1);
    // Every span but the root has its parent in the same trace.
    const ids = new Set(trace.map((s) => s.spanId));
    expect(trace.filter((s) => !s.parentSpanId || !ids.has(s.parentSpanId))).toHaveLength(1);
  });

  it('When a listing is read, then its trace reaches Redis from products', async () => {
    const requestId = `trace-${randomUUID()}`;
    const listing = await request(`{ products(first: 5) { nodes { id name } } }`, {}, undefined, requestId);
    expect(listing.errors).toBeUndefined();
    const trace = await traceOf(requestId, (spans) => hasScope(spans, 'products', '@opentelemetry/instrumentation-ioredis'));
    expect(services(trace)).toEqual(new Set(['router', 'products']));
  });

  it('When an admin schedules a sale, then the trace goes on through the outbox and RabbitMQ into the products consumer', async () => {
    const productId = await stack.createProduct(admin, { stock: 5 });
    const requestId = `trace-${randomUUID()}`;
    const created = await request(
      `mutation($input: CreateSaleEventInput!) { createSaleEvent(input: $input) { id status } }`,
      {
        input: {
          name: 'Traced sale',
          productId,
          salePrice: 9_900,
          quantity: 2,
          perUserLimit: 1,
          startsAt: new Date(Date.now() + 600_000).toISOString(),
          endsAt: new Date(Date.now() + 1_200_000).toISOString(),
        },
      },
      admin.accessToken,
      requestId,
    );
    expect(created.data?.createSaleEvent.status).toBe('SCHEDULED');
    // Both ends: each service exports its own batch, so the consumer's span can arrive before the
    // relay's publish span (which ends only when the broker confirms).
    const trace = await traceOf(
      requestId,
      (spans) =>
        spans.some((s) => s.service === 'products' && s.kind === CONSUMER) &&
        spans.some((s) => s.service === 'events' && s.kind === PRODUCER),
    );
    const publish = trace.find((s) => s.service === 'events' && s.kind === PRODUCER);
    const consume = trace.find((s) => s.service === 'products' && s.kind === CONSUMER);
    expect(publish, 'the relay publish span').toBeDefined();
    expect(consume!.parentSpanId).toBe(publish!.spanId);
    // The consumer's own work (its inbox row and the sale window) is in the same trace.
    expect(trace.some((s) => s.service === 'products' && s.scope === '@opentelemetry/instrumentation-mysql2')).toBe(true);
  });

  it('When a service stops, then the spans still in its batch leave before it exits', async () => {
    const requestId = `trace-${randomUUID()}`;
    const me = await request('{ me { id } }', {}, admin.accessToken, requestId);
    expect(me.errors).toBeUndefined();
    const usersSpans = () => receiver.spans.filter((s) => s.service === 'users' && s.attributes['request.id'] === requestId);
    // The router's spans arrive within its 100 ms batch delay; users' stay in its minute-long batch.
    await traceOf(requestId, (spans) => spans.some((s) => s.service === 'router'));
    expect(usersSpans()).toEqual([]);
    await stack.service('users').stop();
    expect(usersSpans().filter((s) => s.kind === SERVER)).toHaveLength(1);
  });

  it('Then the receiver got only OTLP/JSON trace exports', () => {
    expect(receiver.rejected).toBe(0);
  });
});
