import { basename, dirname } from 'node:path';
import { register as registerImportHooks } from 'import-in-the-middle/register-hooks.mjs';
import { context, propagation, type Context, type Span } from '@opentelemetry/api';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { MySQL2Instrumentation } from '@opentelemetry/instrumentation-mysql2';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { AmqplibInstrumentation } from '@opentelemetry/instrumentation-amqplib';

import { TRACE_BRIDGE, type TraceBridge } from './bridge.js';

/**
 * Tracing on: OpenTelemetry's Node SDK with the instrumentations of the libraries the services
 * use, exporting spans over OTLP to OTEL_EXPORTER_OTLP_ENDPOINT (protocol from
 * OTEL_EXPORTER_OTLP_PROTOCOL, http/protobuf unless set). Loaded only by `preload.ts`.
 */

const REQUEST_ID_HEADER = 'x-request-id';
/** Span attribute carrying the request id every service logs, so a log line leads to its trace. */
export const REQUEST_ID_ATTRIBUTE = 'request.id';

// The SDK would also start OTLP metric and log exporters by default; metrics are Prometheus's job
// (/metrics) and logs go to stdout, so only traces leave unless an operator asks for more.
process.env.OTEL_METRICS_EXPORTER ??= 'none';
process.env.OTEL_LOGS_EXPORTER ??= 'none';

/** `router/dist/index.js` → router, `subgraphs/products/dist/index.js` → products. */
function serviceName(): string {
  const entry = process.argv[1];
  if (!entry) return 'bth';
  const folder = basename(dirname(dirname(entry)));
  return folder === '.' || folder === '' ? 'bth' : folder;
}

// Probes and scrapes arrive every few seconds and say nothing about a request: no spans for them.
const QUIET_PATHS = new Set(['/health/live', '/health/ready', '/metrics']);
const quiet = (path: string | undefined) => QUIET_PATHS.has((path ?? '').split('?', 1)[0] ?? '');

function requestId(request: { getHeader?: (name: string) => unknown; headers?: Record<string, unknown> }): string | undefined {
  const value = typeof request.getHeader === 'function' ? request.getHeader(REQUEST_ID_HEADER) : request.headers?.[REQUEST_ID_HEADER];
  return typeof value === 'string' ? value : undefined;
}

const sdk = new NodeSDK({
  serviceName: process.env.OTEL_SERVICE_NAME ?? serviceName(),
  instrumentations: [
    new HttpInstrumentation({
      ignoreIncomingRequestHook: (request) => quiet(request.url),
      ignoreOutgoingRequestHook: (options) => quiet(options.path ?? undefined),
      // The id is on the response (the service sets it, taken from the caller or made anew), so
      // this runs when the answer is known; client spans read the one sent to the subgraph.
      applyCustomAttributesOnSpan: (span: Span, request, response) => {
        const id = requestId(response as never) ?? requestId(request as never);
        if (id) span.setAttribute(REQUEST_ID_ATTRIBUTE, id);
      },
    }),
    new UndiciInstrumentation({ ignoreRequestHook: (request) => quiet(request.path) }),
    new MySQL2Instrumentation(),
    new IORedisInstrumentation(),
    new AmqplibInstrumentation(),
  ],
});
sdk.start();

// In ESM the instrumentations see a library through import-in-the-middle's loader hook, here the
// synchronous in-thread kind (module.registerHooks, Node >= 24.11.1): no loader thread and no
// message round trip per module, which the off-thread `module.register` variant needs.
// Only the libraries instrumented above are wrapped, not every module the service imports.
registerImportHooks({
  include: ['http', 'node:http', 'https', 'node:https', 'mysql2', 'mysql2/promise', 'ioredis', 'amqplib', 'amqplib/callback_api', 'undici'],
});

/**
 * What platform's outbox needs to carry a trace across the time a message waits in the outbox
 * table: the caller's context as a W3C traceparent when the row is written, and that context
 * made current again while the relay publishes it (the amqplib instrumentation then puts it in the
 * message headers, and the consumer's span continues the same trace).
 */
const bridge: TraceBridge = {
  capture() {
    const carrier: Record<string, string> = {};
    propagation.inject(context.active(), carrier);
    return carrier.traceparent;
  },
  runWith(traceparent, work) {
    if (!traceparent) return work();
    const parent: Context = propagation.extract(context.active(), { traceparent });
    return context.with(parent, work);
  },
  flush: () => sdk.shutdown(),
};
(globalThis as Record<symbol, unknown>)[TRACE_BRIDGE] = bridge;

// A service's shutdown ends in process.exit(), which skips 'beforeExit': platform's `onShutdown`
// calls `bridge.flush()` before it. 'beforeExit' covers what ends by running out of work (the
// migrate scripts).
process.once('beforeExit', () => void bridge.flush().catch(() => undefined));
