import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import mysql, { type Pool, type PoolOptions } from 'mysql2/promise';
import { datetime } from 'drizzle-orm/mysql-core';
import { drizzle, type MySql2Database } from 'drizzle-orm/mysql2';
import { createLogger, type Logger, type LogLevel } from './logger.js';
import { requireDependency, runMain } from './service.js';
import { findInCauses } from './causes.js';
import { LockConflictError, type LockConflict } from './errors.js';

export type Database = MySql2Database<Record<string, never>>;
/** The handle `db.transaction(work)` passes to `work`. */
export type Transaction = Parameters<Parameters<Database['transaction']>[0]>[0];

/** A migration that ships with shared code (platform) rather than in a service's `drizzle/` folder. */
export interface Migration {
  name: string;
  statements: string[];
}

export interface DatabaseClient {
  pool: Pool;
  db: Database;
  /** Readiness probe: a round trip to the server. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  url: string;
  poolSize: number;
  logger: Logger;
  /**
   * Upper bound on how long one statement waits for a row lock, in seconds. The InnoDB default
   * (50 s) would let a hot product queue buyers for most of a minute; a few seconds then a coded,
   * retryable LOCK_TIMEOUT is the better answer under a flash sale.
   */
  lockWaitTimeoutSeconds?: number;
  /**
   * MariaDB ends a connection that sits this long inside an open transaction (`idle_transaction_timeout`),
   * which rolls it back and frees its row locks. For services whose transactions never wait on
   * anything but the database: a process frozen mid-transaction (SIGSTOP, a stalled VM) would
   * otherwise hold its rows until it resumes, and every buyer of those products would queue behind it.
   */
  idleTransactionTimeoutSeconds?: number;
}

/**
 * A DATETIME(3) column read and written as a JS `Date`: every time is stored in UTC (the pool's
 * `timezone: 'Z'`) with milliseconds, the same in every service's tables.
 */
export const timestampColumn = (name: string) => datetime(name, { mode: 'date', fsp: 3 });

/** Splits `mysql://…/name?…` into the server URL (no database) and the database name. */
export function parseDatabaseUrl(url: string): { serverUrl: string; database: string } {
  const parsed = new URL(url);
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (!/^[A-Za-z0-9_]+$/.test(database)) throw new Error(`DATABASE_URL must name a database of [A-Za-z0-9_]: got "${database}"`);
  parsed.pathname = '/';
  return { serverUrl: parsed.toString(), database };
}

