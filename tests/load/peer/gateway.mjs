// The peer the router is compared with: Hive Gateway with the Rust query planner
// (@graphql-hive/router-runtime) on the same subgraphs. Run as its own process by the bench, so
// its CPU is measured apart; the packages come from the bench's cache dir (tests/load/.peer),
// never from package.json. Usage: node gateway.mjs <peer dir> <supergraph file> <port>
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [peerDir, supergraph, port] = process.argv.slice(2);
const resolve = createRequire(join(peerDir, 'package.json')).resolve;
const { createGatewayRuntime } = await import(pathToFileURL(resolve('@graphql-hive/gateway-runtime')).href);
const { unifiedGraphHandler } = await import(pathToFileURL(resolve('@graphql-hive/router-runtime')).href);

const gateway = createGatewayRuntime({
  supergraph,
  unifiedGraphHandler,
  logging: false,
  // The same rules as our router in the comparison: no in-flight deduplication of subgraph calls.
  transportEntries: { '*.http': { options: { deduplicateInflightRequests: false } } },
  // Subgraphs trust the signed identity assertion our router adds; the bench signs one for the
  // peer's clients and the peer passes it through.
  propagateHeaders: {
    fromClientToSubgraphs: ({ request }) => {
      const assertion = request.headers.get('x-bth-identity');
      return assertion ? { 'x-bth-identity': assertion } : {};
    },
  },
});
const server = createServer(gateway);
process.once('SIGTERM', () => process.exit(0));
server.listen(Number(port), '127.0.0.1', () => process.stdout.write('ready\n'));
