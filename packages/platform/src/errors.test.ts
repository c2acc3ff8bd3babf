import { describe, expect, it } from 'vitest';
import { GraphQLError } from 'graphql';
import { AppError, FieldErrors, createErrorFormatter, dispositionOf, errorCauses, httpStatusOf, isConnectionFailure } from './errors.js';

describe('error formatter', () => {
  const format = createErrorFormatter({ exposeInternals: false });

  it('keeps coded errors and drops stack traces', () => {
    const error = new AppError('NOT_FOUND', 'Order not found');
    const out = format({ message: error.message, extensions: { ...error.extensions, stacktrace: ['at x'] } }, error);
    expect(out).toEqual({ message: 'Order not found', extensions: { code: 'NOT_FOUND' } });
  });

  it('masks anything without a known code', () => {
    const out = format({ message: 'ER_NO_SUCH_TABLE: bth_orders.orders', extensions: { code: 'SOMETHING' } }, new Error('db'));
    expect(out).toEqual({ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } });
  });

  it('marks retryable codes and sets an HTTP status where it helps', () => {
    expect(new AppError('LOCK_TIMEOUT', 'busy').extensions).toMatchObject({ code: 'LOCK_TIMEOUT', retryable: true });
    expect(new AppError('UNAUTHENTICATED', 'no').extensions).toMatchObject({ http: { status: 401 } });
  });
});

describe('FieldErrors', () => {
  it('collects every broken rule and throws them together', () => {
    const errors = new FieldErrors().check(false, 'a', 'bad a').check(true, 'b', 'fine').add('c', 'bad c');
    try {
      errors.throwIfAny();
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(GraphQLError);
      expect((error as AppError).extensions.fieldErrors).toEqual([
        { field: 'a', message: 'bad a' },
        { field: 'c', message: 'bad c' },
      ]);
    }
  });
});

