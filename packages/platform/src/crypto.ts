import { createCipheriv, createDecipheriv, createHmac, createSecretKey, randomBytes } from 'node:crypto';

/**
 * Personal data at rest: AES-256-GCM with a random 96-bit IV per value, so equal plaintexts give
 * different ciphertexts (the original's AES-ECB leaked equal values). Stored as
 * `v1.<iv>.<tag>.<ciphertext>` in base64url; the version lets us rotate keys later.
 * Shared by every subgraph that stores personal data (users' profile, orders' shipping address).
 */
export interface FieldCipher {
  encrypt(plain: string): string;
  decrypt(stored: string): string;
  /** Deterministic HMAC-SHA256 for lookups and uniqueness (the e-mail blind index). */
  blindIndex(value: string): string;
}

/** `blindIndexKey` is needed only by callers that look values up; without it `blindIndex` throws. */
export function createFieldCipher(keyBase64: string, blindIndexKey?: string): FieldCipher {
  const raw = Buffer.from(keyBase64, 'base64');
  if (raw.length !== 32) throw new Error('DATA_ENCRYPTION_KEY must be 32 bytes (base64)');
  // Imported once: given a Buffer, every cipher call would import the key again.
  const key = createSecretKey(raw);
  return {
    encrypt(plain) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const ct = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      return ['v1', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ct.toString('base64url')].join('.');
    },
    decrypt(stored) {
      const [version, iv, tag, ct] = stored.split('.');
      if (version !== 'v1' || !iv || !tag || ct === undefined) throw new Error('Unknown ciphertext format');
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString('utf8');
    },
    blindIndex(value) {
      if (!blindIndexKey) throw new Error('This cipher was created without a blind index key');
      return createHmac('sha256', blindIndexKey).update(value).digest('hex');
    },
  };
}
