import { errors, type Logger } from '@bth/platform';

/**
 * Asks the products subgraph whether a product exists, straight at its GraphQL endpoint (not
 * through the router: this is a service-to-service check and needs no user). Products runs as
 * several replicas; calls start at the next replica in turn and move on when one cannot answer.
 */
export interface ProductsClient {
  /** True when the product exists; throws UPSTREAM_UNAVAILABLE when no replica can say. */
  exists(productId: string): Promise<boolean>;
}

const EXISTS_QUERY = 'query ProductExists($r: [_Any!]!) { _entities(representations: $r) { ... on Product { id } } }';

/** An answer from one replica, or the reason to try the next one. */
type Attempt = { ok: true; exists: boolean } | { ok: false; reason: string };

export function createProductsClient(options: {
  urls: string[];
  logger: Logger;
  /**
   * Per replica. The lookup is one primary-key read (~ms); 2 s means that replica is down or
   * stuck, and the next one still fits well within a client's patience.
   */
  timeoutMs?: number;
}): ProductsClient {
  const { urls, logger } = options;
  const timeoutMs = options.timeoutMs ?? 2_000;
  if (urls.length === 0) throw new Error('products client needs at least one URL');
  let next = 0;

  async function ask(url: string, productId: string): Promise<Attempt> {
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: EXISTS_QUERY, variables: { r: [{ __typename: 'Product', id: productId }] } }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code;
      return { ok: false, reason: cause ?? (error as Error).name };
    }
    if (!response.ok) return { ok: false, reason: `HTTP ${response.status}` };
    let body: { data?: { _entities?: Array<{ id?: unknown } | null> }; errors?: Array<{ extensions?: { code?: unknown } }> };
    try {
      body = (await response.json()) as typeof body;
    } catch {
      return { ok: false, reason: 'non-JSON response' };
    }
    const entities = body.data?._entities;
    if (!Array.isArray(entities) || entities.length !== 1) return { ok: false, reason: 'unexpected response' };
    const entity = entities[0];
    if (entity && typeof entity.id === 'string') return { ok: true, exists: true };
    // Null is products saying "no such product" (also as a NOT_FOUND error); any other error is a failure.
    const failed = (body.errors ?? []).some((e) => e.extensions?.code !== 'NOT_FOUND');
    if (entity === null && !failed) return { ok: true, exists: false };
    return { ok: false, reason: 'GraphQL errors' };
  }

  return {
    async exists(productId) {
      const start = next;
      next = (next + 1) % urls.length;
      for (let i = 0; i < urls.length; i++) {
        const url = urls[(start + i) % urls.length]!;
        const attempt = await ask(url, productId);
        if (attempt.ok) return attempt.exists;
        logger.warn('products replica could not answer; trying the next', { url, reason: attempt.reason });
      }
      throw errors.upstream('products');
    },
  };
}
