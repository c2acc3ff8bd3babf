import type { Logger } from '@bth/platform';

/**
 * The background loop of the orders service. All state lives in the database (status plus the
 * time it was entered), so a restart loses nothing, and every job claims its rows with SKIP
 * LOCKED or a conditional UPDATE, so several instances can run this loop at once. Ticks never
 * overlap: the next one is scheduled when the previous has finished.
 */
export function createOrderScheduler(options: { jobs: Array<[string, () => Promise<number>]>; intervalMs: number; logger: Logger }) {
  const { jobs, intervalMs, logger } = options;
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<void> | undefined;
  let stopped = true;

  async function tick(): Promise<void> {
    for (const [name, job] of jobs) {
      if (stopped) return;
      try {
        const changed = await job();
        if (changed > 0) logger.debug('scheduler job done', { job: name, changed });
      } catch (error) {
        // A database hiccup must not kill the loop; the next tick retries.
        logger.warn('scheduler job failed', { job: name, error });
      }
    }
  }

  function schedule() {
    if (stopped) return;
    timer = setTimeout(() => {
      current = tick().finally(() => {
        current = undefined;
        schedule();
      });
    }, intervalMs);
  }

  return {
    start() {
      if (!stopped) return;
      stopped = false;
      schedule();
    },
    /** Stops the loop and waits for a tick in progress, so shutdown never cuts a job in half. */
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await current;
    },
  };
}

export type OrderScheduler = ReturnType<typeof createOrderScheduler>;
