import { describe, expect, it } from 'vitest';
import { createLogger, type LogFields, type Logger } from './logger.js';
import { createPeriodicTask } from './periodic.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A logger that keeps its warnings, to check that failures are logged and not thrown. */
function recordingLogger(): Logger & { warnings: Array<{ msg: string; fields?: LogFields }> } {
  const warnings: Array<{ msg: string; fields?: LogFields }> = [];
  const base = createLogger({ service: 'test' }, 'silent');
  return { ...base, warnings, warn: (msg, fields) => void warnings.push({ msg, fields }) };
}

describe('periodic task', () => {
  it('runs every interval once started, and never two runs at once', async () => {
    let running = 0;
    let overlapped = false;
    let runs = 0;
    const task = createPeriodicTask({
      name: 'probe',
      intervalMs: 10,
      logger: recordingLogger(),
      run: async () => {
        if (++running > 1) overlapped = true;
        runs++;
        // Longer than the interval: a timer-driven loop would start the next run meanwhile.
        await sleep(30);
        running--;
      },
    });
    task.start();
    const kicks = Array.from({ length: 5 }, () => task.runNow());
    await sleep(200);
    await task.stop();
    await Promise.all(kicks);
    expect(overlapped).toBe(false);
    expect(runs).toBeGreaterThanOrEqual(3);
  });

  it('logs a failed run and keeps going', async () => {
    const logger = recordingLogger();
    let runs = 0;
    const task = createPeriodicTask({
      name: 'flaky job',
      intervalMs: 5,
      firstDelayMs: 0,
      logger,
      run: async () => {
        runs++;
        if (runs === 1) throw new Error('database hiccup');
      },
    });
    task.start();
    await sleep(60);
    await task.stop();
    expect(runs).toBeGreaterThan(1);
    expect(logger.warnings[0]).toMatchObject({ msg: 'flaky job failed; trying again at the next run', fields: { task: 'flaky job' } });
    // runNow never rejects either.
    await expect(
      createPeriodicTask({ name: 'x', intervalMs: 5, logger, run: () => Promise.reject(new Error('no')) }).runNow(),
    ).resolves.toBeUndefined();
  });

  it('coalesces requests made during a run into one follow-up run, which they all wait for', async () => {
    let runs = 0;
    let release!: () => void;
    const task = createPeriodicTask({
      name: 'probe',
      intervalMs: 60_000,
      logger: recordingLogger(),
      run: async () => {
        runs++;
        if (runs === 1) await new Promise<void>((resolve) => (release = resolve));
      },
    });
    const first = task.runNow();
    const a = task.runNow();
    const b = task.runNow();
    expect(a).toBe(b);
    release();
    await Promise.all([first, a, b]);
    expect(runs).toBe(2);
  });

  it('stop waits for the run in progress, tells it to stop early, and nothing runs after it', async () => {
    let runs = 0;
    let sawAbort = false;
    const task = createPeriodicTask({
      name: 'probe',
      intervalMs: 5,
      firstDelayMs: 0,
      logger: recordingLogger(),
      run: async (signal) => {
        runs++;
        await sleep(40);
        sawAbort = signal.aborted;
      },
    });
    task.start();
    await sleep(10);
    const before = Date.now();
    await task.stop();
    // It waited for the run that was under way…
    expect(Date.now() - before).toBeGreaterThanOrEqual(20);
    expect(sawAbort).toBe(true);
    const after = runs;
    await sleep(50);
    // …and no new run started.
    expect(runs).toBe(after);
  });

  it('spreads the waits by the jitter around the interval', () => {
    const delays: number[] = [];
    const realSetTimeout = globalThis.setTimeout;
    globalThis.setTimeout = ((_fn: () => void, ms: number) => {
      delays.push(ms);
      return realSetTimeout(() => undefined, 0);
    }) as typeof setTimeout;
    try {
      for (const r of [0, 0.5, 1]) {
        const task = createPeriodicTask({
          name: 'probe',
          intervalMs: 1_000,
          jitter: 0.2,
          random: () => r,
          logger: recordingLogger(),
          run: async () => undefined,
        });
        task.start();
        void task.stop();
      }
    } finally {
      globalThis.setTimeout = realSetTimeout;
    }
    expect(delays).toEqual([800, 1_000, 1_200]);
  });
});
