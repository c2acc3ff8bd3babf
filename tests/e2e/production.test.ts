import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@bth/testkit';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink.js';
import { PASSWORD, productionEnv, startStack, type Stack } from '../support/stack.js';

/**
 * The whole supergraph as deployed (issue 9, deliverable 7): every service with NODE_ENV=production,
 * fresh random secrets and keys, verification mail through a real SMTP server. What
 * router-production.test.ts already checks (the router's own introspection and landing page at
 * /graphql, request ids, probes, a dead users subgraph) is not repeated here.
 */
const FROM = 'BooTakHae <no-reply@bootakhae.test>';
/** Text that must never reach a client in production. */
const INTERNAL =
  /https?:\/\/|127\.0\.0\.1|localhost|select\s|insert\s|mysql|mariadb|products_hidden|\/run\/|\/work\/|node_modules|\bat \S+ \(|ECONN|stack/i;

let sink: SmtpSink;
let stack: Stack;
beforeAll(async () => {
  sink = await startSmtpSink();
  const production = productionEnv();
  stack = await startStack({
    productsReplicas: 1,
    env: production.env,
    envFor: { ...production.envFor, users: { ...production.envFor.users, SMTP_URL: sink.url, MAIL_FROM: FROM } },
    mailbox: (email) => sink.codeFor(email),
  });
});
afterAll(async () => {
  await stack?.stop();
  await sink?.close();
});

const post = (url: string, query: string, headers: Record<string, string> = {}) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query }) });

describe('the whole stack in production mode', () => {
  it('When a member signs up, then the code arrives by SMTP and the journey ends signed in', async () => {
    const email = `prod-${randomUUID().slice(0, 8)}@example.com`;
    const requested = await stack.gql(`mutation($e: String!) { requestEmailVerification(email: $e) { email resendAfterSeconds } }`, {
      e: email,
    });
    expect(requested.errors).toBeUndefined();
    const code = await sink.codeFor(email);
    const mail = sink.received.find((m) => m.to.includes(email))!;
    expect(mail.from).toBe('no-reply@bootakhae.test');
    expect(mail.raw).toMatch(/Subject: Your BooTakHae verification code/);
    // Production never writes a code where an operator (or a log shipper) could read it.
    expect(stack.logs.filter((line) => line.includes(code))).toEqual([]);

    const verified = await stack.gql(`mutation($e: String!, $c: String!) { verifyEmail(email: $e, code: $c) { verificationToken } }`, {
      e: email,
      c: code,
    });
    expect(verified.errors).toBeUndefined();
    const created = await stack.gql(`mutation($input: SignUpInput!) { signUp(input: $input) { id email } }`, {
      input: {
        verificationToken: verified.data!.verifyEmail.verificationToken,
        email,
        password: PASSWORD,
        name: 'Prod Member',
        nickname: 'prod',
        phone: '01012345678',
        postalCode: '06236',
        address: 'Teheran-ro 123',
      },
    });
    expect(created.errors).toBeUndefined();
    const tokens = await stack.login(email);
    const me = await stack.gql(`{ me { id email nickname } }`, {}, tokens.accessToken);
    expect(me.data!.me).toEqual({ id: created.data!.signUp.id, email, nickname: 'prod' });
  });

  it('When introspection is asked of the router or of any subgraph, then it is refused', async () => {
    for (const query of ['{ __schema { types { name } } }', '{ __type(name: "Product") { fields { name } } }']) {
      const response = await stack.gql(query);
      expect(response.data ?? null, query).toBeNull();
      expect(response.errors![0]!.extensions!.code, query).toBe('GRAPHQL_VALIDATION_FAILED');
    }
    for (const instance of stack.instances.filter((i) => i.name !== 'router')) {
      const body = await (await post(instance.url, '{ __schema { types { name } } }')).text();
      expect(body, instance.name).not.toMatch(/"types"\s*:\s*\[/);
    }
  });

  it('When a browser opens any service, then no Sandbox or landing page is served', async () => {
    const bases = [stack.routerUrl.replace(/\/graphql$/, ''), ...stack.instances.filter((i) => i.name !== 'router').map((i) => i.base)];
    for (const base of bases) {
      for (const path of ['/', '/graphql']) {
        const response = await fetch(`${base}${path}`, { headers: { accept: 'text/html' } });
        expect(await response.text(), `${base}${path}`).not.toMatch(/sandbox|apollographql|<html/i);
      }
    }
  });

  it('When someone asks the development mailbox for a code, then the route does not exist', async () => {
    const email = `prod-${randomUUID().slice(0, 8)}@example.com`;
    expect(
      (await stack.gql(`mutation($e: String!) { requestEmailVerification(email: $e) { email } }`, { e: email })).errors,
    ).toBeUndefined();
    const code = await sink.codeFor(email);
    const response = await fetch(`${stack.service('users').base}/dev/mailbox?email=${encodeURIComponent(email)}`);
    expect(response.status).toBe(404);
    expect(await response.text()).not.toContain(code);
  });

  it('When a field, argument or enum value is misspelled, then the error does not suggest the real names', async () => {
    const misspelled = [
      '{ prodcts(first: 1) { edges { node { id } } } }',
      '{ products(first: 1) { edges { node { nmae } } } }',
      '{ product(idd: "x") { id } }',
      '{ products(orderBy: NEWST) { edges { node { id } } } }',
      'mutation { logn(email: "a@b.co", password: "x") { accessToken } }',
      '{ products(filter: { onSales: true }) { edges { node { id } } } }',
    ];
    for (const query of misspelled) {
      const response = await stack.gql(query);
      expect(response.errors?.length, query).toBeGreaterThan(0);
      for (const error of response.errors!) {
        expect(error.extensions?.code, query).toBe('GRAPHQL_VALIDATION_FAILED');
        expect(error.message, query).not.toMatch(/did you mean/i);
      }
    }
  });

  it('When a subgraph fails unexpectedly, then the client sees a masked error and the service logs the cause with the request id', async () => {
    // A broken database (the table gone) is the unexpected failure: nothing in the code expects it.
    await stack.query('products', 'RENAME TABLE products TO products_hidden');
    try {
      const requestId = `prod-mask-${randomUUID()}`;
      const response = await post(stack.routerUrl, `{ product(id: "${randomUUID()}") { id name } }`, { 'x-request-id': requestId });
      const text = await response.text();
      expect(response.status).toBeLessThan(500);
      expect(text).not.toMatch(INTERNAL);
      const body = JSON.parse(text) as { errors?: Array<{ message: string; extensions?: Record<string, unknown> }> };
      expect(body.errors?.map((e) => [e.extensions?.code, e.message])).toEqual([['INTERNAL_SERVER_ERROR', 'Internal server error']]);
      const logged = await waitFor(() =>
        stack.logs.filter((line) => line.startsWith('products') && line.includes(requestId) && line.includes('"level":"error"')),
      );
      expect(logged).toHaveLength(1);
    } finally {
      await stack.query('products', 'RENAME TABLE products_hidden TO products');
    }
  });

  it('When an anonymous client calls a member operation, then UNAUTHENTICATED comes back as the subgraph said it, without an address', async () => {
    const response = await post(stack.routerUrl, 'mutation { logout }');
    const text = await response.text();
    expect(text).not.toMatch(INTERNAL);
    const body = JSON.parse(text) as { errors?: Array<{ extensions?: Record<string, unknown> }> };
    expect(body.errors?.map((e) => e.extensions?.code)).toEqual(['UNAUTHENTICATED']);
    expect(body.errors![0]!.extensions).not.toHaveProperty('response');
  });
});
