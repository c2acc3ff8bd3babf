import { describe, expect, it } from 'vitest';
import { GraphQLError } from 'graphql';
import { AppError, FieldErrors, createErrorFormatter } from './errors.js';

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
