import { describe, expect, it } from 'vitest';
import { causeChain, causeCodes, findInCauses } from './causes.js';

const withCode = (message: string, code: string, cause?: unknown) => Object.assign(new Error(message, { cause }), { code });

describe('cause chain', () => {
  it('walks originalError, cause and an AggregateError, nearest first', () => {
    const refused = withCode('connect ECONNREFUSED 127.0.0.1:1', 'ECONNREFUSED');
    const unreachable = withCode('connect EHOSTUNREACH ::1', 'EHOSTUNREACH');
    const aggregate = new AggregateError([refused, unreachable], 'both failed');
    const fetchFailed = new TypeError('fetch failed', { cause: aggregate });
    const graphql = Object.assign(new Error('wrapped'), { originalError: fetchFailed });
    expect(causeChain(graphql)).toEqual([graphql, fetchFailed, aggregate, refused, unreachable]);
    expect(causeCodes(graphql)).toEqual(['ECONNREFUSED', 'EHOSTUNREACH']);
  });

  it('stops on a cycle and skips values that are not objects', () => {
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    (a as { cause?: unknown }).cause = b;
    expect(causeChain(a)).toEqual([a, b]);
    expect(causeChain('text')).toEqual([]);
    expect(causeChain(null)).toEqual([]);
  });

  it('is bounded however deep the chain is', () => {
    let error = new Error('root');
    for (let i = 0; i < 100; i++) error = new Error(`level ${i}`, { cause: error });
    expect(causeChain(error)).toHaveLength(16);
  });

  it("follows only `cause` when asked, so the innermost cause is the chain's last link", () => {
    const root = withCode('socket', 'ECONNRESET');
    const other = new Error('beside');
    const top = Object.assign(new Error('top', { cause: root }), { originalError: other });
    expect(causeChain(top, { follow: 'cause' })).toEqual([top, root]);
  });

  it('finds the first value a reader accepts', () => {
    const driver = Object.assign(new Error('Lock wait timeout exceeded'), { errno: 1205 });
    const drizzle = new Error('Failed query: update …', { cause: driver });
    expect(findInCauses(drizzle, (link) => (link as { errno?: unknown }).errno as number | undefined)).toBe(1205);
    expect(findInCauses(new Error('plain'), (link) => (link as { errno?: number }).errno)).toBeUndefined();
  });
});
