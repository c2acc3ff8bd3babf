import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { OperationTypeNode, parse } from 'graphql';
import { DEFAULT_LIMITS, countJsonValues, createLimitChecker, measure, mostRepeatedField } from './limits.js';

/** `query { ...x0 } fragment x0 on Query { ...x1 ...x1 } … fragment x<n> on Query { __typename }`: 2^n fields in ~40n bytes. */
function fragmentBomb(levels: number): string {
  let text = 'query { ...x0 }';
  for (let i = 0; i < levels; i++) text += ` fragment x${i} on Query { ...x${i + 1} ...x${i + 1} }`;
  return `${text} fragment x${levels} on Query { __typename }`;
}

describe('measure', () => {
  it('counts depth through fragments and inline fragments, and every alias', () => {
    const doc = parse(`
      query { a: me { ...F } b: me { id } }
      fragment F on User { address { ... on Address { postalCode } } }
    `);
    expect(measure(doc)).toMatchObject({ depth: 3, aliases: 2, fields: 5 });
  });

  it('does not loop on a fragment cycle (validation reports it later)', () => {
    expect(measure(parse(`{ me { ...A } } fragment A on User { ...B } fragment B on User { ...A }`)).depth).toBe(1);
  });

  it('counts a fragment as often as it is spread, without walking it more than once', () => {
    const started = performance.now();
    const cost = measure(parse(fragmentBomb(22)));
    expect(cost.fields).toBe(2 ** 22);
    expect(performance.now() - started).toBeLessThan(20);
    // Far past 2^53 the count saturates instead of losing meaning.
    expect(measure(parse(fragmentBomb(80))).fields).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('counts directives on fields, spreads and fragments, expanded, and declared variables', () => {
    const doc = parse(
      `query Q($a: Boolean!, $b: Boolean!) @x { ...F @include(if: $a) ...F } fragment F on Query @y { __typename @skip(if: $b) }`,
    );
    expect(measure(doc)).toMatchObject({ directives: 1 + 1 + 2 * 2, variables: 2 });
  });
});

describe('mostRepeatedField', () => {
  it('merges fragments and inline fragments into the level they are spread at', () => {
    expect(mostRepeatedField(parse(`{ id ...F ... { id } } fragment F on Query { id id }`))).toBe(4);
    expect(mostRepeatedField(parse(`{ me { id id id } other: me { id } }`))).toBe(3);
    expect(mostRepeatedField(parse(fragmentBomb(10)))).toBe(1024);
  });
});

describe('countJsonValues', () => {
  it('counts nested values without recursion', () => {
    expect(countJsonValues({ a: [1, 2, { b: null }] })).toBe(6);
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(countJsonValues(deep)).toBe(100_001);
    expect(countJsonValues(new Array(100_000).fill(0))).toBe(100_001);
  });
});

describe('createLimitChecker', () => {
  const check = createLimitChecker(
    {
      ...DEFAULT_LIMITS,
      maxDepth: 3,
      maxAliases: 1,
      maxOperations: 2,
      maxFields: 20,
      maxDirectives: 2,
      maxRepeatedField: 3,
      maxVariables: 2,
      maxVariableValues: 10,
    },
    new Set([OperationTypeNode.QUERY, OperationTypeNode.MUTATION]),
  );

  it('refuses each limit with its name, maximum and actual value', () => {
    expect(check({ query: '{ a { b { c { d } } } }' })).toMatchObject({
      code: 'OPERATION_LIMIT_EXCEEDED',
      limit: { limit: 'depth', max: 3, actual: 4 },
    });
    expect(check({ query: '{ x: a y: a }' })).toMatchObject({ limit: { limit: 'aliases', actual: 2 } });
    expect(check([{ query: '{ a }' }, { query: '{ a }' }, { query: '{ a }' }])).toMatchObject({
      limit: { limit: 'operations', actual: 3 },
    });
    expect(check({ query: `{ ${'a '.repeat(6000)} }` })).toMatchObject({ limit: { limit: 'tokens' } });
    expect(check({ query: fragmentBomb(22) })).toMatchObject({ limit: { limit: 'fields', max: 20, actual: 2 ** 22 } });
    expect(check({ query: '{ a @x @y @z }' })).toMatchObject({ limit: { limit: 'directives', actual: 3 } });
    expect(check({ query: '{ a a a a }' })).toMatchObject({ limit: { limit: 'repeatedField', actual: 4 } });
    expect(check({ query: 'query ($a: Int, $b: Int, $c: Int) { a }' })).toMatchObject({ limit: { limit: 'variables', actual: 3 } });
    expect(check({ query: '{ a }', variables: { list: new Array(100_000).fill(1) } })).toMatchObject({
      limit: { limit: 'variableValues', max: 10, actual: 100_001 },
    });
  });

  it('refuses envelope mistakes the gateway would answer with HTTP 500', () => {
    expect(check({ query: 'query A { a }', operationName: 'B' })).toMatchObject({ code: 'BAD_REQUEST' });
    expect(check({ query: '{ a }', operationName: '' })).toMatchObject({ code: 'BAD_REQUEST' });
    expect(check({ query: 'query A { a } query B { a }' })).toMatchObject({ code: 'BAD_REQUEST' });
    expect(check({ query: 'subscription { a }' })).toMatchObject({
      code: 'BAD_REQUEST',
      message: 'This API has no subscription operations',
    });
    expect(check([{ query: '{ a }' }, { query: 'query A { a }', operationName: 'B' }])).toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringMatching(/^Operation 2 of the batch/),
    });
    expect(check({ query: 'query A { a } query B { a }', operationName: 'B' })).toBeNull();
  });

  it('refuses malformed persisted-query extensions (Apollo calls them internal errors) and lets a matching one through', () => {
    const query = '{ a }';
    const hash = createHash('sha256').update(query).digest('hex');
    expect(check({ query, extensions: { persistedQuery: 'abc' } })).toMatchObject({ code: 'BAD_REQUEST' });
    expect(check({ query, extensions: { persistedQuery: { version: 2, sha256Hash: hash } } })).toMatchObject({ code: 'BAD_REQUEST' });
    expect(check({ query, extensions: { persistedQuery: { version: 1, sha256Hash: 'nothex' } } })).toMatchObject({ code: 'BAD_REQUEST' });
    expect(check({ query, extensions: { persistedQuery: { version: 1, sha256Hash: 'a'.repeat(64) } } })).toMatchObject({
      code: 'BAD_REQUEST',
      message: 'extensions.persistedQuery.sha256Hash does not match the query',
    });
    expect(check({ query, extensions: { persistedQuery: { version: 1, sha256Hash: hash } } })).toBeNull();
    expect(check({ extensions: { persistedQuery: { version: 1, sha256Hash: hash } } })).toBeNull();
  });

  it('lets valid and otherwise malformed requests through (Apollo answers those with 400 itself)', () => {
    expect(check({ query: '{ a { b } }' })).toBeNull();
    expect(check({ query: '{ a {' })).toBeNull();
    expect(check(undefined)).toBeNull();
    expect(check({ query: 5, variables: 'x' })).toBeNull();
    expect(check([1, null])).toBeNull();
  });
});
