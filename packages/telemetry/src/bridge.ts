/**
 * The contract between the tracing preload and platform, kept as a global so platform never
 * imports OpenTelemetry: with tracing off nothing is registered and platform's calls are no-ops.
 */
export const TRACE_BRIDGE = Symbol.for('bth.telemetry.bridge');

export interface TraceBridge {
  /** The current trace context as a W3C traceparent, or undefined outside a trace. */
  capture(): string | undefined;
  /** Runs `work` with `traceparent` as the current context (as is when it is undefined). */
  runWith<T>(traceparent: string | undefined, work: () => T): T;
  /** Exports the spans still batched and stops the SDK: the last thing before the process exits. */
  flush(): Promise<void>;
}
