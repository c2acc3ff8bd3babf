/**
 * The one walk through an error's cause chain. Libraries wrap what really failed: drizzle puts the
 * mysql2 error in `cause`, undici the socket error in `cause` (sometimes an AggregateError's
 * `errors`), graphql-js the thrown error in `originalError`. Every question about "what is behind
 * this error" (its MariaDB errno, its socket codes, whether it is a broken connection, its
 * innermost cause) reads the list this returns instead of walking the chain its own way.
 */

// The chains seen here are 2–4 deep (GraphQLError → DrizzleQueryError → mysql2 error, fetch →
// TypeError → AggregateError → two socket errors); 16 links bounds a cycle or a pathological tree.
const MAX_LINKS = 16;

/**
 * `error` and everything behind it, nearest first (breadth-first over `originalError`, `cause` and
 * an AggregateError's `errors`), each object once, non-objects skipped. `follow: 'cause'` walks
 * only the `cause` links (the innermost cause of a chain is then the last element).
 */
export function causeChain(error: unknown, options: { follow?: 'all' | 'cause' } = {}): object[] {
  const onlyCause = options.follow === 'cause';
  const chain: object[] = [];
  const queue: unknown[] = [error];
  while (queue.length > 0 && chain.length < MAX_LINKS) {
    const current = queue.shift();
    if (!current || typeof current !== 'object' || chain.includes(current)) continue;
    chain.push(current);
    const { originalError, cause, errors } = current as { originalError?: unknown; cause?: unknown; errors?: unknown };
    if (onlyCause) {
      queue.push(cause);
      continue;
    }
    queue.push(originalError, cause);
    if (Array.isArray(errors)) queue.push(...errors);
  }
  return chain;
}

/** The first value `read` finds along the chain, nearest first (e.g. the mysql2 `errno`). */
export function findInCauses<T>(error: unknown, read: (link: object) => T | undefined): T | undefined {
  for (const link of causeChain(error)) {
    const value = read(link);
    if (value !== undefined) return value;
  }
  return undefined;
}

/** Every string `code` along the chain (`ECONNREFUSED`, `ER_LOCK_WAIT_TIMEOUT`, `UND_ERR_CONNECT_TIMEOUT`…). */
export function causeCodes(error: unknown): string[] {
  return causeChain(error).flatMap((link) => {
    const code = (link as { code?: unknown }).code;
    return typeof code === 'string' ? [code] : [];
  });
}
