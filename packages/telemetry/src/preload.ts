/**
 * The `--import` preload every service starts with (`node --import @bth/telemetry <entry>`).
 *
 * Tracing is off unless OTEL_EXPORTER_OTLP_ENDPOINT is set; then this module returns at once and
 * loads nothing else, so a service without tracing runs exactly the code it ran before. When it is
 * set, the SDK must be running before the service imports node:http, mysql2, ioredis or amqplib:
 * in ESM the instrumentations patch a library only when they see it load, which is why this is a
 * preload and not a call in `index.ts` (whose static imports are evaluated before its body).
 *
 * This and `tracing.ts` are the only code outside a service's `env.ts` that read `process.env`:
 * they run before any service code exists. Each service's env schema lists the same variables
 * (platform `envFragments.base`, from `telemetryEnv`) so a wrong value is still refused at start-up.
 */
if (process.env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim()) {
  await import('./tracing.js');
}

export {};
