import type { Fetcher } from '@apollo/utils.fetcher';
import { AppError } from '@bth/platform/errors';
import type { Logger } from '@bth/platform/logger';
import { DEADLINE_HEADER, ReplicaUnavailableError, createReplicaClient, type ReplicaFetch } from '@bth/platform/replicas';

/**
 * The gateway's `fetcher` for one subgraph: the shared replica client (round-robin, ejection of
 * dead and hanging replicas, a deadline per attempt) with the router's retry rules. A query is
 * sent once more to another replica after a timeout or a broken connection; a mutation only when
 * it cannot have been delivered (it may have run). Each attempt carries its own absolute deadline
 * in `x-bth-deadline`, so the subgraph refuses work the router has already given up on.
 *
 * Connections are kept alive and pooled per origin (transport.ts); that is what makes the router
 * hop cheap (the gateway's default fetcher costs about 3x in throughput here).
 */
export interface SubgraphTimeouts {
  queryMs: number;
  mutationMs: number;
}

/** Defaults of SUBGRAPH_QUERY_TIMEOUT_MS, SUBGRAPH_MUTATION_TIMEOUT_MS and REQUEST_BUDGET_MS. */
export const DEFAULT_DEADLINES = {
  // Reads answer in milliseconds (p99 well under 1 s under load), so 2.5 s means a stuck replica;
  // with the one retry on another replica a read ends within ~5 s.
  queryMs: 2_500,
  // Never retried once delivered: placeOrder may wait on inventory for INVENTORY_TIMEOUT_MS
  // (7 s = products' 5 s lock wait + 2 s) and then write; 10 s leaves it 3 s for that.
  mutationMs: 10_000,
  // The whole client request from its arrival, across every fetch of its plan and their retries:
  // one mutation attempt plus a query fetch and its retry after it.
  requestBudgetMs: 15_000,
} as const;

/** The gateway serialises `{ query, … }` with the operation text first. */
const isMutation = (body: unknown) => typeof body === 'string' && /^\{"query":"mutation\b/.test(body);

export interface ReplicaPool {
  fetcher: Fetcher;
  /** URLs currently believed up (for readiness and tests). */
  healthy(): string[];
  urls: string[];
  close(): void;
}

/** `send`: how requests go out (server.ts passes transport.ts); default the global fetch. */
export function createReplicaPool(
  name: string,
  urls: string[],
  logger: Logger,
  timeouts: SubgraphTimeouts,
  send?: ReplicaFetch,
): ReplicaPool {
  // transport.ts reads every answer whole before resolving.
  const client = createReplicaClient({ name, urls, logger, fetch: send, fetchReadsWhole: send !== undefined });

  const fetcher = (async (_url: string, init?: { method?: string; headers?: Record<string, string>; body?: string }) => {
    const headers = { ...init?.headers };
    const mutation = isMutation(init?.body);
    // The data source sets the client request's deadline (arrival + budget); no attempt outlives it.
    const budget = Number(headers[DEADLINE_HEADER]);
    try {
      return await client.request({
        method: init?.method ?? 'POST',
        headers,
        body: init?.body,
        attemptTimeoutMs: mutation ? timeouts.mutationMs : timeouts.queryMs,
        deadline: Number.isFinite(budget) && budget > 0 ? budget : undefined,
        retry: mutation ? 'notDelivered' : 'idempotent',
        retries: 1,
        onAttempt: (attemptDeadline, attemptHeaders) => {
          attemptHeaders[DEADLINE_HEADER] = String(attemptDeadline);
        },
      });
    } catch (error) {
      if (error instanceof ReplicaUnavailableError) {
        throw new AppError('UPSTREAM_UNAVAILABLE', `The ${name} service did not answer in time; try again shortly`, {
          service: name,
          retryAfterSeconds: 1,
        });
      }
      throw error;
    }
  }) as unknown as Fetcher;

  return { fetcher, urls, healthy: client.healthy, close: client.close };
}
