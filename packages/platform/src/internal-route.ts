import type { z } from 'zod';
import { AppError, isConnectionFailure, type ErrorCode } from './errors.js';
import type { JsonRoute } from './http.js';
import type { Logger } from './logger.js';

/**
 * The one shape of an internal API route (docs/internal-apis.md): a service token first, then
 * the body against its zod schema (every broken field at once), then the handler; a coded error
 * becomes its HTTP status from ONE table, anything else a 500 (503 when infrastructure is down)
 * with no internals in the body. Internal routes are not GraphQL: callers branch on the status
 * and `error.code`, so the table below is part of every internal contract.
 */
export interface InternalReply {
  status: number;
  body: unknown;
}

/** The HTTP status of each coded error on an internal route. */
export const INTERNAL_STATUS: Record<ErrorCode, number> = {
  BAD_USER_INPUT: 400,
  OPERATION_LIMIT_EXCEEDED: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  RATE_LIMITED: 429,
  LOGIN_THROTTLED: 429,
  INTERNAL_SERVER_ERROR: 500,
  // Retryable: nothing was changed (a rolled-back transaction, a dependency that did not answer).
  LOCK_TIMEOUT: 503,
  UPSTREAM_UNAVAILABLE: 503,
  SERVICE_UNAVAILABLE: 503,
};

/** `{ error: { code, message, …extra } }` with `status`. */
export const internalError = (status: number, code: string, message: string, extra: Record<string, unknown> = {}): InternalReply => ({
  status,
  body: { error: { code, message, ...extra } },
});

/** A coded error as an internal answer: its status from the table, its extensions (minus Apollo's `http`) in the body. */
export function internalErrorOf(error: AppError): InternalReply {
  const { http: _apolloOnly, code: _code, ...extensions } = error.extensions as Record<string, unknown>;
  return internalError(INTERNAL_STATUS[error.code] ?? 500, error.code, error.message, extensions);
}

export interface InternalRouteOptions<S extends z.ZodType> {
  path: string;
  /** The API's name, for the 401 message ("A service token for the inventory API is required"). */
  api: string;
  /** The calling service when `authorization` holds a service token for this API, else null. */
  authorize: (authorization: string | undefined) => Promise<string | null>;
  schema: S;
  logger: Logger;
  handle: (input: z.infer<S>, context: { caller: string; requestId: string }) => Promise<InternalReply>;
  /**
   * The answer to any failure that is not a coded error. Default: 503 SERVICE_UNAVAILABLE when this
   * service's MariaDB, Redis or RabbitMQ is down (retryable), else 500 INTERNAL_SERVER_ERROR.
   */
  unexpected?: () => InternalReply;
}

export function internalRoute<S extends z.ZodType>(options: InternalRouteOptions<S>): JsonRoute {
  const { path, schema, logger } = options;
  return {
    method: 'POST',
    path,
    handler: async ({ body, headers, requestId }) => {
      const caller = await options.authorize(headers.authorization);
      if (!caller) return internalError(401, 'UNAUTHENTICATED', `A service token for the ${options.api} API is required`);
      const parsed = schema.safeParse(body);
      if (!parsed.success) {
        const fieldErrors = parsed.error.issues.map((issue) => ({ field: issue.path.join('.') || '(body)', message: issue.message }));
        return internalError(400, 'BAD_USER_INPUT', 'The request body is invalid', { fieldErrors });
      }
      try {
        return await options.handle(parsed.data, { caller, requestId });
      } catch (error) {
        if (error instanceof AppError) return internalErrorOf(error);
        logger.error('internal request failed', { path, caller, requestId, error });
        if (options.unexpected) return options.unexpected();
        if (isConnectionFailure(error))
          return internalError(503, 'SERVICE_UNAVAILABLE', 'The service is temporarily unavailable; try again shortly', {
            retryable: true,
          });
        return internalError(500, 'INTERNAL_SERVER_ERROR', 'Internal server error');
      }
    },
  };
}
