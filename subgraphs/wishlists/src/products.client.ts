import { z } from '@bth/platform/env';
import type { Logger } from '@bth/platform/logger';
import { createGraphQLUpstream } from '@bth/platform/upstream';

/**
 * Asks the products subgraph whether a product exists, straight at its replicas' GraphQL
 * endpoints (a service-to-service read: no user, no router hop). Rotation and failover are the
 * shared `createGraphQLUpstream`'s.
 */
export interface ProductsClient {
  /** True when the product exists; throws UPSTREAM_UNAVAILABLE when no replica can say. */
  exists(productId: string): Promise<boolean>;
}

const EXISTS_QUERY = 'query ProductExists($id: ID!) { product(id: $id) { id } }';
// A null product is products saying "no such product"; any other shape is a replica that could not say.
const answer = z.object({ product: z.object({ id: z.string() }).nullable() });

export function createProductsClient(options: { urls: string[]; logger: Logger; timeoutMs?: number }): ProductsClient {
  const upstream = createGraphQLUpstream({ name: 'products', ...options });
  return {
    exists: (productId) =>
      upstream.read(EXISTS_QUERY, { id: productId }, (data) => {
        const parsed = answer.safeParse(data);
        return parsed.success ? parsed.data.product !== null : undefined;
      }),
  };
}
