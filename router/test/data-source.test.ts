import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { Fetcher } from '@apollo/utils.fetcher';
import { AppError } from '@bth/platform/errors';
import { SubgraphDataSource, type SubgraphCallContext } from '../src/data-source.js';

/**
 * The router's subgraph data source against a real HTTP server that answers the way subgraphs and
 * the things in front of them do: GraphQL errors under 401/429/503, a proxy's HTML 502, a 200 that
 * is no JSON. The gateway must see the subgraph's own errors, or one coded UPSTREAM_UNAVAILABLE.
 */
const answers: Record<string, { status: number; type: string; body: string }> = {
  '/rate-limited': {
    status: 429,
    type: 'application/json; charset=utf-8',
    body: JSON.stringify({
      data: null,
      errors: [
        {
          message: 'Wait',
          path: ['requestEmailVerification'],
          extensions: { code: 'RATE_LIMITED', retryable: true, retryAfterSeconds: 42 },
        },
      ],
    }),
  },
  '/bad-credentials': {
    status: 401,
    type: 'application/graphql-response+json',
    body: JSON.stringify({
      data: null,
      errors: [{ message: 'Wrong', extensions: { code: 'UNAUTHENTICATED', reason: 'BAD_CREDENTIALS' } }],
    }),
  },
  '/proxy-error': { status: 502, type: 'text/html', body: '<html>Bad Gateway nginx at 10.0.0.7:8080</html>' },
  '/json-but-not-graphql': { status: 500, type: 'application/json', body: JSON.stringify({ error: 'boom at /srv/app.js:1' }) },
  '/not-json': { status: 200, type: 'text/plain', body: 'hello from 127.0.0.1' },
};

let server: Server;
let base: string;
beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    const answer = answers[req.url ?? ''] ?? answers['/proxy-error']!;
    res.writeHead(answer.status, { 'content-type': answer.type }).end(answer.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

/** A data source whose fetcher (the replica pool's place) always calls `path` on the test server. */
function call(path: string) {
  const fetcher = ((_url: string, init: RequestInit) => fetch(`${base}${path}`, init)) as unknown as Fetcher;
  const source = new SubgraphDataSource('users', fetcher);
  // The gateway's request-kind enum is not exported; 'health check' is its value for a bare call.
  const options = { kind: 'health check', request: { query: '{ __typename }' }, context: {} };
  return source.process(options as unknown as GraphQLDataSourceProcessOptions<SubgraphCallContext>);
}

describe('SubgraphDataSource', () => {
  it.each([
    ['/rate-limited', { code: 'RATE_LIMITED', retryable: true, retryAfterSeconds: 42 }],
    ['/bad-credentials', { code: 'UNAUTHENTICATED', reason: 'BAD_CREDENTIALS' }],
  ])('hands on the GraphQL errors of a non-2xx answer (%s) as they are', async (path, extensions) => {
    const response = await call(path);
    expect(response.errors).toHaveLength(1);
    expect(response.errors![0]!.extensions).toEqual(extensions);
    expect(JSON.stringify(response.errors)).not.toMatch(/response|127\.0\.0\.1|http:/);
  });

  it.each(['/proxy-error', '/json-but-not-graphql', '/not-json'])(
    'turns an answer that is no GraphQL response (%s) into UPSTREAM_UNAVAILABLE without internals',
    async (path) => {
      const failure = await call(path).then(
        () => expect.unreachable('no error'),
        (error: unknown) => error,
      );
      expect(failure).toBeInstanceOf(AppError);
      const { message, extensions } = failure as AppError;
      expect(extensions).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE', retryable: true, service: 'users' });
      expect(extensions.retryAfterSeconds).toBeGreaterThan(0);
      expect(JSON.stringify({ message, extensions })).not.toMatch(/127\.0\.0\.1|10\.0\.0\.7|\/srv|nginx|http:|response/);
    },
  );
});
