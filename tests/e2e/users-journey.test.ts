import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignJWT } from 'jose';
import { DEV_SECRET } from '@bth/platform/env';
import { IDENTITY_HEADER, signAccessToken, signIdentityAssertion } from '@bth/platform/identity';
import { errorCodes, graphql } from '@bth/testkit';
import { PASSWORD, startStack, type Stack } from '../support/stack.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ only: ['users'] });
});
afterAll(async () => {
  await stack?.stop();
});

const ME = `{ me { id email nickname } }`;

describe('sign-up journey through the router', () => {
  it('When a member signs up, logs in, refreshes and logs out, then each step works and the old tokens stop working', async () => {
    const email = `journey-${randomUUID().slice(0, 8)}@example.com`;
    const requested = await stack.gql(
      `mutation($e: String!) { requestEmailVerification(email: $e) { email expiresInSeconds resendAfterSeconds } }`,
      { e: email },
    );
    expect(requested.data!.requestEmailVerification).toEqual({ email, expiresInSeconds: 180, resendAfterSeconds: 60 });
    const code = await stack.lastCode(email);
    expect(code).toMatch(/^\d{6}$/);
    const verified = await stack.gql(`mutation($e: String!, $c: String!) { verifyEmail(email: $e, code: $c) { verificationToken } }`, {
      e: email,
      c: code,
    });
    const proof = verified.data!.verifyEmail.verificationToken as string;
    // The code is consumed: using it again fails.
    const again = await stack.gql(`mutation($e: String!, $c: String!) { verifyEmail(email: $e, code: $c) { verificationToken } }`, {
      e: email,
      c: code,
    });
    expect(errorCodes(again)).toEqual(['BAD_USER_INPUT']);

    const signUp = await stack.gql(`mutation($input: SignUpInput!) { signUp(input: $input) { id email nickname role } }`, {
      input: {
        verificationToken: proof,
        email,
        password: PASSWORD,
        name: 'Journey Kim',
        nickname: 'journey',
        phone: '01098765432',
        postalCode: '04524',
        address: 'Sejong-daero 110',
      },
    });
    expect(signUp.errors).toBeUndefined();
    const userId = signUp.data!.signUp.id as string;
    // The proof is single-use too.
    const reuse = await stack.gql(`mutation($input: SignUpInput!) { signUp(input: $input) { id } }`, {
      input: {
        verificationToken: proof,
        email,
        password: PASSWORD,
        name: 'Journey Kim',
        nickname: 'journey',
        phone: '01098765432',
        postalCode: '04524',
        address: 'Sejong-daero 110',
      },
    });
    expect(errorCodes(reuse)).toEqual(['BAD_USER_INPUT']);

    const login = await stack.login(email);
    const me = await stack.gql(ME, {}, login.accessToken);
    expect(me.data!.me).toEqual({ id: userId, email, nickname: 'journey' });

    const refreshed = await stack.gql(`mutation($t: String!) { refreshSession(refreshToken: $t) { accessToken refreshToken } }`, {
      t: login.refreshToken,
    });
    expect(refreshed.errors).toBeUndefined();
    const { accessToken, refreshToken } = refreshed.data!.refreshSession;
    expect((await stack.gql(ME, {}, accessToken)).data!.me.id).toBe(userId);

    const logout = await stack.gql(`mutation { logout }`, {}, accessToken);
    expect(logout.data).toEqual({ logout: true });
    const refusedRefresh = await stack.gql(`mutation($t: String!) { refreshSession(refreshToken: $t) { accessToken } }`, {
      t: refreshToken,
    });
    expect(errorCodes(refusedRefresh)).toEqual(['UNAUTHENTICATED']);
    // The access token of the ended session is refused at once, not after 15 minutes.
    const afterLogout = await stack.gql(ME, {}, accessToken);
    expect(afterLogout.status).toBe(401);
    expect(afterLogout.errors![0]!.extensions!.reason).toBe('SESSION_REVOKED');
  });

  it('When a member signs up, then the raw users table holds no readable e-mail, name, phone or address', async () => {
    const member = await stack.signUp();
    const db = await stack.database('users');
    try {
      const [rows] = (await db.query('SELECT * FROM users WHERE id = ?', [member.userId])) as unknown as [Record<string, unknown>[]];
      expect(rows).toHaveLength(1);
      const raw = JSON.stringify(rows[0]);
      for (const plain of [member.email, 'Test Member', '01012345678', '06236', 'Teheran-ro']) expect(raw).not.toContain(plain);
    } finally {
      await db.end();
    }
    const me = await stack.gql(`{ me { email name phone address { postalCode address } } }`, {}, member.accessToken);
    expect(me.data!.me).toEqual({
      email: member.email,
      name: 'Test Member',
      phone: '01012345678',
      address: { postalCode: '06236', address: 'Teheran-ro 123' },
    });
    expect(JSON.stringify(me)).not.toMatch(/scrypt|password/i);
  });

  it('When every sign-up field is invalid, then each gets a coded error and no row is written', async () => {
    const db = await stack.database('users');
    const count = async () => ((await db.query('SELECT COUNT(*) AS n FROM users')) as unknown as [[{ n: number }]])[0][0].n;
    try {
      const before = await count();
      const response = await stack.gql(`mutation($input: SignUpInput!) { signUp(input: $input) { id } }`, {
        input: {
          verificationToken: 'x',
          email: 'nope',
          password: 'abc',
          name: '',
          nickname: '',
          phone: '123',
          postalCode: 'abcde',
          address: '',
        },
      });
      expect(response.data).toBeNull();
      expect(errorCodes(response)).toEqual(['BAD_USER_INPUT']);
      const fields = (response.errors![0]!.extensions!.fieldErrors as { field: string }[]).map((f) => f.field);
      expect(new Set(fields)).toEqual(new Set(['email', 'password', 'name', 'nickname', 'phone', 'postalCode', 'address']));
      expect(await count()).toBe(before);
    } finally {
      await db.end();
    }
  });
});

