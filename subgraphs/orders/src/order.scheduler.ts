import type { Logger } from '@bth/platform/logger';
import { createPeriodicTask, type PeriodicTask } from '@bth/platform/periodic';

/**
 * The background loop of the orders service. All state lives in the database (status plus the
 * time it was entered), so a restart loses nothing, and every job claims its rows with SKIP
 * LOCKED or a conditional UPDATE, so several instances can run this loop at once. The loop itself
 * (no overlapping ticks, jitter, clean stop) is platform's periodic task.
 */
export function createOrderScheduler(options: {
  jobs: Array<[string, () => Promise<number>]>;
  intervalMs: number;
  logger: Logger;
}): PeriodicTask {
  const { jobs, intervalMs, logger } = options;
  return createPeriodicTask({
    name: 'orders scheduler',
    intervalMs,
    logger,
    async run(signal) {
      for (const [name, job] of jobs) {
        if (signal.aborted) return;
        try {
          const changed = await job();
          if (changed > 0) logger.debug('scheduler job done', { job: name, changed });
        } catch (error) {
          // One failing job must not keep the others from running; the next tick retries it.
          logger.warn('scheduler job failed', { job: name, error });
        }
      }
    },
  });
}

export type OrderScheduler = PeriodicTask;
