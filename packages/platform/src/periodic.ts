import type { Logger } from './logger.js';

/**
 * The one loop behind every background job (the orders and events schedulers, the outbox relay,
 * the users revocation marker check). A run never overlaps the previous one: the next is
 * scheduled when a run has finished, after an interval with a little jitter, so replicas started
 * together do not hit the database in lockstep. A run that throws is logged, never thrown: a
 * database hiccup must not kill the loop, the next run tries again. `stop()` waits for a run in
 * progress, so shutdown never cuts a job in half, and tells it through `signal` to stop early.
 */
export interface PeriodicTaskOptions {
  /** For the log line of a failed run. */
  name: string;
  intervalMs: number;
  /** One run. `signal` aborts when `stop()` is called: a run of several steps checks it between them. */
  run: (signal: AbortSignal) => Promise<unknown>;
  logger: Logger;
  /** Each wait is the interval ± this fraction of it, at random (default 0.1). */
  jitter?: number;
  /** Wait before the first run after `start()` (default: one jittered interval; 0 runs at once). */
  firstDelayMs?: number;
  /** Where the jitter comes from (tests). */
  random?: () => number;
}

export interface PeriodicTask {
  start(): void;
  /**
   * Runs now, or right after the run in progress (requests meanwhile share that one follow-up
   * run), and resolves when it is over. Works before `start()` too (tests, a one-off pass).
   */
  runNow(): Promise<void>;
  /** No more runs; resolves when the run in progress (and a follow-up already asked for) is over. */
  stop(): Promise<void>;
}

export function createPeriodicTask(options: PeriodicTaskOptions): PeriodicTask {
  const { name, intervalMs, run, logger } = options;
  const jitter = Math.min(Math.max(options.jitter ?? 0.1, 0), 1);
  const random = options.random ?? Math.random;
  let stopped = true;
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<void> | undefined;
  let followUp: Promise<void> | undefined;
  let stopping = new AbortController();

  const nextDelay = () => Math.max(0, Math.round(intervalMs * (1 + jitter * (2 * random() - 1))));

  function schedule(delayMs: number) {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(() => void launch(), delayMs);
  }

  function launch(): Promise<void> {
    clearTimeout(timer);
    timer = undefined;
    current = (async () => {
      try {
        await run(stopping.signal);
      } catch (error) {
        logger.warn(`${name} failed; trying again at the next run`, { task: name, error });
      }
    })().finally(() => {
      current = undefined;
      schedule(nextDelay());
    });
    return current;
  }

  return {
    start() {
      if (!stopped) return;
      stopped = false;
      stopping = new AbortController();
      schedule(options.firstDelayMs ?? nextDelay());
    },
    runNow() {
      if (!current) return launch();
      followUp ??= current.then(() => {
        followUp = undefined;
        return launch();
      });
      return followUp;
    },
    async stop() {
      stopped = true;
      stopping.abort();
      clearTimeout(timer);
      timer = undefined;
      await (followUp ?? current);
    },
  };
}
