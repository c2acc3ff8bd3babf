import { SESSIONS_AUDIENCE, SESSIONS_STATUS_PATH, isUuid, verifyServiceToken, z, type JsonRoute, type Logger } from '@bth/platform';
import type { RevocationCache } from './revocations.js';

/**
 * The internal session-status API (docs/internal-apis.md). The router asks it whether sessions
 * are still live when its Redis cache of revocations cannot answer (Redis down, restarted or
 * flushed). Not GraphQL and not reachable through the router: a service token for the `sessions`
 * audience is required, so nobody outside can probe session ids.
 */
const body = z.object({
  // The router asks for one session per request; a few more let a caller batch.
  sessionIds: z
    .array(z.string().transform((value) => value.toLowerCase()).refine(isUuid, 'Must be a UUID'))
    .min(1)
    .max(100),
});

const errorReply = (status: number, code: string, message: string, extra: Record<string, unknown> = {}) => ({
  status,
  body: { error: { code, message, ...extra } },
});

export function createSessionRoutes(deps: { revocations: RevocationCache; internalSecret: string; logger: Logger }): JsonRoute[] {
  return [
    {
      method: 'POST',
      path: SESSIONS_STATUS_PATH,
      handler: async ({ body: raw, headers, requestId }) => {
        const caller = await verifyServiceToken(deps.internalSecret, headers.authorization, SESSIONS_AUDIENCE);
        if (!caller) return errorReply(401, 'UNAUTHENTICATED', 'A service token for the sessions API is required');
        const parsed = body.safeParse(raw);
        if (!parsed.success) {
          const fieldErrors = parsed.error.issues.map((issue) => ({ field: issue.path.join('.') || '(body)', message: issue.message }));
          return errorReply(400, 'BAD_USER_INPUT', 'The request body is invalid', { fieldErrors });
        }
        try {
          return { status: 200, body: { sessions: await deps.revocations.statuses(parsed.data.sessionIds) } };
        } catch (error) {
          deps.logger.error('session status request failed', { caller, requestId, error });
          return errorReply(503, 'UPSTREAM_UNAVAILABLE', 'Session status is unavailable right now', { retryable: true });
        }
      },
    },
  ];
}
