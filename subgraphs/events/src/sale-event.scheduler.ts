import type { Logger } from '@bth/platform';

/**
 * The loop that opens and closes sale events on time. It keeps no state: every tick asks the
 * table what is due (two indexed range reads on (status, starts_at) and (status, ends_at)), so a
 * restart or a crash loses nothing, and the transitions themselves are safe on several instances.
 * Ticks never overlap: the next one is scheduled when the previous has finished. The first tick
 * runs at once, so an instance coming back from downtime catches up before serving long.
 */
export function createSaleEventScheduler(options: { run: () => Promise<number>; tickMs: number; logger: Logger }) {
  const { run, tickMs, logger } = options;
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<void> | undefined;
  let stopped = true;

  async function tick(): Promise<void> {
    try {
      await run();
    } catch (error) {
      // A database hiccup (or a lock timeout) must not kill the loop; the next tick retries.
      logger.warn('sale event scheduler tick failed', { error });
    }
  }

  function schedule(delayMs: number) {
    if (stopped) return;
    timer = setTimeout(() => {
      current = tick().finally(() => {
        current = undefined;
        schedule(tickMs);
      });
    }, delayMs);
  }

  return {
    start() {
      if (!stopped) return;
      stopped = false;
      schedule(0);
    },
    /** Stops the loop and waits for a tick in progress, so shutdown never cuts a transition in half. */
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await current;
    },
  };
}

export type SaleEventScheduler = ReturnType<typeof createSaleEventScheduler>;
