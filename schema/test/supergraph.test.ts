import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SUPERGRAPH_PATH, composeSupergraph } from '../src/compose.js';

describe('committed supergraph', () => {
  it('When the subgraph schemas are composed afresh, then the result equals schema/supergraph.graphql (run `npm run compose` if not)', () => {
    expect(readFileSync(SUPERGRAPH_PATH, 'utf8')).toBe(composeSupergraph());
  });
});
