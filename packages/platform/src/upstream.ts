import { errors } from './errors.js';
import type { Logger } from './logger.js';

/**
 * Reads from another subgraph straight at its GraphQL endpoint (not through the router: a
 * service-to-service read needs no user and no extra hop). The other subgraph may run as several
 * replicas: each call starts at the next one in turn and moves on when one cannot answer. Asking
 * again elsewhere is always safe because only reads go through here.
 */
export interface GraphQLUpstream {
  /**
   * Sends `query` and passes its `data` to `accept`, which returns the answer or `undefined` when
   * the data is not one (then the next replica is asked). Any GraphQL error counts as "this
   * replica could not say". Throws UPSTREAM_UNAVAILABLE when no replica answered.
   */
  read<T>(query: string, variables: Record<string, unknown>, accept: (data: unknown) => T | undefined): Promise<T>;
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
  if (urls.length === 0) throw new Error(`${name} client needs at least one URL`);
  let next = 0;

  async function ask<T>(url: string, body: string, accept: (data: unknown) => T | undefined): Promise<{ ok: true; value: T } | { ok: false; reason: string }> {
    let response: Response;
    try {
      response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(timeoutMs) });
    } catch (error) {
      // undici puts the socket error (ECONNREFUSED, …) in `cause`; an abort is a TimeoutError.
      const code = (error as { cause?: { code?: unknown } }).cause?.code;
      return { ok: false, reason: typeof code === 'string' ? code : (error as Error).name };
    }
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
    async read(query, variables, accept) {
      const body = JSON.stringify({ query, variables });
      const start = next;
      next = (next + 1) % urls.length;
      for (let i = 0; i < urls.length; i++) {
        const url = urls[(start + i) % urls.length]!;
        const attempt = await ask(url, body, accept);
        if (attempt.ok) return attempt.value;
        logger.warn(`${name} replica could not answer; trying the next`, { url, reason: attempt.reason });
      }
      throw errors.upstream(name);
    },
  };
}
