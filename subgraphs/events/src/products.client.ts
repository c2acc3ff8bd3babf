import { z } from '@bth/platform/env';
import type { Logger } from '@bth/platform/logger';
import { createGraphQLUpstream } from '@bth/platform/upstream';

/** Reads a product's regular price from the products subgraph (its replicas, failing over). */
export interface ProductsClient {
  /** Regular price in KRW, or null when products has no such product. Throws UPSTREAM_UNAVAILABLE when no replica answers. */
  regularPrice(productId: string): Promise<number | null>;
}

const PRICE_QUERY = 'query ProductPrice($id: ID!) { product(id: $id) { id price } }';
const answer = z.object({ product: z.object({ id: z.string(), price: z.number().int().min(0) }).nullable() });

export function createProductsClient(options: { urls: string[]; logger: Logger; timeoutMs?: number }): ProductsClient {
  const upstream = createGraphQLUpstream({ name: 'products', ...options });
  return {
    regularPrice: (productId) =>
      upstream.read(PRICE_QUERY, { id: productId }, (data) => {
        const parsed = answer.safeParse(data);
        return parsed.success ? (parsed.data.product?.price ?? null) : undefined;
      }),
  };
}
