import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApolloServer } from '@apollo/server';
import { createHttpServer, createLogger, createMetrics, type RunningHttpServer } from '../src/index.js';
import { REQUEST_ID_HEADER, requestIdHeader } from '../src/identity.js';
import { createReplicaClient } from '../src/replicas.js';

/**
 * A service's calls to other services carry the id of the request they serve: through the replica
 * client by itself, and through a plain fetch with `requestIdHeader()`. A real downstream HTTP
 * server records what arrives.
 */
const logger = createLogger({ service: 'request-id-test' }, 'silent');
let downstream: Server;
let downstreamUrl: string;
let seen: (string | undefined)[] = [];
let apollo: ApolloServer;
let running: RunningHttpServer;
let replicas: ReturnType<typeof createReplicaClient>;

const callDownstream = () =>
  replicas.request({
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
    attemptTimeoutMs: 2_000,
    retry: 'idempotent',
  });

beforeAll(async () => {
  downstream = createServer((req, res) => {
    seen.push(req.headers[REQUEST_ID_HEADER] as string | undefined);
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
  await new Promise<void>((resolve) => downstream.listen(0, '127.0.0.1', resolve));
  downstreamUrl = `http://127.0.0.1:${(downstream.address() as AddressInfo).port}/graphql`;
  replicas = createReplicaClient({ name: 'downstream', urls: [downstreamUrl], logger });

  apollo = new ApolloServer({ typeDefs: 'type Query { hello: String }', resolvers: { Query: { hello: () => 'hi' } } });
  await apollo.start();
  const http = createHttpServer({
    apollo,
    context: async () => ({}),
    logger,
    metrics: createMetrics('request-id-test'),
    readiness: {},
    routes: [
      {
        method: 'POST',
        path: '/probe',
        handler: async () => {
          // After an await, as real handlers call out: the id must survive the async hop.
          await new Promise((resolve) => setTimeout(resolve, 5));
          await (await callDownstream()).text();
          await (await fetch(downstreamUrl, { method: 'POST', headers: { ...requestIdHeader() }, body: '{}' })).text();
          return { status: 200, body: { ok: true } };
        },
      },
    ],
  });
  running = await http.listen(0, '127.0.0.1');
});
afterAll(async () => {
  await running?.close(1_000);
  await apollo?.stop();
  await new Promise((resolve) => downstream?.close(resolve));
});

const probe = (headers: Record<string, string> = {}) =>
  fetch(`http://127.0.0.1:${running.port}/probe`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: '{}',
  });

describe('the request id on calls between services', () => {
  it('When a request arrives with an id, then every call it makes carries that id', async () => {
    seen = [];
    const answer = await probe({ [REQUEST_ID_HEADER]: 'caller-id-1' });
    expect(answer.status).toBe(200);
    expect(seen).toEqual(['caller-id-1', 'caller-id-1']);
  });

  it('When a request arrives without one, then its calls carry the id the service gave it, and concurrent requests keep their own', async () => {
    seen = [];
    const answers = await Promise.all([probe(), probe(), probe()]);
    const ids = answers.map((a) => a.headers.get(REQUEST_ID_HEADER));
    expect(new Set(ids).size).toBe(3);
    expect([...seen].sort()).toEqual([...ids, ...ids].sort());
  });

  it('When a call is made outside any request (a scheduler), then it carries no id', async () => {
    seen = [];
    await (await callDownstream()).text();
    expect(seen).toEqual([undefined]);
  });
});
