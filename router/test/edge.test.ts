import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LogFields, Logger } from '@bth/platform/logger';
import { createRedis } from '@bth/platform/redis';
import { silentLogger, testMetrics, testRedisPrefix } from '@bth/testkit';
import { createRouter } from '../src/server.js';
import { testRouterConfig } from './harness.js';

/**
 * The router's edge on a real HTTP port. Subgraph URLs point at dead ports: every request here
 * is refused or answered (`__typename`) before any subgraph fetch, so none are needed.
 */
interface LogEntry {
  level: string;
  msg: string;
  fields?: LogFields;
}

function recordingLogger(entries: LogEntry[]): Logger {
  const logger: Logger = {
    debug: () => {},
    info: () => {},
    warn: (msg, fields) => entries.push({ level: 'warn', msg, fields }),
    error: (msg, fields) => entries.push({ level: 'error', msg, fields }),
    child: () => logger,
  };
  return logger;
}

async function startRouter(options: { sandbox: boolean; maxBodyBytes?: number }) {
  const logs: LogEntry[] = [];
  const logger = recordingLogger(logs);
  const redis = createRedis({ url: 'redis://127.0.0.1:6379', keyPrefix: testRedisPrefix('edge'), logger: silentLogger });
  const router = createRouter({
    config: await testRouterConfig({}, { sandbox: options.sandbox, maxBodyBytes: options.maxBodyBytes ?? 64 * 1024 }),
    logger,
    metrics: testMetrics('router'),
    redis,
  });
  const running = await router.listen(0, '127.0.0.1');
  return {
    url: running.url,
    logs,
    async close() {
      await running.close();
      redis.disconnect();
    },
  };
}

interface Answer {
  status: number;
  ms: number;
  body: { data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] };
  text: string;
}

async function post(url: string, body: unknown): Promise<Answer> {
  const started = performance.now();
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await response.text();
  return { status: response.status, ms: performance.now() - started, body: JSON.parse(text), text };
}

async function get(url: string, params: Record<string, string>): Promise<Answer> {
  const started = performance.now();
  const response = await fetch(`${url}?${new URLSearchParams(params)}`, { headers: { 'apollo-require-preflight': 'true' } });
  const text = await response.text();
  return { status: response.status, ms: performance.now() - started, body: JSON.parse(text), text };
}

/** `query { ...x0 } fragment x0 on Query { ...x1 ...x1 } … fragment x<n> on Query { __typename }`. */
function fragmentBomb(levels: number, prefix = 'x'): string {
  let text = `query { ...${prefix}0 }`;
  for (let i = 0; i < levels; i++) text += ` fragment ${prefix}${i} on Query { ...${prefix}${i + 1} ...${prefix}${i + 1} }`;
  return `${text} fragment ${prefix}${levels} on Query { __typename }`;
}

const firstCode = (answer: Answer) => answer.body.errors?.[0]?.extensions?.code;

