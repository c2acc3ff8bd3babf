import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { causeChain } from './causes.js';

/**
 * The closed list of error codes a client can see in `extensions.code`.
 *
 * Expected business outcomes (sold out, over a limit, sale not live) are NOT errors: they are
 * typed results in the schema. Everything below is a thrown `AppError`. Anything thrown that is
 * not an `AppError` (or one of GraphQL's own parse/validation errors) is answered, before it
 * leaves a service, as SERVICE_UNAVAILABLE when its cause is a broken connection to MariaDB, Redis
 * or RabbitMQ and as INTERNAL_SERVER_ERROR otherwise, so no internals ever reach a client.
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
  /** Another service (a subgraph, inventory, the payment or mail provider) did not answer. */
  UPSTREAM_UNAVAILABLE: 'UPSTREAM_UNAVAILABLE',
  /** This service's own infrastructure (MariaDB, Redis or RabbitMQ where required) is down or restarting. */
  SERVICE_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
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

/**
 * Codes that pass through as they are: the closed list a client may see for a request that was
 * handled. INTERNAL_SERVER_ERROR is deliberately not one: Apollo gives that code to anything thrown without one (a failed query, a refused socket), so it must be masked.
 */
export const KNOWN_CODES: ReadonlySet<string> = new Set<string>(
  [...Object.values(ErrorCode), ...PROTOCOL_CODES].filter((code) => code !== ErrorCode.INTERNAL_SERVER_ERROR),
);

const HTTP_STATUS: Partial<Record<string, number>> = {
  UNAUTHENTICATED: 401,
  PAYLOAD_TOO_LARGE: 413,
  OPERATION_LIMIT_EXCEEDED: 400,
  RATE_LIMITED: 429,
  LOGIN_THROTTLED: 429,
  UPSTREAM_UNAVAILABLE: 503,
  SERVICE_UNAVAILABLE: 503,
};

/**
 * The HTTP status an answer without any data should carry for this error code (a client that never
 * parses bodies, a load balancer, a retrying proxy), or undefined to leave Apollo's choice.
 */
export function httpStatusOf(code: unknown): number | undefined {
  return typeof code === 'string' ? HTTP_STATUS[code] : undefined;
}

/** Retryable codes: the same request may succeed later. Clients read `extensions.retryable`. */
const RETRYABLE = new Set<ErrorCode>(['LOCK_TIMEOUT', 'UPSTREAM_UNAVAILABLE', 'SERVICE_UNAVAILABLE', 'RATE_LIMITED', 'LOGIN_THROTTLED']);

/** `retryAfterSeconds` when the thrower knows no better. */
const DEFAULT_RETRY_AFTER_SECONDS: Partial<Record<ErrorCode, number>> = {
  // The router skips a failed replica for 2 s and a restarted subgraph is ready within a few seconds.
  UPSTREAM_UNAVAILABLE: 2,
  // MariaDB, Redis and RabbitMQ restart in a few seconds and the clients reconnect on their own.
  SERVICE_UNAVAILABLE: 3,
};

export interface FieldError {
  field: string;
  message: string;
}

export class AppError extends GraphQLError {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, extensions: Record<string, unknown> = {}) {
    const status = HTTP_STATUS[code];
    const retryAfterSeconds = DEFAULT_RETRY_AFTER_SECONDS[code];
    super(message, {
      extensions: {
        code,
        ...(RETRYABLE.has(code) ? { retryable: true } : {}),
        ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
        ...extensions,
        // Apollo reads (and strips) `http` to set the status; the router's status plugin decides last.
        ...(status ? { http: { status } } : {}),
      },
    });
    this.code = code;
  }
}

const SERVICE_UNAVAILABLE_MESSAGE = 'The service is temporarily unavailable; try again shortly';
const INTERNAL_MESSAGE = 'Internal server error';

const LOCK_TIMEOUT_MESSAGE = 'The item is busy right now; try again in a moment';

/** Which row-lock conflict ended a transaction (see `lockConflictOf` in db.ts). */
export type LockConflict = 'deadlock' | 'timeout';

/**
 * LOCK_TIMEOUT as thrown by `runTransaction`: the client sees the same code and message as
 * `errors.lockTimeout()`; `conflict` is for the service (a batch that deadlocked is worth serving
 * one by one, one that timed out is not). It never reaches a client.
 */
export class LockConflictError extends AppError {
  constructor(readonly conflict: LockConflict) {
    super('LOCK_TIMEOUT', LOCK_TIMEOUT_MESSAGE);
    this.name = 'LockConflictError';
  }
}

export const errors = {
  unauthenticated: (message = 'Sign in to do this') => new AppError('UNAUTHENTICATED', message),
  forbidden: (message = 'You are not allowed to do this') => new AppError('FORBIDDEN', message),
  notFound: (what: string) => new AppError('NOT_FOUND', `${what} not found`),
  conflict: (message: string) => new AppError('CONFLICT', message),
  /** Every broken rule at once, one entry per field, so a form can mark all fields in one round. */
  badInput: (fieldErrors: FieldError[], message = 'Some input is invalid') => new AppError('BAD_USER_INPUT', message, { fieldErrors }),
  lockTimeout: () => new AppError('LOCK_TIMEOUT', LOCK_TIMEOUT_MESSAGE),
  upstream: (service: string) => new AppError('UPSTREAM_UNAVAILABLE', `${service} is unavailable right now; try again shortly`),
  serviceUnavailable: () => new AppError('SERVICE_UNAVAILABLE', SERVICE_UNAVAILABLE_MESSAGE),
};

