import { errors } from './errors.js';
import type { Logger } from './logger.js';
import { ReplicaUnavailableError, createReplicaClient } from './replicas.js';

/**
 * Reads from another subgraph straight at its GraphQL endpoint (not through the router: a
 * service-to-service read needs no user and no extra hop). The other subgraph may run as several
 * replicas, reached through the shared replica client (round-robin, dead and hanging replicas
 * ejected, a deadline per attempt): each call starts at the next one in turn and moves on when one
 * cannot answer. Asking again elsewhere is always safe because only reads go through here.
 */
export interface GraphQLUpstream {
  /**
   * Sends `query` and passes its `data` to `accept`, which returns the answer or `undefined` when
   * the data is not one (then the next replica is asked). Any GraphQL error counts as "this
   * replica could not say". Throws UPSTREAM_UNAVAILABLE when no replica answered.
   */
  read<T>(query: string, variables: Record<string, unknown>, accept: (data: unknown) => T | undefined, deadline?: number): Promise<T>;
}

export function createGraphQLUpstream(options: {
  /** The other subgraph's name, for logs and the client-facing error. */
  name: string;
  urls: string[];
  logger: Logger;
  /**
   * Per replica. The reads that go through here are primary-key lookups (~ms); 2 s means that
   * replica is down or stuck, and the next one still answers well within a client's patience.
   */
  timeoutMs?: number;
}): GraphQLUpstream {
  const { name, urls, logger } = options;
  const timeoutMs = options.timeoutMs ?? 2_000;
  const replicas = createReplicaClient({ name, urls, logger });

  async function judge<T>(
    response: Response,
    accept: (data: unknown) => T | undefined,
  ): Promise<{ ok: true; value: T } | { ok: false; reason: string }> {
    if (!response.ok) return { ok: false, reason: `HTTP ${response.status}` };
    let parsed: { data?: unknown; errors?: unknown };
    try {
      parsed = (await response.json()) as typeof parsed;
    } catch {
      return { ok: false, reason: 'non-JSON response' };
    }
    if (parsed.errors !== undefined) return { ok: false, reason: 'GraphQL errors' };
    const value = accept(parsed.data);
    return value === undefined ? { ok: false, reason: 'unexpected response' } : { ok: true, value };
  }

  return {
    async read(query, variables, accept, deadline) {
      const body = JSON.stringify({ query, variables });
      // One round per replica: a transport failure moves on inside the client; an answer that is
      // no answer (an error, the wrong shape) moves on here, to the next replica in turn.
      for (let round = 0; round < urls.length; round++) {
        let response: Response;
        try {
          response = await replicas.request({
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body,
            attemptTimeoutMs: timeoutMs,
            deadline,
            retry: 'idempotent',
            retries: 0,
          });
        } catch (error) {
          if (!(error instanceof ReplicaUnavailableError)) throw error;
          if (error.reason === 'DEADLINE' || error.reason === 'CANCELLED') break;
          continue;
        }
        const attempt = await judge(response, accept);
        if (attempt.ok) return attempt.value;
        logger.warn(`${name} replica could not answer; trying the next`, { reason: attempt.reason });
      }
      throw errors.upstream(name);
    },
  };
}
