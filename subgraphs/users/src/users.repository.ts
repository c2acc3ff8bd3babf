import { and, eq, gte, inArray, isNull, sql } from 'drizzle-orm';
import { insertUnlessDuplicate, runTransaction, type Database } from '@bth/platform/db';
import { refreshTokens, sessions, users, type UserRow } from './db/schema.js';

/** The only place in `users` that speaks SQL. Returns plain rows; decryption happens in the service. */
export function createUsersRepository(db: Database) {
  // `me` and most entity lookups ask for one user: that statement is built once, not per request
  // (drizzle's query building was ~6 % of a `me`).
  const byId = db
    .select()
    .from(users)
    .where(eq(users.id, sql.placeholder('id')))
    .prepare();
  return {
    async insertUser(row: UserRow): Promise<{ ok: true } | { ok: false; reason: 'EMAIL_TAKEN' }> {
      const inserted = await insertUnlessDuplicate(() => db.insert(users).values(row));
      return inserted ? { ok: true } : { ok: false, reason: 'EMAIL_TAKEN' };
    },

    async findByEmailIndex(emailIndex: string): Promise<UserRow | undefined> {
      const [row] = await db.select().from(users).where(eq(users.emailIndex, emailIndex)).limit(1);
      return row;
    },

    async existsByEmailIndex(emailIndex: string): Promise<boolean> {
      const [row] = await db.select({ id: users.id }).from(users).where(eq(users.emailIndex, emailIndex)).limit(1);
      return row !== undefined;
    },

    async findById(id: string): Promise<UserRow | undefined> {
      const [row] = await db.select().from(users).where(eq(users.id, id)).limit(1);
      return row;
    },

    async findByIds(ids: readonly string[]): Promise<UserRow[]> {
      if (ids.length === 0) return [];
      if (ids.length === 1) return byId.execute({ id: ids[0] });
      return db
        .select()
        .from(users)
        .where(inArray(users.id, [...ids]));
    },

    async updateProfile(id: string, fields: Partial<Pick<UserRow, 'phoneEnc' | 'postalCodeEnc' | 'addressEnc'>>, now: Date) {
      await db
        .update(users)
        .set({ ...fields, updatedAt: now })
        .where(eq(users.id, id));
    },

    /** Changes the password and revokes every session of the user in one transaction; returns their ids. */
    async changePasswordAndRevokeSessions(id: string, passwordHash: string, now: Date): Promise<string[]> {
      return runTransaction(db, async (tx) => {
        const active = and(eq(sessions.userId, id), isNull(sessions.revokedAt));
        const open = await tx.select({ id: sessions.id }).from(sessions).where(active).for('update');
        await tx.update(users).set({ passwordHash, updatedAt: now }).where(eq(users.id, id));
        await tx.update(sessions).set({ revokedAt: now }).where(active);
        return open.map((s) => s.id);
      });
    },

    async setRole(emailIndex: string, role: UserRow['role'], now: Date): Promise<boolean> {
      const [result] = await db.update(users).set({ role, updatedAt: now }).where(eq(users.emailIndex, emailIndex));
      return result.affectedRows === 1;
    },

    async createSession(session: typeof sessions.$inferInsert, token: typeof refreshTokens.$inferInsert) {
      await runTransaction(db, async (tx) => {
        await tx.insert(sessions).values(session);
        await tx.insert(refreshTokens).values(token);
      });
    },

    async findSession(id: string) {
      const [row] = await db.select().from(sessions).where(eq(sessions.id, id)).limit(1);
      return row;
    },

    async findRefreshToken(id: string) {
      const [row] = await db.select().from(refreshTokens).where(eq(refreshTokens.id, id)).limit(1);
      return row;
    },

    /**
     * Rotation: marks the presented token used, stores its successor and moves the session's
     * expiry to `sessionExpiresAt`, atomically. The conditional update (`used_at IS NULL`) makes
     * two concurrent refreshes with one token impossible: exactly one of them sees
     * affectedRows = 1, and only that one extends the session.
     */
    async rotateRefreshToken(usedId: string, next: typeof refreshTokens.$inferInsert, now: Date, sessionExpiresAt: Date): Promise<boolean> {
      return runTransaction(db, async (tx) => {
        const [result] = await tx
          .update(refreshTokens)
          .set({ usedAt: now })
          .where(and(eq(refreshTokens.id, usedId), isNull(refreshTokens.usedAt)));
        if (result.affectedRows !== 1) return false;
        await tx.insert(refreshTokens).values(next);
        await tx.update(sessions).set({ expiresAt: sessionExpiresAt }).where(eq(sessions.id, next.sessionId));
        return true;
      });
    },

    /** Sessions revoked at or after `since` (the revocations the Redis cache must hold). */
    async findRevokedSince(since: Date): Promise<Array<{ id: string; revokedAt: Date }>> {
      const rows = await db.select({ id: sessions.id, revokedAt: sessions.revokedAt }).from(sessions).where(gte(sessions.revokedAt, since));
      return rows.flatMap((row) => (row.revokedAt ? [{ id: row.id, revokedAt: row.revokedAt }] : []));
    },

    async findSessionRevocations(ids: readonly string[]): Promise<Array<{ id: string; revokedAt: Date | null }>> {
      if (ids.length === 0) return [];
      return db
        .select({ id: sessions.id, revokedAt: sessions.revokedAt })
        .from(sessions)
        .where(inArray(sessions.id, [...ids]));
    },

    async revokeSession(id: string, now: Date) {
      await db
        .update(sessions)
        .set({ revokedAt: now })
        .where(and(eq(sessions.id, id), isNull(sessions.revokedAt)));
    },
  };
}

export type UsersRepository = ReturnType<typeof createUsersRepository>;
