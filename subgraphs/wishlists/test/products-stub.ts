import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A stand-in for the products subgraph that answers only the `_entities` existence query
 * wishlists sends, from a set of known ids. It keeps the wishlist-only tests independent of the
 * products code; `orders.test.ts` runs against the real products subgraph.
 */
export async function startProductsStub(known: Iterable<string> = []) {
  const ids = new Set(known);
  let calls = 0;
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString('utf8')));
    req.on('end', () => {
      calls += 1;
      const body = JSON.parse(raw) as { variables: { r: Array<{ id: string }> } };
      const entities = body.variables.r.map((ref) => (ids.has(ref.id) ? { id: ref.id } : null));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ data: { _entities: entities } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    add: (id: string) => void ids.add(id),
    calls: () => calls,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
