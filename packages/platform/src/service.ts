import type { Logger } from './logger.js';
import { flushTraces } from './telemetry.js';

// OTLP over HTTP to a collector nearby answers in milliseconds; 2 s of the 15 s shutdown budget
// lets the last spans out without an unreachable collector holding the exit.
const TRACE_FLUSH_TIMEOUT_MS = 2_000;

/**
 * Process lifecycle shared by every service: run `main`, exit 1 on a start-up failure, and on
 * SIGTERM/SIGINT run the shutdown steps in order (stop accepting → finish in-flight → close
 * clients), then send the spans still batched, forcing an exit if they hang.
 */
export function runMain(main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`Start-up failed: ${message}\n`);
    process.exit(1);
  });
}

export function onShutdown(logger: Logger, steps: Array<[string, () => Promise<unknown>]>, timeoutMs = 15_000): void {
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('shutting down', { signal });
    setTimeout(() => {
      logger.error('shutdown timed out; forcing exit');
      process.exit(1);
    }, timeoutMs).unref();
    let failed = false;
    for (const [name, step] of steps) {
      try {
        await step();
      } catch (error) {
        failed = true;
        logger.warn('shutdown step failed', { step: name, error });
      }
    }
    logger.info('stopped');
    // After the steps, so the spans of the requests they let finish are in the batch too.
    await flushTraces(TRACE_FLUSH_TIMEOUT_MS);
    process.exit(failed ? 1 : 0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

/** Describes how to bring up a missing local dependency; printed when a start-up check fails. */
export const HOW_TO_START: Record<'mariadb' | 'redis' | 'rabbitmq', string> = {
  mariadb: 'docker compose up -d mariadb   (or locally: start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd)',
  redis: 'docker compose up -d redis   (or locally: redis-server --daemonize yes --port 6379)',
  rabbitmq: 'docker compose up -d rabbitmq   (or locally: rabbitmq-server -detached)',
};

/** Wraps a dependency check so the failure names the service, the address and the fix. */
export async function requireDependency(
  name: keyof typeof HOW_TO_START,
  address: string,
  check: () => Promise<void>,
  timeoutMs = 8_000,
): Promise<void> {
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs).unref()),
    ]);
  } catch (error) {
    throw new Error(`${name} is not reachable at ${redact(address)}: ${(error as Error).message}\n  Start it with: ${HOW_TO_START[name]}`);
  }
}

/** Hides the password in a connection URL before it is printed. */
export function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url;
  }
}