describe('token checks at the router', () => {
  const expectRefused = async (token: string) => {
    const response = await stack.gql(ME, {}, token);
    expect(response.status).toBe(401);
    expect(errorCodes(response)).toEqual(['UNAUTHENTICATED']);
    expect(response.data ?? null).toBeNull();
  };

  it('When the token is tampered with, then UNAUTHENTICATED', async () => {
    const member = await stack.signUp();
    const [header, payload, signature] = member.accessToken.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
    const forged = Buffer.from(JSON.stringify({ ...claims, role: 'ADMIN' })).toString('base64url');
    await expectRefused(`${header}.${forged}.${signature}`);
  });

  it('When the token has expired, then UNAUTHENTICATED with reason TOKEN_EXPIRED', async () => {
    const member = await stack.signUp();
    const expired = await new SignJWT({ role: 'USER', sid: randomUUID(), token_use: 'access' })
      .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' })
      .setSubject(member.userId)
      .setIssuer('bth-users')
      .setAudience('bth-api')
      .setIssuedAt(Math.floor(Date.now() / 1000) - 3600)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
      .sign(new TextEncoder().encode(DEV_SECRET));
    await expectRefused(expired);
    expect((await stack.gql(ME, {}, expired)).errors![0]!.extensions!.reason).toBe('TOKEN_EXPIRED');
  });

  it('When the token uses alg none, then UNAUTHENTICATED', async () => {
    const member = await stack.signUp();
    const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt' })).toString('base64url');
    const body = Buffer.from(
      JSON.stringify({
        sub: member.userId,
        role: 'ADMIN',
        sid: 's',
        token_use: 'access',
        iss: 'bth-users',
        aud: 'bth-api',
        exp: Math.floor(Date.now() / 1000) + 600,
      }),
    ).toString('base64url');
    await expectRefused(`${header}.${body}.`);
  });

  it('When a refresh token is sent as an access token, then UNAUTHENTICATED', async () => {
    const member = await stack.signUp();
    await expectRefused(member.refreshToken);
  });

  it('When a token is signed with another key, then UNAUTHENTICATED', async () => {
    const forged = await signAccessToken(
      'another-secret-another-secret-another-secret',
      { userId: randomUUID(), role: 'ADMIN', sessionId: 's' },
      600,
    );
    await expectRefused(forged);
  });

  it('When a subgraph is called directly with forged identity, then it acts for nobody', async () => {
    const member = await stack.signUp();
    const users = stack.service('users').url;
    const forgedHeaders: Array<Record<string, string>> = [
      { 'x-user-id': member.userId, 'x-user-role': 'ADMIN' },
      {
        [IDENTITY_HEADER]: await signIdentityAssertion('wrong-secret-wrong-secret-wrong-secret-00', {
          userId: member.userId,
          role: 'ADMIN',
          sessionId: 's',
        }),
      },
      // A user's own access token is not an identity assertion.
      { [IDENTITY_HEADER]: member.accessToken, authorization: `Bearer ${member.accessToken}` },
    ];
    for (const headers of forgedHeaders) {
      const me = await graphql(users, ME, {}, headers);
      expect(me.data).toEqual({ me: null });
      const update = await graphql(users, `mutation { updateProfile(input: { phone: "01000000000" }) { id } }`, {}, headers);
      expect(errorCodes(update)).toEqual(['UNAUTHENTICATED']);
    }
  });
});