describe('router edge (development mode)', () => {
  let router: Awaited<ReturnType<typeof startRouter>>;
  beforeAll(async () => {
    // A body limit large enough that the variable-value limit, not the body limit, meets a 100k list.
    router = await startRouter({ sandbox: true, maxBodyBytes: 1024 * 1024 });
    expect((await post(router.url, { query: '{ __typename }' })).body).toEqual({ data: { __typename: 'Query' } });
  });
  afterAll(async () => {
    await router?.close();
  });

  it('When a 23-level fragment bomb arrives, then it is refused in milliseconds and a concurrent ordinary query is not held up', async () => {
    // Distinct fragment names so no attempt is answered from the verdict cache.
    const attempts: Answer[] = [];
    for (const prefix of ['a', 'b', 'c']) attempts.push(await post(router.url, { query: fragmentBomb(22, prefix) }));
    for (const attempt of attempts) {
      expect(attempt.status).toBe(400);
      expect(attempt.body.errors![0]!.extensions).toMatchObject({
        code: 'OPERATION_LIMIT_EXCEEDED',
        limit: 'fields',
        max: 500,
        actual: 2 ** 22,
      });
    }
    expect(Math.min(...attempts.map((a) => a.ms))).toBeLessThan(50);

    const [bomb, ordinary] = await Promise.all([
      post(router.url, { query: fragmentBomb(22, 'd') }),
      post(router.url, { query: '{ __typename }' }),
    ]);
    expect(firstCode(bomb)).toBe('OPERATION_LIMIT_EXCEEDED');
    expect(ordinary.body).toEqual({ data: { __typename: 'Query' } });
    expect(ordinary.ms).toBeLessThan(1_000);
  });

  it('When a document floods directives, repeats a field, declares many variables or sends a huge list, then OPERATION_LIMIT_EXCEEDED names the limit', async () => {
    const cases: [unknown, string][] = [
      [{ query: `{ __typename ${'@include(if: true) '.repeat(60)} }` }, 'directives'],
      [{ query: `{ ${'__typename '.repeat(21)} }` }, 'repeatedField'],
      [{ query: `query (${Array.from({ length: 31 }, (_, i) => `$v${i}: Int`).join(', ')}) { __typename }` }, 'variables'],
      [
        {
          query: 'query ($ids: [ID!]) { inventoryReport(productIds: $ids) { __typename } }',
          variables: { ids: Array.from({ length: 100_000 }, () => '1') },
        },
        'variableValues',
      ],
      [
        {
          query: `{ ${Array.from({ length: 26 }, (_, i) => `f${i}: __typename`).join(' ')} ...F ...F } fragment F on Query { ${Array.from({ length: 3 }, (_, i) => `g${i}: __typename`).join(' ')} }`,
        },
        'aliases',
      ],
    ];
    for (const [body, limit] of cases) {
      const answer = await post(router.url, body);
      expect(answer.status, limit).toBe(400);
      expect(answer.body.errors![0]!.extensions, limit).toMatchObject({ code: 'OPERATION_LIMIT_EXCEEDED', limit });
      expect(answer.ms, limit).toBeLessThan(500);
    }
  });

  it('When the request envelope is wrong, then 400 with BAD_REQUEST or GRAPHQL_VALIDATION_FAILED, never 500, and nothing is logged as an error', async () => {
    const posts: [string, unknown][] = [
      ['operationName names no operation', { query: 'query A { __typename }', operationName: 'B' }],
      ['operationName on an anonymous operation', { query: '{ __typename }', operationName: 'X' }],
      ['empty operationName', { query: '{ __typename }', operationName: '' }],
      ['two operations without operationName', { query: 'query A { __typename } query B { __typename }' }],
      ['a subscription', { query: 'subscription { __typename }' }],
      ['a subscription chosen by name', { query: 'subscription S { __typename } query Q { __typename }', operationName: 'S' }],
      ['a batch with one bad item', [{ query: '{ __typename }' }, { query: 'query A { __typename }', operationName: 'B' }]],
      [
        'an unknown persisted-query version',
        { query: '{ __typename }', extensions: { persistedQuery: { version: 2, sha256Hash: 'abc' } } },
      ],
      ['query not a string', { query: 5 }],
      ['query null', { query: null }],
      ['variables not an object', { query: '{ __typename }', variables: [1] }],
      ['variables a JSON string', { query: '{ __typename }', variables: '{}' }],
      ['operationName not a string', { query: '{ __typename }', operationName: 5 }],
      ['extensions not an object', { query: '{ __typename }', extensions: [] }],
      ['a batch with a non-object item', [{ query: '{ __typename }' }, 1]],
      ['an empty batch', []],
      ['a bare string body', 'x'],
      ['a fragment and no operation', { query: 'fragment F on Query { __typename }' }],
    ];
    const answers: [string, Answer][] = [];
    for (const [name, body] of posts) answers.push([name, await post(router.url, body)]);
    answers.push(['GET with an unknown operationName', await get(router.url, { query: 'query A { __typename }', operationName: 'B' })]);
    answers.push(['GET with a subscription', await get(router.url, { query: 'subscription { __typename }' })]);
    answers.push(['GET with variables not JSON', await get(router.url, { query: '{ __typename }', variables: '{x' })]);
    for (const [name, answer] of answers) {
      expect(answer.status, name).toBe(400);
      expect(['BAD_REQUEST', 'GRAPHQL_VALIDATION_FAILED'], name).toContain(firstCode(answer));
    }
    // A mutation over GET is 405, as GraphQL over HTTP requires, with a BAD_REQUEST body.
    const getMutation = await get(router.url, { query: 'mutation { __typename }' });
    expect([getMutation.status, firstCode(getMutation)]).toEqual([405, 'BAD_REQUEST']);
    expect(router.logs.filter((entry) => entry.level === 'error')).toEqual([]);
    // The two operations of a document still work when one is named.
    const named = await post(router.url, { query: 'query A { a: __typename } query B { b: __typename }', operationName: 'B' });
    expect(named.body).toEqual({ data: { b: 'Query' } });
  });

  it('When a field is misspelled in development, then the error suggests the right one', async () => {
    const answer = await post(router.url, { query: '{ produts { totalCount } }' });
    expect(answer.body.errors![0]!.message).toMatch(/Did you mean "products"/);
  });
});

describe('router edge (production mode)', () => {
  let router: Awaited<ReturnType<typeof startRouter>>;
  beforeAll(async () => {
    router = await startRouter({ sandbox: false });
  });
  afterAll(async () => {
    await router?.close();
  });

  it('When a field, argument, type, enum value or input field is misspelled, then no "Did you mean" reveals a name', async () => {
    const answers = [
      await post(router.url, { query: '{ produts { totalCount } }' }),
      await post(router.url, { query: '{ product(ids: "1") { id } }' }),
      await post(router.url, { query: 'query ($x: Produc) { __typename }' }),
      await post(router.url, { query: '{ saleEvents(status: LIV) { totalCount } }' }),
      await post(router.url, {
        query: 'query ($f: ProductFilter) { products(filter: $f) { totalCount } }',
        variables: { f: { onSal: true } },
      }),
    ];
    for (const answer of answers) {
      expect(answer.status).toBe(400);
      expect(answer.text).not.toMatch(/did you mean/i);
    }
    expect(answers[0]!.body.errors![0]!.message).toBe('Cannot query field "produts" on type "Query".');
  });
});
