import { describe, expect, it } from 'vitest';
import { createFieldCipher } from './crypto.js';

const cipher = createFieldCipher(Buffer.alloc(32, 1).toString('base64'), 'blind-index-key-blind-index-key-00');

describe('field cipher', () => {
  it('round-trips, and equal plaintexts give different ciphertexts (random IV)', () => {
    const a = cipher.encrypt('01012345678');
    const b = cipher.encrypt('01012345678');
    expect(a).not.toBe(b);
    expect(a).not.toContain('01012345678');
    expect(cipher.decrypt(a)).toBe('01012345678');
  });

  it('refuses a tampered ciphertext (GCM authentication)', () => {
    const [v, iv, tag, ct] = cipher.encrypt('secret').split('.');
    const flipped = Buffer.from(ct!, 'base64url');
    flipped[0] = flipped[0]! ^ 1;
    expect(() => cipher.decrypt([v, iv, tag, flipped.toString('base64url')].join('.'))).toThrow();
  });

  it('gives a stable blind index per value, different per key', () => {
    const other = createFieldCipher(Buffer.alloc(32, 1).toString('base64'), 'another-blind-index-key-0000000000');
    expect(cipher.blindIndex('a@b.com')).toBe(cipher.blindIndex('a@b.com'));
    expect(cipher.blindIndex('a@b.com')).not.toBe(other.blindIndex('a@b.com'));
  });

  it('rejects a key that is not 32 bytes', () => {
    expect(() => createFieldCipher(Buffer.alloc(16).toString('base64'))).toThrow(/32 bytes/);
  });
});
