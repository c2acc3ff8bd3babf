import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor, type GraphQLResponse } from '@bth/testkit';
import { startStack, type Member, type Stack } from '../support/stack.js';

/**
 * The error contract through the router: whatever HTTP status a subgraph used, the client gets
 * that subgraph's own error (code, reason, retryable, retryAfterSeconds, fieldErrors) and an HTTP
 * status that follows it, and no answer carries an internal URL, host, port, SQL, path or stack.
 */
let stack: Stack;
let admin: Member;
let productId: string;
/** Every answer of this file, checked for internals at the end. */
const answers: GraphQLResponse[] = [];

const ask = async (query: string, variables: Record<string, unknown> = {}, token?: string) => {
  const response = await stack.gql(query, variables, token);
  answers.push(response);
  return response;
};
const first = (response: GraphQLResponse) => response.errors?.[0];

const CREATE = `mutation($input: CreateSaleEventInput!) { createSaleEvent(input: $input) { id } }`;
const UPDATE = `mutation($id: ID!, $input: UpdateSaleEventInput!) { updateSaleEvent(id: $id, input: $input) { __typename } }`;
const inHours = (hours: number) => new Date(Date.now() + hours * 3_600_000).toISOString();
const saleInput = () => ({
  name: 'Contract sale',
  productId,
  salePrice: 4_900,
  quantity: 10,
  perUserLimit: 1,
  startsAt: inHours(1),
  endsAt: inHours(2),
});

function expectFieldError(response: GraphQLResponse, field: string) {
  expect(first(response)?.extensions?.code, JSON.stringify(response)).toBe('BAD_USER_INPUT');
  expect(first(response)!.extensions!.fieldErrors).toEqual(expect.arrayContaining([{ field, message: expect.stringMatching(/ISO-8601/) }]));
}

beforeAll(async () => {
  stack = await startStack({ only: ['users', 'products', 'events'] });
  admin = await stack.signUpAdmin();
  productId = await stack.createProduct(admin, { stock: 10, price: 9_900 });
});
afterAll(async () => {
  await stack?.stop();
});

describe('error contract through the router', () => {
  it('When a code is asked for twice within the limit, then the client gets RATE_LIMITED with its retry hint and HTTP 429', async () => {
    const email = `contract-${randomUUID().slice(0, 8)}@example.com`;
    const request = `mutation($e: String!) { requestEmailVerification(email: $e) { email } }`;
    expect((await ask(request, { e: email })).errors).toBeUndefined();
    const again = await ask(request, { e: email });
    expect(again.status).toBe(429);
    expect(again.data ?? null).toBeNull();
    expect(first(again)).toMatchObject({ path: ['requestEmailVerification'], extensions: { code: 'RATE_LIMITED', retryable: true } });
    expect(first(again)!.extensions!.retryAfterSeconds).toBeGreaterThan(0);
    expect(first(again)!.extensions).not.toHaveProperty('response');
  });

  it('When a login fails, then the client gets UNAUTHENTICATED with reason BAD_CREDENTIALS and HTTP 401', async () => {
    const failed = await ask(`mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }`, {
      e: admin.email,
      p: 'wrong-Passw0rd!',
    });
    expect(failed.status).toBe(401);
    expect(first(failed)).toMatchObject({
      message: 'The e-mail or password is wrong',
      extensions: { code: 'UNAUTHENTICATED', reason: 'BAD_CREDENTIALS' },
    });
  });

  it('When createSaleEvent gets a malformed DateTime literal or variable, then BAD_USER_INPUT names the field', async () => {
    const literal = await ask(
      `mutation { createSaleEvent(input: { name: "x", productId: "${productId}", salePrice: 1, quantity: 1, perUserLimit: 1, startsAt: "next tuesday", endsAt: "${inHours(2)}" }) { id } }`,
      {},
      admin.accessToken,
    );
    expectFieldError(literal, 'startsAt');
    const notAString = await ask(
      `mutation { createSaleEvent(input: { name: "x", productId: "${productId}", salePrice: 1, quantity: 1, perUserLimit: 1, startsAt: "${inHours(1)}", endsAt: 42 }) { id } }`,
      {},
      admin.accessToken,
    );
    expectFieldError(notAString, 'endsAt');
    const variable = await ask(CREATE, { input: { ...saleInput(), endsAt: '2026-02-31T25:61:00Z' } }, admin.accessToken);
    expectFieldError(variable, 'endsAt');
    expect(await stack.query('events', 'SELECT id FROM sale_events')).toEqual([]);
  });

  it('When updateSaleEvent gets a malformed DateTime literal or variable, then BAD_USER_INPUT names the field', async () => {
    const created = await ask(CREATE, { input: saleInput() }, admin.accessToken);
    expect(created.errors).toBeUndefined();
    const id = created.data!.createSaleEvent.id as string;
    const literal = await ask(
      `mutation { updateSaleEvent(id: "${id}", input: { startsAt: "tomorrow" }) { __typename } }`,
      {},
      admin.accessToken,
    );
    expectFieldError(literal, 'startsAt');
    const variable = await ask(UPDATE, { id, input: { endsAt: 1_764_000_000 } }, admin.accessToken);
    expectFieldError(variable, 'endsAt');
  });

  it('When a subgraph is down, then the client gets a retryable UPSTREAM_UNAVAILABLE with HTTP 503, and the query works once it is back', async () => {
    const events = stack.service('events');
    await events.kill();
    const query = `{ saleEvents(first: 1) { nodes { id } } }`;
    const down = await ask(query);
    expect(down.status).toBe(503);
    expect(first(down)).toMatchObject({ extensions: { code: 'UPSTREAM_UNAVAILABLE', retryable: true, service: 'events' } });
    expect(first(down)!.extensions!.retryAfterSeconds).toBeGreaterThan(0);
    await events.start();
    await waitFor(async () => (await stack.gql(query)).status === 200, 15_000);
  });

  it('When all those answers are read, then none carries an internal URL, host, port, SQL, file path or stack', () => {
    expect(answers.length).toBeGreaterThan(8);
    for (const answer of answers) {
      const text = JSON.stringify(answer.errors ?? []);
      expect(text).not.toMatch(
        /127\.0\.0\.1|localhost|https?:\/\/|:\d{4,5}\b|select |\/run\/mysqld|\bat [\w.<>]+ \(|"response"|"http"|stacktrace/i,
      );
      expect(text).not.toMatch(/INTERNAL_SERVER_ERROR|GRAPHQL_VALIDATION_FAILED/);
    }
  });
});
