import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { dropTestDatabases, silentLogger, testDatabaseUrl } from '@bth/testkit';
import {
  createDatabase,
  ensureDatabase,
  insertUnlessDuplicate,
  lockConflictOf,
  runTransaction,
  unlessDuplicate,
  type DatabaseClient,
} from '../src/db.js';
import { AppError, LockConflictError, type LockConflict } from '../src/errors.js';

/** The transaction runner and the duplicate helper against the real MariaDB: real lock waits, a real deadlock. */
const url = testDatabaseUrl('transaction');
let database: DatabaseClient;
let other: DatabaseClient;

beforeAll(async () => {
  await ensureDatabase(url);
  // A 1 s lock wait bound, as services set theirs, so a blocked statement fails fast.
  database = createDatabase({ url, poolSize: 4, logger: silentLogger, lockWaitTimeoutSeconds: 1 });
  other = createDatabase({ url, poolSize: 4, logger: silentLogger, lockWaitTimeoutSeconds: 1 });
  await database.db.execute(sql`CREATE TABLE IF NOT EXISTS tx_probe (id INT PRIMARY KEY, n INT NOT NULL)`);
  await database.db.execute(sql`DELETE FROM tx_probe`);
  await database.db.execute(sql`INSERT INTO tx_probe (id, n) VALUES (1, 0), (2, 0)`);
});

afterAll(async () => {
  await database?.close();
  await other?.close();
  await dropTestDatabases();
});

/** Holds row `id` locked in another session until `release` resolves. */
async function holdRow(id: number) {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let locked!: () => void;
  const isLocked = new Promise<void>((resolve) => (locked = resolve));
  const done = other.db.transaction(async (tx) => {
    await tx.execute(sql`SELECT n FROM tx_probe WHERE id = ${id} FOR UPDATE`);
    locked();
    await released;
  });
  await isLocked;
  return {
    release: () => {
      release();
      return done;
    },
  };
}

describe('runTransaction', () => {
  it('commits what work did and returns its value', async () => {
    const value = await runTransaction(database.db, async (tx) => {
      await tx.execute(sql`UPDATE tx_probe SET n = n + 1 WHERE id = 1`);
      return 'done';
    });
    expect(value).toBe('done');
    const [rows] = (await database.pool.query('SELECT n FROM tx_probe WHERE id = 1')) as unknown as [[{ n: number }]];
    expect(rows[0]!.n).toBe(1);
  });

  it('answers a lock wait past the bound as the coded, retryable LOCK_TIMEOUT and rolls back', async () => {
    const holder = await holdRow(1);
    const seen: LockConflict[] = [];
    try {
      const error = await runTransaction(
        database.db,
        async (tx) => {
          await tx.execute(sql`UPDATE tx_probe SET n = n + 100 WHERE id = 2`);
          await tx.execute(sql`UPDATE tx_probe SET n = n + 100 WHERE id = 1`);
        },
        { onLockConflict: (conflict) => seen.push(conflict) },
      ).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LockConflictError);
      expect(error).toBeInstanceOf(AppError);
      expect((error as AppError).extensions).toMatchObject({ code: 'LOCK_TIMEOUT', retryable: true });
      expect((error as LockConflictError).conflict).toBe('timeout');
      expect(seen).toEqual(['timeout']);
    } finally {
      await holder.release();
    }
    const [rows] = (await database.pool.query('SELECT n FROM tx_probe WHERE id = 2')) as unknown as [[{ n: number }]];
    expect(rows[0]!.n).toBe(0);
  });

  it('answers a deadlock victim as LOCK_TIMEOUT, and runs it again when asked to', async () => {
    // Two transactions lock rows 1 and 2 in opposite orders: InnoDB rolls one of them back.
    async function collide(deadlockRetries: number) {
      const seen: LockConflict[] = [];
      let bothHaveFirst!: () => void;
      let arrived = 0;
      const barrier = new Promise<void>((resolve) => (bothHaveFirst = resolve));
      const meet = async () => {
        if (++arrived === 2) bothHaveFirst();
        await barrier;
      };
      let runs = 0;
      const results = await Promise.allSettled([
        runTransaction(
          database.db,
          async (tx) => {
            runs++;
            await tx.execute(sql`SELECT n FROM tx_probe WHERE id = 1 FOR UPDATE`);
            // The first run closes the cycle a moment after the other waits, so it is the victim
            // (InnoDB rolls back the transaction whose lock request completes the cycle).
            if (runs === 1) {
              await meet();
              await new Promise((resolve) => setTimeout(resolve, 100));
            }
            await tx.execute(sql`SELECT n FROM tx_probe WHERE id = 2 FOR UPDATE`);
            return 'a';
          },
          { deadlockRetries, onLockConflict: (c) => seen.push(c) },
        ),
        runTransaction(
          other.db,
          async (tx) => {
            await tx.execute(sql`SELECT n FROM tx_probe WHERE id = 2 FOR UPDATE`);
            await meet();
            await tx.execute(sql`SELECT n FROM tx_probe WHERE id = 1 FOR UPDATE`);
            return 'b';
          },
          { onLockConflict: (c) => seen.push(c) },
        ),
      ]);
      return { results, seen };
    }

    const once = await collide(0);
    expect(once.seen).toEqual(['deadlock']);
    expect(once.results[1]).toEqual({ status: 'fulfilled', value: 'b' });
    const failed = once.results[0] as PromiseRejectedResult;
    expect(failed.reason).toBeInstanceOf(LockConflictError);
    expect((failed.reason as LockConflictError).conflict).toBe('deadlock');

    // With one retry the victim runs again after the winner committed, and both succeed.
    const retried = await collide(1);
    expect(retried.seen).toEqual(['deadlock']);
    expect(retried.results).toEqual([
      { status: 'fulfilled', value: 'a' },
      { status: 'fulfilled', value: 'b' },
    ]);
  });

  it('rethrows anything that is not a lock conflict as it is', async () => {
    const boom = new Error('business rule');
    await expect(runTransaction(database.db, async () => Promise.reject(boom))).rejects.toBe(boom);
    expect(lockConflictOf(boom)).toBeUndefined();
  });
});

describe('insertUnlessDuplicate', () => {
  it('is true for the one insert that wins and false for every repeat', async () => {
    await database.db.execute(sql`CREATE TABLE IF NOT EXISTS dup_probe (k VARCHAR(20) PRIMARY KEY)`);
    await database.db.execute(sql`DELETE FROM dup_probe`);
    const insert = () => insertUnlessDuplicate(() => database.db.execute(sql`INSERT INTO dup_probe (k) VALUES ('one')`));
    const outcomes = await Promise.all([insert(), insert(), insert()]);
    expect(outcomes.filter(Boolean)).toHaveLength(1);
    expect(await unlessDuplicate(() => database.db.execute(sql`INSERT INTO dup_probe (k) VALUES ('one')`), 'DUPLICATE' as const)).toBe(
      'DUPLICATE',
    );
    // Another failure is not a duplicate.
    await expect(insertUnlessDuplicate(() => database.db.execute(sql`INSERT INTO no_such_table (k) VALUES ('x')`))).rejects.toThrow();
  });
});