/** Error codes of a connection that failed or broke: the dependency is down, restarting or overloaded. */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  // mysql2: the server closed the connection, stopped answering, or a command followed a fatal error.
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR',
  'PROTOCOL_ENQUEUE_AFTER_QUIT',
  // MariaDB: too many connections, shutting down, the connection was killed.
  'ER_CON_COUNT_ERROR',
  'ER_SERVER_SHUTDOWN',
  'ER_CONNECTION_KILLED',
]);

/** Messages of clients that throw a plain Error when their connection is gone. */
const CONNECTION_MESSAGES = [
  /^Pool is closed/, // mysql2 pool after end() or during shutdown
  /Can't add new command when connection is in closed state/, // mysql2 on a dead connection
  /^Connection is closed\.?$/, // ioredis
  /^Stream isn't writeable and enableOfflineQueue options is false/, // ioredis while reconnecting
  /^Reached the max retries per request limit/, // ioredis MaxRetriesPerRequestError
  /^amqp not connected$/, // platform amqp client between reconnects
  // amqplib on a dead channel or connection; not "Channel closed by server: 404 …", a topology bug.
  /^Channel closed$/,
  /^Connection closed\b/,
];

/**
 * Whether `error` (or anything in its cause chain: GraphQL's `originalError`, `cause`, an
 * AggregateError's `errors`) is a broken or refused connection to infrastructure. Such a failure is
 * not a bug: the same request succeeds once MariaDB, Redis or RabbitMQ is back.
 */
export function isConnectionFailure(error: unknown): boolean {
  return causeChain(error).some((link) => {
    const { code, syscall, message } = link as { code?: unknown; syscall?: unknown; message?: unknown };
    if (typeof code === 'string' && CONNECTION_CODES.has(code)) return true;
    // A missing unix socket (MariaDB stopped) is ENOENT on connect; other ENOENTs are bugs.
    if (code === 'ENOENT' && syscall === 'connect') return true;
    return typeof message === 'string' && CONNECTION_MESSAGES.some((pattern) => pattern.test(message));
  });
}

/**
 * The original error behind a GraphQL error and the innermost cause of its chain (e.g. the mysql2
 * `connect ECONNREFUSED` behind drizzle's `Failed query`), for the one log line of an unexpected error.
 */
export function errorCauses(error: unknown): { error: unknown; cause?: unknown } {
  // Duck-typed: a GraphQLError may come from another copy of graphql-js (the gateway's, a test's).
  const wrapped = (error as { originalError?: unknown } | null)?.originalError;
  const original = wrapped instanceof Error ? wrapped : error;
  const cause = causeChain(original, { follow: 'cause' }).at(-1) ?? original;
  return cause === original ? { error: original } : { error: original, cause };
}

/** What a client is told about an error, decided once for the formatter and the logging plugin alike. */
export type ErrorDisposition = 'coded' | 'unavailable' | 'internal';

export function dispositionOf(code: unknown, error: unknown): ErrorDisposition {
  if (typeof code === 'string' && KNOWN_CODES.has(code)) return 'coded';
  return isConnectionFailure(error) ? 'unavailable' : 'internal';
}

/** Extensions that are never sent: the gateway's `response` (subgraph URL and body), stacks, Apollo's `http`. */
const PRIVATE_EXTENSIONS = new Set(['stacktrace', 'exception', 'response', 'http']);

/**
 * Apollo `formatError`: keeps coded errors (minus private extensions), answers a connection failure
 * as a retryable SERVICE_UNAVAILABLE, masks everything else as INTERNAL_SERVER_ERROR. Logging is the
 * job of `errorContractPlugin` (subgraph.ts), which has the request id. `exposeInternals` (development only) keeps
 * the original message of unexpected errors, never the stack.
 */
export function createErrorFormatter(options: { exposeInternals: boolean }) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const where = {
      ...(formatted.locations ? { locations: formatted.locations } : {}),
      ...(formatted.path ? { path: formatted.path } : {}),
    };
    switch (dispositionOf(formatted.extensions?.code, error)) {
      case 'coded': {
        const extensions = Object.fromEntries(Object.entries(formatted.extensions ?? {}).filter(([key]) => !PRIVATE_EXTENSIONS.has(key)));
        return { ...formatted, extensions };
      }
      case 'unavailable': {
        const { extensions } = errors.serviceUnavailable();
        return {
          message: options.exposeInternals ? formatted.message : SERVICE_UNAVAILABLE_MESSAGE,
          ...where,
          extensions: { code: extensions.code, retryable: extensions.retryable, retryAfterSeconds: extensions.retryAfterSeconds },
        };
      }
      case 'internal':
        return {
          message: options.exposeInternals ? formatted.message : INTERNAL_MESSAGE,
          ...where,
          extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR },
        };
    }
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
