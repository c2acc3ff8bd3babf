/**
 * A timeout that does not fire on an answer that has already arrived.
 *
 * On a busy 2-core machine a flash-sale burst lags the event loop by a hundred milliseconds or
 * more. A plain timer then expires in the timers phase, before the poll phase reads the answer
 * that came in meanwhile, and a healthy peer is declared dead. Here the abort waits one more turn
 * (setImmediate runs after the poll phase), so I/O that is already in the socket is read first.
 */
export interface LagTolerantTimeout {
  signal: AbortSignal;
  /** Rejects with the timeout error when the signal aborts; never resolves. */
  expired: Promise<never>;
  clear(): void;
}

export function lagTolerantTimeout(ms: number, message = `no answer within ${ms} ms`): LagTolerantTimeout {
  const controller = new AbortController();
  let immediate: NodeJS.Immediate | undefined;
  const timer = setTimeout(() => {
    immediate = setImmediate(() => {
      const error = new Error(message);
      error.name = 'TimeoutError';
      controller.abort(error);
    });
  }, ms);
  timer.unref();
  const expired = new Promise<never>((_, reject) => {
    controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true });
  });
  // A caller that clears it early never awaits `expired`: keep that from becoming an unhandled rejection.
  expired.catch(() => undefined);
  return {
    signal: controller.signal,
    expired,
    clear() {
      clearTimeout(timer);
      if (immediate) clearImmediate(immediate);
    },
  };
}
