import { z } from '@bth/platform/env';
import type { JsonRoute } from '@bth/platform/http';
import { SESSIONS_AUDIENCE, SESSIONS_STATUS_PATH, verifyServiceToken } from '@bth/platform/identity';
import { idSchema } from '@bth/platform/ids';
import { internalError, internalRoute } from '@bth/platform/internal-route';
import type { Logger } from '@bth/platform/logger';
import type { RevocationCache } from './revocations.js';

/**
 * The internal session-status API (docs/internal-apis.md). The router asks it whether sessions
 * are still live when its Redis cache of revocations cannot answer (Redis down, restarted or
 * flushed). Not GraphQL and not reachable through the router: a service token for the `sessions`
 * audience is required, so nobody outside can probe session ids.
 */
const body = z.object({
  // The router asks for one session per request; a few more let a caller batch.
  sessionIds: z.array(idSchema).min(1).max(100),
});

export function createSessionRoutes(deps: { revocations: RevocationCache; internalSecret: string; logger: Logger }): JsonRoute[] {
  return [
    internalRoute({
      path: SESSIONS_STATUS_PATH,
      api: 'sessions',
      authorize: (authorization) => verifyServiceToken(deps.internalSecret, authorization, SESSIONS_AUDIENCE),
      schema: body,
      logger: deps.logger,
      handle: async ({ sessionIds }) => ({ status: 200, body: { sessions: await deps.revocations.statuses(sessionIds) } }),
      // Redis and MariaDB both failed to say: the router keeps its own answer and asks again later.
      unexpected: () => internalError(503, 'UPSTREAM_UNAVAILABLE', 'Session status is unavailable right now', { retryable: true }),
    }),
  ];
}
