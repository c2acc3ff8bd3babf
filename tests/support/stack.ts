import { randomBytes, randomUUID } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';
import { Redis } from 'ioredis';
import { graphql, type GraphQLResponse } from '@bth/testkit';
// The same launcher `npm start` uses, so the tests exercise the real start-up path.
import { ROOT, startStack as launch } from '../../scripts/stack.mjs';

const run = promisify(execFile);

export interface StackOptions {
  /** Environment for every service. */
  env?: Record<string, string>;
  /** Extra environment per service (`users`, `products`, `orders`, `wishlists`, `events`, `router`). */
  envFor?: Record<string, Record<string, string>>;
  productsReplicas?: number;
  only?: string[];
}

export interface Member {
  userId: string;
  email: string;
  password: string;
  accessToken: string;
  refreshToken: string;
}

export interface ServiceHandle {
  name: string;
  index: number;
  url: string;
  base: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  kill(): Promise<void>;
}

export const PASSWORD = 'Secr3t!pass';

/**
 * A whole supergraph for one test file: every service as a child process on free ports, with
 * databases, Redis keys and an exchange of its own. Logs are kept and written to
 * `tests/.reports/logs/` when the stack stops, for reading after a failure.
 */
export async function startStack(options: StackOptions = {}) {
  const runId = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  const databasePrefix = `bth_e2e_${runId}`;
  const redisPrefix = `bth-e2e:${runId}:`;
  const logs: string[] = [];
  const stack = await launch({
    databasePrefix,
    productsReplicas: options.productsReplicas,
    only: options.only,
    env: {
      NODE_ENV: 'development',
      LOG_LEVEL: 'info',
      REDIS_KEY_PREFIX: redisPrefix,
      AMQP_EXCHANGE: `bth-e2e.${runId}`,
      ...options.env,
    },
    envFor: options.envFor,
    onLog: (label: string, line: string) => {
      logs.push(`${label} ${line}`);
    },
  });

  const gql = <T = Record<string, any>>(query: string, variables: Record<string, unknown> = {}, accessToken?: string): Promise<GraphQLResponse<T>> =>
    graphql<T>(stack.routerUrl, query, variables, accessToken ? { authorization: `Bearer ${accessToken}` } : {});

  async function lastCode(email: string): Promise<string> {
    const response = await fetch(`${stack.service('users').base}/dev/mailbox?email=${encodeURIComponent(email)}`);
    const body = (await response.json()) as { code?: string };
    if (!body.code) throw new Error(`no verification code for ${email}`);
    return body.code;
  }

  async function login(email: string, password = PASSWORD) {
    const response = await gql(`mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken refreshToken user { id } } }`, {
      e: email,
      p: password,
    });
    if (response.errors) throw new Error(`login failed: ${JSON.stringify(response.errors)}`);
    return response.data!.login as { accessToken: string; refreshToken: string; user: { id: string } };
  }

  /** The whole verified sign-up journey through the router, then a login. */
  async function signUp(overrides: Partial<{ email: string; nickname: string }> = {}): Promise<Member> {
    const email = overrides.email ?? `e2e-${randomUUID().slice(0, 12)}@example.com`;
    const requested = await gql(`mutation($e: String!) { requestEmailVerification(email: $e) { email } }`, { e: email });
    if (requested.errors) throw new Error(`requestEmailVerification failed: ${JSON.stringify(requested.errors)}`);
    const verified = await gql(`mutation($e: String!, $c: String!) { verifyEmail(email: $e, code: $c) { verificationToken } }`, {
      e: email,
      c: await lastCode(email),
    });
    if (verified.errors) throw new Error(`verifyEmail failed: ${JSON.stringify(verified.errors)}`);
    const created = await gql(`mutation($input: SignUpInput!) { signUp(input: $input) { id } }`, {
      input: {
        verificationToken: verified.data!.verifyEmail.verificationToken,
        email,
        password: PASSWORD,
        name: 'Test Member',
        nickname: overrides.nickname ?? 'tester',
        phone: '01012345678',
        postalCode: '06236',
        address: 'Teheran-ro 123',
      },
    });
    if (created.errors) throw new Error(`signUp failed: ${JSON.stringify(created.errors)}`);
    const tokens = await login(email);
    return { userId: created.data!.signUp.id, email, password: PASSWORD, accessToken: tokens.accessToken, refreshToken: tokens.refreshToken };
  }

  /** Signs up `count` members, a few at a time (scrypt makes each sign-up cost ~100 ms of CPU). */
  async function signUpMany(count: number, concurrency = 8): Promise<Member[]> {
    const members: Member[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < count) {
          next += 1;
          members.push(await signUp());
        }
      }),
    );
    return members;
  }

  /** A member made admin with the documented `create-admin` script, then logged in again. */
  async function signUpAdmin(): Promise<Member> {
    const member = await signUp({ nickname: 'admin' });
    await run(process.execPath, [join(ROOT, 'subgraphs/users/dist/scripts/create-admin.js'), member.email], {
      env: { ...process.env, DATABASE_URL: stack.databaseUrl('users'), LOG_LEVEL: 'warn' },
    });
    const tokens = await login(member.email);
    return { ...member, accessToken: tokens.accessToken, refreshToken: tokens.refreshToken };
  }

  async function cleanUp() {
    const conn = await mysql.createConnection({ socketPath: '/run/mysqld/mysqld.sock', user: 'root' });
    try {
      const [rows] = (await conn.query(`SHOW DATABASES LIKE '${databasePrefix.replace(/_/g, '\\_')}\\_%'`)) as unknown as [Record<string, string>[]];
      for (const row of rows) await conn.query(`DROP DATABASE IF EXISTS \`${Object.values(row)[0]}\``);
    } finally {
      await conn.end();
    }
    const redis = new Redis('redis://127.0.0.1:6379', { lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await redis.connect();
      let cursor = '0';
      do {
        const [nextCursor, keys] = await redis.scan(cursor, 'MATCH', `${redisPrefix}*`, 'COUNT', 500);
        cursor = nextCursor;
        if (keys.length) await redis.del(...keys);
      } while (cursor !== '0');
    } catch {
      // Redis may be stopped by a fault test; leftover keys of a test run are harmless.
    } finally {
      redis.disconnect();
    }
  }

  return {
    runId,
    routerUrl: stack.routerUrl as string,
    logs,
    gql,
    login,
    signUp,
    signUpMany,
    signUpAdmin,
    lastCode,
    databaseUrl: stack.databaseUrl as (service: string) => string,
    service: stack.service as (name: string, index?: number) => ServiceHandle,
    instances: stack.instances as ServiceHandle[],
    /** Opens a connection to one service's database (for assertions on raw rows). */
    async database(service: string) {
      return mysql.createConnection({ socketPath: '/run/mysqld/mysqld.sock', user: 'root', database: `${databasePrefix}_${service}` });
    },
    async stop() {
      await stack.stop();
      const dir = join(ROOT, 'tests', '.reports', 'logs');
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `${runId}.log`), `${logs.join('\n')}\n`);
      await cleanUp();
    },
  };
}

export type Stack = Awaited<ReturnType<typeof startStack>>;
