import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { generate } from '@graphql-codegen/cli';
import { describe, expect, it } from 'vitest';
import { codegenConfig, generatedPath } from '../../codegen.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const SUBGRAPHS = ['users', 'products', 'wishlists', 'orders', 'events'];

describe('committed resolver types', () => {
  it('When every subgraph schema is run through the code generator afresh, then each result equals its committed src/generated/graphql.ts (run `npm run codegen` if not)', async () => {
    // In memory only (second argument false): a stale file is reported, never rewritten by the test.
    const outputs: Array<{ filename: string; content: string }> = await generate({ ...codegenConfig(root), silent: true }, false);
    const fresh = new Map(outputs.map((output) => [output.filename, output.content]));
    expect(outputs.length).toBe(SUBGRAPHS.length);
    for (const name of SUBGRAPHS) {
      const path = `${root}/${generatedPath(name)}`;
      expect(readFileSync(path, 'utf8'), generatedPath(name)).toBe(fresh.get(path));
    }
  }, 60_000);
});