describe('error contract', () => {
  const format = createErrorFormatter({ exposeInternals: false });
  /** What Apollo hands the formatter for an error thrown in a resolver: a GraphQLError around it. */
  const thrown = (error: Error) => new GraphQLError(error.message, { originalError: error });
  const formatThrown = (error: Error) => {
    const wrapped = thrown(error);
    return format({ message: wrapped.message, path: ['placeOrder'], extensions: { code: 'INTERNAL_SERVER_ERROR' } }, wrapped);
  };
  const connectError = (code: string, syscall = 'connect') =>
    Object.assign(new Error(`connect ${code} /run/mysqld/mysqld.sock`), { code, syscall });
  /** drizzle's wrapper: the SQL and its parameters in the message, the driver error in `cause`. */
  const failedQuery = (cause: Error) => new Error('Failed query: select `id` from `products` where `id` = ?\nparams: 1', { cause });

  it('masks an error Apollo coded INTERNAL_SERVER_ERROR (it is not a known code to pass through)', () => {
    const out = formatThrown(new Error('Failed query: select * from orders'));
    expect(out).toEqual({ message: 'Internal server error', path: ['placeOrder'], extensions: { code: 'INTERNAL_SERVER_ERROR' } });
  });

  it.each([
    ['a refused socket', connectError('ECONNREFUSED')],
    ['a missing unix socket', connectError('ENOENT')],
    [
      'a lost connection behind a failed query',
      failedQuery(Object.assign(new Error('Connection lost: The server closed the connection.'), { code: 'PROTOCOL_CONNECTION_LOST' })),
    ],
    ['a reset behind a failed query', failedQuery(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }))],
    ['a timeout', Object.assign(new Error('connect ETIMEDOUT'), { code: 'ETIMEDOUT' })],
    ['too many connections', Object.assign(new Error('Too many connections'), { code: 'ER_CON_COUNT_ERROR' })],
    ['a closed pool', new Error('Pool is closed.')],
    ['Redis reconnecting', new Error("Stream isn't writeable and enableOfflineQueue options is false")],
    ['Redis gone', new Error('Connection is closed.')],
    ['RabbitMQ gone', new Error('amqp not connected')],
    ['a dead RabbitMQ channel', new Error('Channel closed')],
    ['every address refused', new AggregateError([connectError('ECONNREFUSED')], 'connect failed')],
  ])('answers %s as a retryable SERVICE_UNAVAILABLE without internals', (_what, error) => {
    expect(isConnectionFailure(error)).toBe(true);
    const out = formatThrown(error);
    expect(out).toEqual({
      message: 'The service is temporarily unavailable; try again shortly',
      path: ['placeOrder'],
      extensions: { code: 'SERVICE_UNAVAILABLE', retryable: true, retryAfterSeconds: expect.any(Number) },
    });
    expect(JSON.stringify(out)).not.toMatch(/mysqld|select|ECONN|Stream|amqp/);
  });

  it.each([
    [
      'an ENOENT that is no connection (a missing file: a bug)',
      Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT', syscall: 'open' }),
    ],
    ['a SQL error', failedQuery(Object.assign(new Error("Unknown column 'x'"), { code: 'ER_BAD_FIELD_ERROR' }))],
    [
      'a channel closed by the broker for a missing exchange (a topology bug)',
      new Error('Channel closed by server: 404 (NOT-FOUND) with message "NOT_FOUND - no exchange \'x\'"'),
    ],
    ['a TypeError', new TypeError("Cannot read properties of undefined (reading 'id')")],
  ])('keeps %s INTERNAL_SERVER_ERROR', (_what, error) => {
    expect(isConnectionFailure(error)).toBe(false);
    expect(formatThrown(error).extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR' });
  });

  it('shows the original message of an unexpected error only when asked (development), never a stack', () => {
    const dev = createErrorFormatter({ exposeInternals: true });
    const out = dev({ message: 'boom', extensions: { code: 'INTERNAL_SERVER_ERROR', stacktrace: ['at x'] } }, new Error('boom'));
    expect(out).toEqual({ message: 'boom', extensions: { code: 'INTERNAL_SERVER_ERROR' } });
  });

  it('never passes on the gateway response, Apollo http or a stack of a coded error', () => {
    const out = format(
      {
        message: 'Too many',
        extensions: {
          code: 'RATE_LIMITED',
          retryable: true,
          retryAfterSeconds: 30,
          response: { url: 'http://127.0.0.1:4001/graphql' },
          http: { status: 429 },
          stacktrace: ['at x'],
        },
      },
      new Error('x'),
    );
    expect(out).toEqual({ message: 'Too many', extensions: { code: 'RATE_LIMITED', retryable: true, retryAfterSeconds: 30 } });
  });

  it('gives the unavailable codes retryability, a retry hint and HTTP 503', () => {
    expect(new AppError('UPSTREAM_UNAVAILABLE', 'down', { service: 'users' }).extensions).toMatchObject({
      code: 'UPSTREAM_UNAVAILABLE',
      retryable: true,
      retryAfterSeconds: 2,
      service: 'users',
      http: { status: 503 },
    });
    expect(new AppError('UPSTREAM_UNAVAILABLE', 'down', { retryAfterSeconds: 9 }).extensions.retryAfterSeconds).toBe(9);
    expect(httpStatusOf('SERVICE_UNAVAILABLE')).toBe(503);
    expect(httpStatusOf('RATE_LIMITED')).toBe(429);
    expect(httpStatusOf('NOT_FOUND')).toBeUndefined();
  });

  it('finds the innermost cause for the log line', () => {
    const root = connectError('ECONNREFUSED');
    expect(errorCauses(thrown(failedQuery(root)))).toEqual({ error: expect.any(Error), cause: root });
    expect(dispositionOf('INTERNAL_SERVER_ERROR', thrown(failedQuery(root)))).toBe('unavailable');
    expect(dispositionOf('NOT_FOUND', new Error('x'))).toBe('coded');
  });
});
