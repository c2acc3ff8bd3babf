import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { waitFor } from './index.js';
import { freePort } from './ports.js';

/**
 * A Redis server of the test's own (`redis-server` on a free port, its own directory, no
 * persistence), for faults that stop or restart Redis: the machine's shared Redis on 6379 is
 * never touched. `restart()` brings it back on the same port and empty, as a real restart of a
 * cache without persistence does.
 */
export interface PrivateRedis {
  port: number;
  url: string;
  /** True between a successful start() and the next stop/kill. */
  readonly running: boolean;
  /** Starts it (again) on the same port; resolves once it answers PING. */
  start(): Promise<void>;
  /** SIGTERM and wait for the exit. */
  stop(): Promise<void>;
  /** SIGKILL and wait for the exit: a crash. */
  kill(): Promise<void>;
  /** SIGSTOP: a hung server (connections accepted, nothing answered) until `resume()`. */
  pause(): void;
  resume(): void;
  /** kill() then start(): the server comes back empty. */
  restart(): Promise<void>;
  /** Stops it and removes its directory (call in afterAll). */
  dispose(): Promise<void>;
}

/** How long a local redis-server may take to answer PING after spawning (it takes ~10 ms; the machine may be busy). */
const READY_TIMEOUT_MS = 10_000;

async function answersPing(url: string): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 500 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  const dir = mkdtempSync(join(tmpdir(), 'bth-redis-'));
  let child: ChildProcess | null = null;
  let paused = false;

  async function end(signal: NodeJS.Signals) {
    const running = child;
    if (!running || running.exitCode !== null || running.signalCode !== null) {
      child = null;
      return;
    }
    const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
    running.kill(signal);
    // A frozen process acts on SIGTERM only once it runs again.
    if (paused) handle.resume();
    await exited;
    child = null;
  }

  const handle: PrivateRedis = {
    port,
    url,
    get running() {
      return child !== null;
    },
    async start() {
      if (child) throw new Error('private Redis is already running');
      const spawned = spawn(
        'redis-server',
        [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--dir',
          dir,
          '--save',
          '',
          '--appendonly',
          'no',
          '--daemonize',
          'no',
          '--loglevel',
          'warning',
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      let stderr = '';
      spawned.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child = spawned;
      try {
        await waitFor(async () => {
          if (spawned.exitCode !== null) throw new Error(`redis-server exited: ${stderr.trim()}`);
          return answersPing(url);
        }, READY_TIMEOUT_MS);
      } catch (error) {
        await end('SIGKILL');
        throw error;
      }
    },
    pause() {
      if (child?.kill('SIGSTOP')) paused = true;
    },
    resume() {
      if (paused && child?.kill('SIGCONT')) paused = false;
    },
    stop: () => end('SIGTERM'),
    kill: () => end('SIGKILL'),
    async restart() {
      await end('SIGKILL');
      await handle.start();
    },
    async dispose() {
      await end('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await handle.start();
  return handle;
}
