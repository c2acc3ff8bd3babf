import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';

/**
 * Composes `schema/supergraph.graphql` from every `subgraphs/<name>/schema.graphql`.
 *
 * Rover would download a binary and a composition plugin at run time, which these machines
 * cannot do, so we compose with `@apollo/composition` (the library Rover itself runs). The
 * routing URLs written into the supergraph are the local defaults; the router replaces them
 * at start from its environment (several replicas per subgraph, test ports).
 */
export const DEFAULT_PORTS: Record<string, number> = { users: 4001, products: 4002, wishlists: 4003, orders: 4004, events: 4005 };

const root = fileURLToPath(new URL('../..', import.meta.url));
export const SUPERGRAPH_PATH = join(root, 'schema', 'supergraph.graphql');

export function composeSupergraph(): string {
  const subgraphsDir = join(root, 'subgraphs');
  const services = readdirSync(subgraphsDir)
    .filter((name) => existsSync(join(subgraphsDir, name, 'schema.graphql')))
    .sort()
    .map((name) => ({
      name,
      url: `http://127.0.0.1:${DEFAULT_PORTS[name] ?? 4099}/graphql`,
      typeDefs: parse(readFileSync(join(subgraphsDir, name, 'schema.graphql'), 'utf8')),
    }));
  const result = composeServices(services);
  if (result.errors) {
    throw new Error(`Composition failed:\n${result.errors.map((e) => `  - ${e.message}`).join('\n')}`);
  }
  return `${result.supergraphSdl.trimEnd()}\n`;
}

/** Writes the supergraph when it changed; returns whether it did. */
export function writeSupergraph(): boolean {
  const sdl = composeSupergraph();
  const current = existsSync(SUPERGRAPH_PATH) ? readFileSync(SUPERGRAPH_PATH, 'utf8') : '';
  if (current === sdl) return false;
  writeFileSync(SUPERGRAPH_PATH, sdl);
  return true;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    const changed = writeSupergraph();
    process.stdout.write(changed ? `Wrote ${SUPERGRAPH_PATH}\n` : 'Supergraph is up to date\n');
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(1);
  }
}
