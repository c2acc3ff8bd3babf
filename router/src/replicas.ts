import type { Fetcher } from '@apollo/utils.fetcher';
import { AppError, type Logger } from '@bth/platform';

/**
 * Load balancing over the replicas of one subgraph, as the gateway's `fetcher`.
 *
 * Round-robin over replicas that are not cooling down. A replica whose connection fails is
 * skipped for `COOLDOWN_MS` (tried only once the others have failed too) and the request goes to
 * the next one. A refused connection means the
 * request was never delivered, so even a mutation may go to the next replica. A connection that
 * broke mid-request (the replica died while working) may have run the operation, so only
 * queries are retried then. When no replica answers, the client gets UPSTREAM_UNAVAILABLE.
 *
 * Node's global fetch (undici) keeps connections alive and pools them per origin; that is what
 * makes the router hop cheap (the gateway's default fetcher costs about 3x in throughput here).
 */
const COOLDOWN_MS = 2_000; // long enough to stop hammering a dead replica, short enough to notice it is back
const NOT_DELIVERED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);
const MAYBE_DELIVERED = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET']);
/** The gateway serialises `{ query, … }` with the operation text first. */
const isMutation = (body: unknown) => typeof body === 'string' && /^\{"query":"mutation\b/.test(body);

function errorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let i = 0; i < 4 && current; i++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

export interface ReplicaPool {
  fetcher: Fetcher;
  /** URLs currently believed up (for readiness and tests). */
  healthy(): string[];
  urls: string[];
}

export function createReplicaPool(name: string, urls: string[], logger: Logger): ReplicaPool {
  const downUntil = new Map<string, number>();
  let next = 0;

  const candidates = () => {
    const now = Date.now();
    const ordered = urls.map((_, i) => urls[(next + i) % urls.length]!);
    next = (next + 1) % urls.length;
    const cooling = (u: string) => (downUntil.get(u) ?? 0) > now;
    // Replicas cooling down come last, not never: when the ones believed up fail too (a rolling
    // restart takes one down just as the other comes back), better a slow answer than none.
    return [...ordered.filter((u) => !cooling(u)), ...ordered.filter(cooling)];
  };

  const fetcher = (async (_url: string, init?: RequestInit) => {
    let lastCode: string | undefined;
    for (const url of candidates()) {
      try {
        const response = await fetch(url, init as RequestInit);
        if (downUntil.delete(url)) logger.info('replica is back', { subgraph: name, url });
        return response;
      } catch (error) {
        lastCode = errorCode(error);
        const retryable = lastCode !== undefined && (NOT_DELIVERED.has(lastCode) || (MAYBE_DELIVERED.has(lastCode) && !isMutation(init?.body)));
        if (!retryable) {
          downUntil.set(url, Date.now() + COOLDOWN_MS);
          throw new AppError('UPSTREAM_UNAVAILABLE', `The ${name} service did not answer; try again shortly`, { service: name });
        }
        if (!downUntil.has(url)) logger.warn('replica unreachable; routing around it', { subgraph: name, url, code: lastCode });
        downUntil.set(url, Date.now() + COOLDOWN_MS);
      }
    }
    throw new AppError('UPSTREAM_UNAVAILABLE', `The ${name} service is unavailable right now; try again shortly`, { service: name });
  }) as unknown as Fetcher;

  return { fetcher, urls, healthy: () => urls.filter((u) => (downUntil.get(u) ?? 0) <= Date.now()) };
}
