import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { readIdentityAssertion, signIdentityAssertion, type Identity } from './identity.js';
import { createAssertionReader } from './subgraph.js';

const SECRET = 'subgraph-test-secret-0123456789abcdef';
const identity: Identity = { userId: randomUUID(), role: 'USER', sessionId: randomUUID() };

/** A reader whose verifications are counted, on a clock the test moves. */
function countingReader() {
  const clock = { ms: Date.now() };
  const calls = { n: 0 };
  const read = createAssertionReader(SECRET, {
    now: () => clock.ms,
    verify: (secret, header) => {
      calls.n++;
      return readIdentityAssertion(secret, header);
    },
  });
  return { read, clock, calls };
}

describe('identity assertions at a subgraph', () => {
  it('When the same assertion arrives again, then it is not verified again', async () => {
    const { read, calls } = countingReader();
    const token = await signIdentityAssertion(SECRET, identity);
    expect(await read(token)).toEqual(identity);
    expect(await read(token)).toEqual(identity);
    expect(await read(token)).toEqual(identity);
    expect(calls.n).toBe(1);
  });

  it('When a remembered assertion reaches its exp, then it is verified again rather than answered from memory', async () => {
    const { read, clock, calls } = countingReader();
    const token = await signIdentityAssertion(SECRET, identity);
    expect(await read(token)).toEqual(identity);
    const exp = (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { exp: number }).exp;
    clock.ms = exp * 1000;
    // The real clock has not reached exp, so the verifier still accepts it: what matters is that
    // the cache let go of it at exp by its own clock and asked again.
    await read(token);
    expect(calls.n).toBe(2);
  });

  it('When an assertion is forged or signed with another secret, then it is anonymous every time and never remembered', async () => {
    const { read, calls } = countingReader();
    const forged = await signIdentityAssertion('another-secret-0123456789abcdefghijkl', identity);
    expect(await read(forged)).toBeNull();
    expect(await read(forged)).toBeNull();
    expect(await read('not-a-jwt')).toBeNull();
    expect(await read(undefined)).toBeNull();
    expect(calls.n).toBe(3);
  });
});
