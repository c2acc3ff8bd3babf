import { timestampColumn } from '@bth/platform/db';
import { char, mysqlEnum, mysqlTable, varchar, index } from 'drizzle-orm/mysql-core';

/**
 * Personal data columns (`*_enc`) hold AES-256-GCM ciphertext (see crypto.ts), never plaintext.
 * `email_index` is an HMAC blind index: equal e-mails give equal indexes, so we can look a user
 * up and enforce uniqueness without being able to read the address from the database.
 */
export const users = mysqlTable('users', {
  id: char('id', { length: 36 }).primaryKey(),
  emailIndex: char('email_index', { length: 64 }).notNull().unique(),
  emailEnc: varchar('email_enc', { length: 512 }).notNull(),
  passwordHash: varchar('password_hash', { length: 255 }).notNull(),
  nameEnc: varchar('name_enc', { length: 512 }).notNull(),
  nickname: varchar('nickname', { length: 30 }).notNull(),
  phoneEnc: varchar('phone_enc', { length: 512 }).notNull(),
  postalCodeEnc: varchar('postal_code_enc', { length: 512 }).notNull(),
  addressEnc: varchar('address_enc', { length: 1024 }).notNull(),
  role: mysqlEnum('role', ['USER', 'ADMIN']).notNull().default('USER'),
  createdAt: timestampColumn('created_at').notNull(),
  updatedAt: timestampColumn('updated_at').notNull(),
});

/** A login session: one refresh-token family. Revoking it ends every token of the family. */
export const sessions = mysqlTable(
  'sessions',
  {
    id: char('id', { length: 36 }).primaryKey(),
    userId: char('user_id', { length: 36 }).notNull(),
    createdAt: timestampColumn('created_at').notNull(),
    expiresAt: timestampColumn('expires_at').notNull(),
    revokedAt: timestampColumn('revoked_at'),
  },
  (t) => [index('sessions_user_idx').on(t.userId), index('sessions_revoked_idx').on(t.revokedAt)],
);

/** Each refresh token issued, stored as a SHA-256 hash; `used_at` set when it is rotated. */
export const refreshTokens = mysqlTable(
  'refresh_tokens',
  {
    id: char('id', { length: 36 }).primaryKey(),
    sessionId: char('session_id', { length: 36 }).notNull(),
    tokenHash: char('token_hash', { length: 64 }).notNull(),
    createdAt: timestampColumn('created_at').notNull(),
    usedAt: timestampColumn('used_at'),
  },
  (t) => [index('refresh_tokens_session_idx').on(t.sessionId)],
);

export type UserRow = typeof users.$inferSelect;