function poolOptions(url: string, extra: PoolOptions = {}): PoolOptions {
  const parsed = new URL(url);
  const socketPath = parsed.searchParams.get('socketPath') ?? undefined;
  return {
    host: socketPath ? undefined : parsed.hostname,
    port: parsed.port ? Number(parsed.port) : 3306,
    socketPath,
    user: decodeURIComponent(parsed.username) || 'root',
    password: decodeURIComponent(parsed.password) || undefined,
    database: decodeURIComponent(parsed.pathname.replace(/^\//, '')) || undefined,
    // All times are stored and read as UTC; DATETIME columns carry no zone of their own.
    timezone: 'Z',
    // BIGINT counts (stock, money in KRW) stay well below 2^53; numbers are easier to use than strings.
    supportBigNumbers: true,
    bigNumberStrings: false,
    // A fresh connection that cannot be made in 5 s means the server is down; fail, don't hang.
    connectTimeout: 5_000,
    ...extra,
  };
}

/** Creates the database named in the URL if it does not exist yet (idempotent). */
export async function ensureDatabase(url: string): Promise<void> {
  const { database } = parseDatabaseUrl(url);
  const conn = await mysql.createConnection({ ...poolOptions(url), database: undefined });
  try {
    await conn.query(`CREATE DATABASE IF NOT EXISTS \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  } finally {
    await conn.end();
  }
}

export function createDatabase(options: DatabaseOptions): DatabaseClient {
  const pool = mysql.createPool(
    poolOptions(options.url, {
      connectionLimit: options.poolSize,
      // Queue instead of failing when all connections are busy; the lock timeout bounds the wait.
      waitForConnections: true,
      queueLimit: 0,
      enableKeepAlive: true,
    }),
  );
  const lockWait = options.lockWaitTimeoutSeconds;
  const idleInTransaction = options.idleTransactionTimeoutSeconds;
  pool.on('connection', (conn) => {
    // Raw callback connection here; settings apply to the session for the connection's lifetime.
    const core = conn as unknown as { query(sql: string): void };
    core.query('SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED');
    if (lockWait !== undefined) core.query(`SET SESSION innodb_lock_wait_timeout = ${Math.max(1, Math.floor(lockWait))}`);
    if (idleInTransaction !== undefined) core.query(`SET SESSION idle_transaction_timeout = ${Math.max(1, Math.floor(idleInTransaction))}`);
  });
  const db = drizzle({ client: pool }) as Database;
  return {
    pool,
    db,
    async ping() {
      await pool.query('SELECT 1');
    },
    async close() {
      await pool.end();
    },
  };
}

/**
 * Applies `*.sql` files from a folder in name order, once each, recording them in
 * `_migrations`. A named lock makes concurrent starts (two replicas, `npm start` and a test run)
 * wait for each other instead of racing. Statements inside a file are separated by
 * `--> statement-breakpoint` (drizzle-kit's marker) or stand alone. `shared` migrations (tables
 * that platform code owns, such as the outbox) are applied first, also once each.
 */
export async function migrate(client: DatabaseClient, folder: string, logger: Logger, shared: Migration[] = []): Promise<string[]> {
  const conn = await client.pool.getConnection();
  const applied: string[] = [];
  try {
    const [[lock]] = (await conn.query(`SELECT GET_LOCK(CONCAT('migrate:', DATABASE()), 30) AS ok`)) as unknown as [[{ ok: number }]];
    if (lock?.ok !== 1) throw new Error('Timed out waiting for the migration lock');
    try {
      await conn.query(
        `CREATE TABLE IF NOT EXISTS _migrations (name VARCHAR(255) PRIMARY KEY, applied_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3))`,
      );
      const [rows] = (await conn.query('SELECT name FROM _migrations')) as unknown as [{ name: string }[]];
      const done = new Set(rows.map((r) => r.name));
      for (const migration of shared) {
        if (done.has(migration.name)) continue;
        for (const statement of migration.statements) await conn.query(statement);
        await conn.query('INSERT INTO _migrations (name) VALUES (?)', [migration.name]);
        applied.push(migration.name);
        logger.info('migration applied', { migration: migration.name });
      }
      const files = (await readdir(folder)).filter((f) => f.endsWith('.sql')).sort();
      for (const file of files) {
        if (done.has(file)) continue;
        const sql = await readFile(join(folder, file), 'utf8');
        const statements = sql
          .split(/-->\s*statement-breakpoint|;\s*$/m)
          .map((s) => s.trim())
          .filter((s) => s.length > 0);
        for (const statement of statements) await conn.query(statement);
        await conn.query('INSERT INTO _migrations (name) VALUES (?)', [file]);
        applied.push(file);
        logger.info('migration applied', { file });
      }
    } finally {
      await conn.query(`SELECT RELEASE_LOCK(CONCAT('migrate:', DATABASE()))`);
    }
  } finally {
    conn.release();
  }
  return applied;
}

/** MariaDB error numbers we act on. */
export const MysqlErrno = {
  DUP_ENTRY: 1062,
  LOCK_WAIT_TIMEOUT: 1205,
  LOCK_DEADLOCK: 1213,
  /** `max_statement_time` interrupted the statement (ER_STATEMENT_TIMEOUT): a wait that outlived its bound. */
  STATEMENT_TIMEOUT: 1969,
} as const;

export function mysqlErrno(error: unknown): number | undefined {
  // drizzle wraps driver errors in `cause`.
  return findInCauses(error, (link) => {
    const errno = (link as { errno?: unknown }).errno;
    return typeof errno === 'number' ? errno : undefined;
  });
}

export const isDuplicateKey = (error: unknown) => mysqlErrno(error) === MysqlErrno.DUP_ENTRY;
export const isLockTimeout = (error: unknown) => lockConflictOf(error) === 'timeout';
export const isDeadlock = (error: unknown) => mysqlErrno(error) === MysqlErrno.LOCK_DEADLOCK;

/**
 * Whether `error` is a row-lock conflict, and which: `deadlock` (InnoDB chose this transaction as
 * the victim and rolled it back) or `timeout` (a wait longer than the session's
 * innodb_lock_wait_timeout, or a statement cut by max_statement_time). Either way nothing of the
 * transaction was kept, so the same request may simply be made again.
 */
export function lockConflictOf(error: unknown): LockConflict | undefined {
  switch (mysqlErrno(error)) {
    case MysqlErrno.LOCK_DEADLOCK:
      return 'deadlock';
    case MysqlErrno.LOCK_WAIT_TIMEOUT:
    case MysqlErrno.STATEMENT_TIMEOUT:
      return 'timeout';
    default:
      return undefined;
  }
}

export interface TransactionOptions {
  /**
   * How often a deadlock victim is run again before it is answered LOCK_TIMEOUT (default 0). InnoDB
   * already rolled it back, so a retry is safe; where rows are locked in a fixed order a second
   * deadlock means real contention, so callers that retry do it once.
   */
  deadlockRetries?: number;
  /** Told of every conflict, retried or not (metrics, a log line). */
  onLockConflict?: (conflict: LockConflict) => void;
}

/**
 * The one way to run a transaction (READ COMMITTED, bounded lock waits: see `createDatabase`).
 * A row lock that cannot be had within the session's bound, or a deadlock (after
 * `deadlockRetries`), becomes the coded, retryable LOCK_TIMEOUT (a `LockConflictError`, which says
 * which conflict it was) instead of reaching the client as an internal error. Anything else
 * `work` throws rolls the transaction back and is rethrown as it is.
 */
export async function runTransaction<T>(db: Database, work: (tx: Transaction) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
  for (let deadlocks = 0; ; ) {
    try {
      return await db.transaction(work);
    } catch (error) {
      const conflict = lockConflictOf(error);
      if (!conflict) throw error;
      options.onLockConflict?.(conflict);
      if (conflict === 'deadlock' && deadlocks++ < (options.deadlockRetries ?? 0)) continue;
      throw new LockConflictError(conflict);
    }
  }
}

/**
 * Runs a write that a unique key may refuse, answering `onDuplicate` instead of throwing when it
 * does: the row is already there (a repeat, or a concurrent request that won the race). Any other
 * failure is rethrown. The unique key decides, so of any number of concurrent writers exactly one wins.
 */
export async function unlessDuplicate<T, D>(write: () => Promise<T>, onDuplicate: D): Promise<T | D> {
  try {
    return await write();
  } catch (error) {
    if (isDuplicateKey(error)) return onDuplicate;
    throw error;
  }
}

/** An insert that is skipped when its unique key already holds a row: true when this call inserted it. */
export const insertUnlessDuplicate = (insert: () => Promise<unknown>): Promise<boolean> =>
  unlessDuplicate(async () => {
    await insert();
    return true;
  }, false);

/**
 * The whole of each subgraph's `scripts/migrate.ts` (`node subgraphs/<name>/dist/scripts/migrate.js`):
 * brings that service's database up to date and exits, without serving. The Kubernetes migration
 * Job and every pod's init container run it (deploy/k8s); idempotent, and the named lock in
 * `migrate` makes a second runner wait for the first. `readEnv` runs inside, so a bad variable
 * ends the process with its message like a service start does.
 */
export function runMigrationScript(
  service: string,
  readEnv: () => { DATABASE_URL: string; LOG_LEVEL: LogLevel },
  migrateService: (database: DatabaseClient, logger: Logger) => Promise<string[]>,
): void {
  runMain(async () => {
    const env = readEnv();
    const logger = createLogger({ service: `${service}-migrate` }, env.LOG_LEVEL);
    await requireDependency('mariadb', env.DATABASE_URL, () => ensureDatabase(env.DATABASE_URL));
    const database = createDatabase({ url: env.DATABASE_URL, poolSize: 1, logger });
    try {
      const applied = await migrateService(database, logger);
      logger.info('database up to date', { applied: applied.length });
    } finally {
      await database.close();
    }
  });
}
