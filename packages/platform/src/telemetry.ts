import { z } from 'zod';
import { lagTolerantTimeout } from './deadline.js';

/**
 * Tracing as platform sees it. The OpenTelemetry SDK lives in `@bth/telemetry`, started by a
 * `--import` preload only when OTEL_EXPORTER_OTLP_ENDPOINT is set; platform never imports it. The
 * preload leaves a small bridge on a global symbol, and the helpers below use it when it is there
 * and do nothing (one property read) when it is not.
 */
const TRACE_BRIDGE = Symbol.for('bth.telemetry.bridge');

interface TraceBridge {
  capture(): string | undefined;
  runWith<T>(traceparent: string | undefined, work: () => T): T;
  flush(): Promise<void>;
}

// Read once: the preload has finished before any service module is evaluated.
const bridge = (globalThis as Record<symbol, TraceBridge | undefined>)[TRACE_BRIDGE];

/** The current trace context as a W3C traceparent; undefined when tracing is off or outside a trace. */
export function captureTraceContext(): string | undefined {
  return bridge?.capture();
}

/** Runs `work` inside the trace context `traceparent` (captured earlier); as is when tracing is off. */
export function withTraceContext<T>(traceparent: string | null | undefined, work: () => T): T {
  return bridge && traceparent ? bridge.runWith(traceparent, work) : work();
}

/**
 * Sends the spans still waiting in the SDK's batch (up to 5 s of them, OTEL_BSP_SCHEDULE_DELAY)
 * before the process exits; resolves at once when tracing is off. At most `timeoutMs`: a collector
 * that does not answer must not hold the exit.
 */
export async function flushTraces(timeoutMs: number): Promise<void> {
  if (!bridge) return;
  const deadline = lagTolerantTimeout(timeoutMs);
  try {
    await Promise.race([bridge.flush(), deadline.expired]);
  } catch {
    // The collector failed or did not answer in time: the process exits anyway.
  } finally {
    deadline.clear();
  }
}

/**
 * Read by the preload, not by the service; listed in every service's env schema so a deployment's
 * settings are checked like any other (and the compose drift test knows them). Any other standard
 * OTEL_* variable (sampler, batch delay, headers) is read by the SDK itself.
 */
export const telemetryEnv = {
  // Where spans go (an OpenTelemetry Collector, Jaeger's OTLP port 4318). Unset or empty (compose's
  // `${OTEL_EXPORTER_OTLP_ENDPOINT:-}`): tracing is off, as the preload decides.
  OTEL_EXPORTER_OTLP_ENDPOINT: z.preprocess((value) => (value === '' ? undefined : value), z.url().optional()),
  // The OTLP encoding; http/protobuf unless set (the e2e trace test uses http/json).
  OTEL_EXPORTER_OTLP_PROTOCOL: z.enum(['http/protobuf', 'http/json', 'grpc']).optional(),
  // Defaults to the service's folder name (router, products, …).
  OTEL_SERVICE_NAME: z.string().optional(),
};
