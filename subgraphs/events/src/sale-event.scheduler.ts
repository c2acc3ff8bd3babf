import type { Logger } from '@bth/platform/logger';
import { createPeriodicTask, type PeriodicTask } from '@bth/platform/periodic';

/**
 * The loop that opens and closes sale events on time. It keeps no state: every tick asks the
 * table what is due (two indexed range reads on (status, starts_at) and (status, ends_at)), so a
 * restart or a crash loses nothing, and the transitions themselves are safe on several instances.
 * The first tick runs at once, so an instance coming back from downtime catches up before serving
 * long; the loop itself (no overlap, jitter, clean stop, failures logged) is platform's periodic task.
 */
export function createSaleEventScheduler(options: { run: () => Promise<number>; tickMs: number; logger: Logger }): PeriodicTask {
  return createPeriodicTask({
    name: 'sale event scheduler',
    intervalMs: options.tickMs,
    firstDelayMs: 0,
    logger: options.logger,
    run: options.run,
  });
}

export type SaleEventScheduler = PeriodicTask;
