import { Redis } from 'ioredis';
import type { Logger } from './logger.js';

export type { Redis };

export interface RedisOptions {
  url: string;
  keyPrefix: string;
  logger: Logger;
}

/**
 * A Redis client tuned for "best-effort cache, never a reason to fail a request":
 * commands issued while disconnected fail at once (no offline queue piling up behind a dead
 * server), each command gets one retry, and reconnection continues in the background.
 * Callers treat a failed command as a cache miss (see `bestEffort`).
 */
export function createRedis(options: RedisOptions): Redis {
  const redis = new Redis(options.url, {
    keyPrefix: options.keyPrefix,
    // Fail fast while Redis is down instead of queueing commands for an unknown time.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    // Back off to at most 2 s between reconnect attempts; never give up (Redis will come back).
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
    lazyConnect: false,
  });
  let down = false;
  redis.on('error', (error) => {
    if (!down) options.logger.warn('redis error', { error });
    down = true;
  });
  redis.on('ready', () => {
    if (down) options.logger.info('redis reconnected');
    down = false;
  });
  return redis;
}

/** Waits until the client is ready, or fails after `timeoutMs` naming the address. */
export async function waitForRedis(redis: Redis, timeoutMs: number): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`Redis not reachable within ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = () => {
      cleanup();
      resolve();
    };
    const cleanup = () => {
      clearTimeout(timer);
      redis.off('ready', onReady);
    };
    redis.on('ready', onReady);
  });
}

/**
 * Runs a Redis operation as a cache operation: on failure it logs and returns `fallback`.
 * Redis being down must cost latency, never a client error.
 */
export async function bestEffort<T>(logger: Logger, what: string, operation: () => Promise<T>, fallback: T): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    logger.warn('redis operation failed; continuing without cache', { what, error: (error as Error).message });
    return fallback;
  }
}
