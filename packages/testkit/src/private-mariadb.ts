import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';
import { freePort } from './ports.js';

/**
 * A MariaDB server of a test's own: its own data directory, unix socket and TCP port, so a test
 * can kill -9 it, restart it on the same data (crash recovery) or keep it down, without touching
 * the machine's shared server. `root` has no password and logs in through the private socket.
 */
export interface PrivateMariadb {
  readonly datadir: string;
  readonly socket: string;
  readonly port: number;
  /** pid of the running server, undefined while it is down. */
  readonly pid: number | undefined;
  /** A DATABASE_URL for `database` on this server (root over the private socket). */
  url(database: string): string;
  /** Starts the server on the same data directory and waits until a connection succeeds. */
  start(): Promise<void>;
  /** kill -9: no shutdown, InnoDB recovers from its redo log on the next start. */
  kill(): Promise<void>;
  /** Clean shutdown (SIGTERM). */
  stop(): Promise<void>;
  /** Stops the server and deletes its data directory. */
  destroy(): Promise<void>;
}

export interface PrivateMariadbOptions {
  /** InnoDB buffer pool; a test database is tiny, the default 128 MB only costs memory. */
  bufferPoolMb?: number;
  /** How long a start may take before it counts as failed. */
  startTimeoutMs?: number;
  /**
   * More mariadbd options (`--name=value`), after the defaults so they win. The binary log is off
   * unless one of them is `--log-bin…` (a test of what a replicating server refuses).
   */
  serverArgs?: readonly string[];
}

const run = promisify(execFile);

async function canConnect(socket: string): Promise<boolean> {
  try {
    const conn = await mysql.createConnection({ socketPath: socket, user: 'root', connectTimeout: 1_000 });
    await conn.end();
    return true;
  } catch {
    return false;
  }
}

/** Creates a fresh data directory with `mariadb-install-db` and starts a server on it. */
export async function startPrivateMariadb(options: PrivateMariadbOptions = {}): Promise<PrivateMariadb> {
  const base = await mkdtemp(join(tmpdir(), 'bth-mariadb-'));
  const datadir = join(base, 'data');
  const socket = join(base, 'mysqld.sock');
  const port = await freePort();
  // mariadbd refuses to run as root unless told to; as anyone else it runs as that user.
  const user = `--user=${userInfo().username}`;
  // --no-defaults: the machine's my.cnf names the shared server's socket, port and data directory.
  await run('mariadb-install-db', [
    '--no-defaults',
    `--datadir=${datadir}`,
    '--auth-root-authentication-method=normal',
    '--skip-test-db',
    user,
  ]);
  const extra = options.serverArgs ?? [];
  const binlog = extra.some((arg) => arg.startsWith('--log-bin') && !arg.startsWith('--log-bin-'));
  const args = [
    '--no-defaults',
    `--datadir=${datadir}`,
    `--socket=${socket}`,
    `--port=${port}`,
    '--bind-address=127.0.0.1',
    `--pid-file=${join(base, 'mysqld.pid')}`,
    `--log-error=${join(base, 'error.log')}`,
    ...(binlog ? [] : ['--skip-log-bin']),
    '--skip-name-resolve',
    `--innodb-buffer-pool-size=${options.bufferPoolMb ?? 64}M`,
    user,
    ...extra,
  ];
  // A fresh server is ready in well under a second; 30 s covers crash recovery on a loaded machine.
  const startTimeoutMs = options.startTimeoutMs ?? 30_000;
  let child: ChildProcess | undefined;

  const exited = (proc: ChildProcess) => proc.exitCode !== null || proc.signalCode !== null;

  async function signal(sig: NodeJS.Signals): Promise<void> {
    const proc = child;
    if (!proc || exited(proc)) return;
    const gone = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill(sig);
    await gone;
    child = undefined;
  }

  const server: PrivateMariadb = {
    datadir,
    socket,
    port,
    get pid() {
      return child && !exited(child) ? child.pid : undefined;
    },
    url: (database) => `mysql://root@localhost/${database}?socketPath=${encodeURIComponent(socket)}`,
    async start() {
      if (child && !exited(child)) return;
      const proc = spawn('mariadbd', args, { stdio: 'ignore' });
      child = proc;
      const deadline = Date.now() + startTimeoutMs;
      while (Date.now() < deadline) {
        if (exited(proc)) throw new Error(`private mariadbd exited (${proc.exitCode ?? proc.signalCode}); see ${join(base, 'error.log')}`);
        if (await canConnect(socket)) return;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`private mariadbd not ready within ${startTimeoutMs} ms; see ${join(base, 'error.log')}`);
    },
    kill: () => signal('SIGKILL'),
    stop: () => signal('SIGTERM'),
    async destroy() {
      await signal('SIGTERM');
      await rm(base, { recursive: true, force: true });
    },
  };
  try {
    await server.start();
  } catch (error) {
    await server.destroy().catch(() => undefined);
    throw error;
  }
  return server;
}