describe('operation limits and error hygiene', () => {
  it('When the body is larger than the limit, then PAYLOAD_TOO_LARGE and nothing runs', async () => {
    const response = await stack.gql(`{ me { id } } # ${'x'.repeat(70 * 1024)}`);
    expect(response.status).toBe(413);
    expect(errorCodes(response)).toEqual(['PAYLOAD_TOO_LARGE']);
  });

  it('When the query is too deep, then OPERATION_LIMIT_EXCEEDED before validation', async () => {
    let selection = 'id';
    for (let i = 0; i < 12; i++) selection = `me { ${selection} }`;
    const response = await stack.gql(`{ ${selection} }`);
    expect(response.status).toBe(400);
    expect(errorCodes(response)).toEqual(['OPERATION_LIMIT_EXCEEDED']);
    expect(response.errors![0]!.extensions).toMatchObject({ limit: 'depth', max: 10 });
  });

  it('When a query uses too many aliases, then OPERATION_LIMIT_EXCEEDED', async () => {
    const fields = Array.from({ length: 31 }, (_, i) => `a${i}: me { id }`).join(' ');
    const response = await stack.gql(`{ ${fields} }`);
    expect(errorCodes(response)).toEqual(['OPERATION_LIMIT_EXCEEDED']);
    expect(response.errors![0]!.extensions).toMatchObject({ limit: 'aliases', max: 30 });
  });

  it('When a batch carries too many operations, then OPERATION_LIMIT_EXCEEDED; a small batch works', async () => {
    const post = (body: unknown) =>
      fetch(stack.routerUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const tooMany = await post(Array.from({ length: 6 }, () => ({ query: '{ me { id } }' })));
    expect(tooMany.status).toBe(400);
    expect(((await tooMany.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe(
      'OPERATION_LIMIT_EXCEEDED',
    );
    const fine = await post([{ query: '{ me { id } }' }, { query: '{ me { id } }' }]);
    expect(await fine.json()).toEqual([{ data: { me: null } }, { data: { me: null } }]);
  });

  it('When requests are malformed, then coded errors without stack traces', async () => {
    const raw = (body: string, contentType = 'application/json') =>
      fetch(stack.routerUrl, { method: 'POST', headers: { 'content-type': contentType }, body }).then(async (r) => ({
        status: r.status,
        text: await r.text(),
      }));
    const cases = [
      await raw('{ not json'),
      await raw(JSON.stringify({ query: '{ me { ' })),
      await raw(JSON.stringify({ query: '{ nope }' })),
      await raw(JSON.stringify({ query: 'mutation { login(email: 1) { accessToken } }' })),
      await raw('query=%7Bme%7Bid%7D%7D', 'application/x-www-form-urlencoded'),
    ];
    for (const { status, text } of cases) {
      expect(status).toBeGreaterThanOrEqual(400);
      expect(text).not.toMatch(/stacktrace|\n\s+at |node_modules/);
      const body = JSON.parse(text) as { errors: { extensions?: { code?: string } }[] };
      expect(body.errors[0]!.extensions?.code).toMatch(/^[A-Z_]+$/);
    }
  });

  it('When Apollo Sandbox calls from its origin, then CORS allows it and introspection works in development', async () => {
    const preflight = await fetch(stack.routerUrl, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://studio.apollographql.com',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,authorization',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://studio.apollographql.com');
    const introspection = await stack.gql(`{ __schema { queryType { name } } }`);
    expect(introspection.data).toEqual({ __schema: { queryType: { name: 'Query' } } });
    const landing = await fetch(stack.routerUrl, { headers: { accept: 'text/html' } });
    expect(landing.status).toBe(200);
    expect(await landing.text()).toMatch(/apollo/i);
  });
});
