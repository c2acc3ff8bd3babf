import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendGraphQLError } from '@bth/platform/http';
import type { Logger } from '@bth/platform/logger';

/**
 * Admission control at the router (issue 10, storm memory and overload): at most `maxInFlight`
 * GraphQL operations run at once; the next ones wait in arrival order, holding nothing but Node's
 * own request objects (their bodies stay unread in the socket), and are refused at once with a
 * coded, retryable RATE_LIMITED (`reason: OVERLOADED`, `retryAfterSeconds`) when `maxQueued` are
 * already waiting, or after `maxWaitMs` in the queue. A refusal happens before anything ran, so it
 * never drops an accepted mutation: every admitted operation runs to its end.
 *
 * Without it, 10,000 buyers arriving within a second each started Apollo's pipeline at once: the
 * router held 10,000 parsed bodies, contexts and plans (656 MB RSS), and the subgraphs behind it
 * 10,000 calls that then ran into their deadlines.
 */
export interface AdmissionLimits {
  maxInFlight: number;
  maxQueued: number;
  maxWaitMs: number;
}

export const DEFAULT_ADMISSION: AdmissionLimits = {
  // Enough to keep every subgraph busy (a subgraph answers in ~1–150 ms, so 128 in flight carry
  // thousands of operations per second, more than this machine's two cores serve), few enough that
  // what runs at once stays a few MB.
  maxInFlight: 128,
  // The storm (10,000 buyers within one second) waits rather than being turned away; past
  // this many waiting the router refuses at once, which costs it almost nothing.
  maxQueued: 10_000,
  // A waiting request starts with the router's whole request budget still ahead of it; 10 s keeps
  // the total under the clients' usual 30 s timeouts. Past it, "retry" is the honest answer.
  maxWaitMs: 10_000,
};

/** Seconds a refused client is told to wait: the queue moves by hundreds of operations a second. */
const RETRY_AFTER_SECONDS = 1;
/** One warning per this many ms at most while refusing, with the count since the last one. */
const REFUSAL_LOG_EVERY_MS = 10_000;

interface Waiter {
  res: ServerResponse;
  resolve: (admitted: boolean) => void;
  timer: NodeJS.Timeout;
  done: boolean;
}

export function createAdmission(limits: AdmissionLimits, logger: Logger) {
  let running = 0;
  let waiting = 0;
  // A FIFO with a moving head: shift() on a 10,000-long array would copy it for every admission.
  let queue: Waiter[] = [];
  let head = 0;
  let refusedSinceLog = 0;
  let lastLogAt = 0;

  function refuse(res: ServerResponse, why: string) {
    refusedSinceLog += 1;
    const now = Date.now();
    if (now - lastLogAt >= REFUSAL_LOG_EVERY_MS) {
      logger.warn('router overloaded; refusing operations', { refused: refusedSinceLog, why, running, waiting });
      lastLogAt = now;
      refusedSinceLog = 0;
    }
    res.setHeader('retry-after', String(RETRY_AFTER_SECONDS));
    sendGraphQLError(res, 429, 'RATE_LIMITED', 'The service is busy right now; try again shortly', {
      reason: 'OVERLOADED',
      retryable: true,
      retryAfterSeconds: RETRY_AFTER_SECONDS,
    });
  }

  /** A slot is held from admission until the response is finished or its connection is gone. */
  function hold(res: ServerResponse) {
    running += 1;
    res.once('close', release);
  }

  function release() {
    running -= 1;
    while (running < limits.maxInFlight && head < queue.length) {
      const next = queue[head]!;
      queue[head] = undefined as unknown as Waiter;
      head += 1;
      if (next.done) continue;
      next.done = true;
      waiting -= 1;
      clearTimeout(next.timer);
      hold(next.res);
      next.resolve(true);
    }
    if (head > 1024 && head * 2 > queue.length) {
      queue = queue.slice(head);
      head = 0;
    }
  }

  function admit(_req: IncomingMessage, res: ServerResponse): boolean | Promise<boolean> {
    if (running < limits.maxInFlight && waiting === 0) {
      hold(res);
      return true;
    }
    if (waiting >= limits.maxQueued) {
      refuse(res, 'queue full');
      return false;
    }
    return new Promise<boolean>((resolve) => {
      const waiter: Waiter = {
        res,
        resolve,
        done: false,
        timer: setTimeout(() => {
          if (waiter.done) return;
          waiter.done = true;
          waiting -= 1;
          refuse(res, 'waited too long');
          resolve(false);
        }, limits.maxWaitMs),
      };
      // The client gave up while waiting: nobody to answer, and its place is not worth keeping.
      res.once('close', () => {
        if (waiter.done) return;
        waiter.done = true;
        waiting -= 1;
        clearTimeout(waiter.timer);
        resolve(false);
      });
      queue.push(waiter);
      waiting += 1;
    });
  }

  return Object.assign(admit, { stats: () => ({ running, waiting }) });
}
