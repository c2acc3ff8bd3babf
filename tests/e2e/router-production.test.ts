import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@bth/testkit';
import { startStack, type Stack } from '../support/stack.js';

/** The router as deployed: NODE_ENV=production, real secrets, no Sandbox, no introspection. */
let stack: Stack;
beforeAll(async () => {
  stack = await startStack({
    only: ['users'],
    env: {
      INTERNAL_JWT_SECRET: 'prod-like-internal-secret-0123456789abcdef',
      ACCESS_TOKEN_SECRET: 'prod-like-access-secret-0123456789abcdefgh',
    },
    envFor: { router: { NODE_ENV: 'production' } },
  });
});
afterAll(async () => {
  await stack?.stop();
});

describe('router in production mode', () => {
  it('When introspection or the landing page is asked for, then both are off', async () => {
    const introspection = await stack.gql(`{ __schema { queryType { name } } }`);
    expect(introspection.data ?? null).toBeNull();
    expect(introspection.errors![0]!.extensions!.code).toBe('GRAPHQL_VALIDATION_FAILED');
    const landing = await fetch(stack.routerUrl, { headers: { accept: 'text/html' } });
    expect(await landing.text()).not.toMatch(/sandbox/i);
  });

  it('When a member signs up and queries, then it works with the production secrets', async () => {
    const member = await stack.signUp();
    expect((await stack.gql(`{ me { id } }`, {}, member.accessToken)).data!.me.id).toBe(member.userId);
  });

  it('When a client sends a request id, then the router and the subgraph both log it', async () => {
    const requestId = `trace-${Date.now()}`;
    const response = await fetch(stack.routerUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': requestId },
      body: JSON.stringify({ query: 'query TraceMe { me { id } }' }),
    });
    expect(response.headers.get('x-request-id')).toBe(requestId);
    await waitFor(() => stack.logs.some((l) => l.startsWith('users ') && l.includes(requestId)));
    expect(stack.logs.some((l) => l.startsWith('router ') && l.includes(requestId) && l.includes('TraceMe'))).toBe(true);
  });

  it('When the probes are asked, then readiness checks dependencies and metrics are exposed', async () => {
    const users = stack.service('users').base;
    const ready = await fetch(`${users}/health/ready`);
    expect(await ready.json()).toEqual({ status: 'ok', checks: { mariadb: 'ok', redis: 'ok' } });
    expect((await fetch(`${users}/health/live`)).status).toBe(200);
    const metrics = await (await fetch(`${stack.routerUrl.replace('/graphql', '')}/metrics`)).text();
    expect(metrics).toMatch(/http_request_duration_seconds_bucket\{.*service="router"/);
  });

  it('When the users subgraph is down, then readiness says so and queries get a coded error', async () => {
    // The other subgraphs are not started in this file, so readiness is already 503: what must
    // change is that users is now named among the missing.
    const readiness = async () =>
      ((await (await fetch(`${stack.routerUrl.replace('/graphql', '')}/health/ready`)).json()) as { checks: { subgraphs: string } }).checks
        .subgraphs;
    expect(await readiness()).not.toMatch(/\busers\b/);
    await stack.service('users').kill();
    expect(await readiness()).toMatch(/no live replica for: .*\busers\b/);
    const response = await stack.gql(`{ me { id } }`);
    expect(response.errors![0]!.extensions!.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(JSON.stringify(response)).not.toMatch(/ECONNREFUSED|127\.0\.0\.1/);
    await stack.service('users').start();
    await waitFor(async () => (await stack.gql(`{ me { id } }`)).data?.me === null);
  });
});
