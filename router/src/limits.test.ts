import { describe, expect, it } from 'vitest';
import { parse } from 'graphql';
import { createLimitChecker, measure } from './limits.js';

describe('measure', () => {
  it('counts depth through fragments and inline fragments, and every alias', () => {
    const doc = parse(`
      query { a: me { ...F } b: me { id } }
      fragment F on User { address { ... on Address { postalCode } } }
    `);
    expect(measure(doc)).toEqual({ depth: 3, aliases: 2 });
  });

  it('does not loop on a fragment cycle (validation reports it later)', () => {
    expect(measure(parse(`{ me { ...A } } fragment A on User { ...B } fragment B on User { ...A }`)).depth).toBe(2);
  });
});

describe('createLimitChecker', () => {
  const check = createLimitChecker({ maxDepth: 3, maxAliases: 1, maxOperations: 2 });

  it('refuses too deep, too many aliases, too many operations and too many tokens', () => {
    expect(check({ query: '{ a { b { c { d } } } }' })).toMatchObject({ limit: 'depth', actual: 4 });
    expect(check({ query: '{ x: a y: a }' })).toMatchObject({ limit: 'aliases', actual: 2 });
    expect(check([{ query: '{ a }' }, { query: '{ a }' }, { query: '{ a }' }])).toMatchObject({ limit: 'operations', actual: 3 });
    expect(check({ query: `{ ${'a '.repeat(6000)} }` })).toMatchObject({ limit: 'tokens' });
  });

  it('lets valid and unparseable queries through (Apollo reports parse errors itself)', () => {
    expect(check({ query: '{ a { b } }' })).toBeNull();
    expect(check({ query: '{ a {' })).toBeNull();
    expect(check(undefined)).toBeNull();
  });
});
