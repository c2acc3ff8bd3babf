import { fileURLToPath } from 'node:url';
import { TEST_SECRETS, deadUrl } from '@bth/testkit';
import type { RouterDeps } from '../src/server.js';

/**
 * The router configuration the integration tests share: the committed supergraph, the test
 * secrets, production-like limits, and every subgraph pointed at a dead port unless `urls` says
 * otherwise (limit and envelope checks never reach a subgraph).
 */
export async function testRouterConfig(
  urls: Partial<Record<'users' | 'products' | 'wishlists' | 'orders' | 'events', string[]>> = {},
  overrides: Partial<RouterDeps['config']> = {},
): Promise<RouterDeps['config']> {
  const dead = [await deadUrl('/graphql')];
  return {
    supergraphPath: fileURLToPath(new URL('../../schema/supergraph.graphql', import.meta.url)),
    subgraphUrls: { users: dead, products: dead, wishlists: dead, orders: dead, events: dead, ...urls },
    internalSecret: TEST_SECRETS.internal,
    accessTokenSecret: TEST_SECRETS.accessToken,
    sandbox: false,
    corsOrigins: [],
    maxDepth: 10,
    maxAliases: 30,
    maxBodyBytes: 64 * 1024,
    maxOperations: 5,
    ...overrides,
  };
}
