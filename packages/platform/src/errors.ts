import { GraphQLError, type GraphQLFormattedError } from 'graphql';

/**
 * The closed list of error codes a client can see in `extensions.code`.
 *
 * Expected business outcomes (sold out, over a limit, sale not live) are NOT errors: they are
 * typed results in the schema. Everything below is a thrown `AppError`. Anything thrown that is
 * not an `AppError` (or one of GraphQL's own parse/validation errors) is masked as
 * INTERNAL_SERVER_ERROR before it leaves a service, so no internals ever reach a client.
 */
export const ErrorCode = {
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  NOT_FOUND: 'NOT_FOUND',
  CONFLICT: 'CONFLICT',
  LOGIN_THROTTLED: 'LOGIN_THROTTLED',
  RATE_LIMITED: 'RATE_LIMITED',
  OPERATION_LIMIT_EXCEEDED: 'OPERATION_LIMIT_EXCEEDED',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  LOCK_TIMEOUT: 'LOCK_TIMEOUT',
  UPSTREAM_UNAVAILABLE: 'UPSTREAM_UNAVAILABLE',
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Codes GraphQL servers produce themselves for malformed requests; they pass through unmasked. */
const PROTOCOL_CODES = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
]);

const KNOWN_CODES = new Set<string>([...Object.values(ErrorCode), ...PROTOCOL_CODES]);

const HTTP_STATUS: Partial<Record<ErrorCode, number>> = {
  UNAUTHENTICATED: 401,
  PAYLOAD_TOO_LARGE: 413,
  OPERATION_LIMIT_EXCEEDED: 400,
  RATE_LIMITED: 429,
};

/** Retryable codes: the same request may succeed later. Clients read `extensions.retryable`. */
const RETRYABLE = new Set<ErrorCode>(['LOCK_TIMEOUT', 'UPSTREAM_UNAVAILABLE', 'RATE_LIMITED', 'LOGIN_THROTTLED']);

export interface FieldError {
  field: string;
  message: string;
}

export class AppError extends GraphQLError {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, extensions: Record<string, unknown> = {}) {
    const status = HTTP_STATUS[code];
    super(message, {
      extensions: {
        code,
        ...(RETRYABLE.has(code) ? { retryable: true } : {}),
        ...extensions,
        // A status only where it helps a client that never parses bodies (auth, limits).
        ...(status ? { http: { status } } : {}),
      },
    });
    this.code = code;
  }
}

export const errors = {
  unauthenticated: (message = 'Sign in to do this') => new AppError('UNAUTHENTICATED', message),
  forbidden: (message = 'You are not allowed to do this') => new AppError('FORBIDDEN', message),
  notFound: (what: string) => new AppError('NOT_FOUND', `${what} not found`),
  conflict: (message: string) => new AppError('CONFLICT', message),
  /** Every broken rule at once, one entry per field, so a form can mark all fields in one round. */
  badInput: (fieldErrors: FieldError[], message = 'Some input is invalid') =>
    new AppError('BAD_USER_INPUT', message, { fieldErrors }),
  lockTimeout: () => new AppError('LOCK_TIMEOUT', 'The item is busy right now; try again in a moment'),
  upstream: (service: string) => new AppError('UPSTREAM_UNAVAILABLE', `${service} is unavailable right now; try again shortly`),
};

/**
 * Apollo `formatError`: keeps coded errors, masks everything else. In development the original
 * message is kept for unknown errors (never the stack: Apollo's stack inclusion stays off).
 */
export function createErrorFormatter(options: { exposeInternals: boolean; onInternal?: (error: unknown) => void }) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const code = formatted.extensions?.code;
    if (typeof code === 'string' && KNOWN_CODES.has(code)) {
      const { stacktrace: _drop, exception: _drop2, ...extensions } = formatted.extensions ?? {};
      return { ...formatted, extensions };
    }
    options.onInternal?.(error);
    return {
      message: options.exposeInternals ? formatted.message : 'Internal server error',
      ...(formatted.locations ? { locations: formatted.locations } : {}),
      ...(formatted.path ? { path: formatted.path } : {}),
      extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR },
    };
  };
}

/** Collects field errors during validation; `throwIfAny` raises one BAD_USER_INPUT with all of them. */
export class FieldErrors {
  readonly list: FieldError[] = [];
  add(field: string, message: string): this {
    this.list.push({ field, message });
    return this;
  }
  check(condition: boolean, field: string, message: string): this {
    if (!condition) this.add(field, message);
    return this;
  }
  throwIfAny(message?: string): void {
    if (this.list.length > 0) throw errors.badInput(this.list, message);
  }
}
