import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { connect } from 'amqplib';
import { freePort } from './ports.js';

const run = promisify(execFile);

/**
 * A RabbitMQ node of the test's own — own node name, AMQP and distribution ports, data, logs,
 * config and Erlang cookie in a temp dir, no plugins — for tests that stop the broker. The
 * machine's shared broker (and its `rabbit@localhost` node) is never touched.
 *
 * The server is started from RabbitMQ's own scripts (`/usr/lib/rabbitmq/bin` on Debian, where the
 * `/usr/sbin` wrappers would `su` to the `rabbitmq` user and its cookie), as the current user with
 * HOME in the temp dir: the node and the CLI calls below read the same private cookie, so neither
 * depends on a cookie in the user's real home.
 */
export interface PrivateRabbitMq {
  /** `amqp://guest:guest@127.0.0.1:<port>` (guest may log in over loopback). */
  url: string;
  nodeName: string;
  port: number;
  /** Stops the node (`rabbitmqctl stop`) and waits for its process to exit. Connections drop. */
  stop(): Promise<void>;
  /** Starts it again on the same ports and data (queues, exchanges and messages survive). */
  start(): Promise<void>;
  /** Stops it if running and deletes its directory. */
  close(): Promise<void>;
}

// RabbitMQ boots in 3–5 s on this machine; 60 s leaves room for a loaded CI runner.
const START_TIMEOUT_MS = 60_000;
// A graceful stop takes about a second; after this the node's process is killed.
const STOP_TIMEOUT_MS = 30_000;
// How often readiness is probed with an AMQP connection while the node boots.
const PROBE_INTERVAL_MS = 200;

function binary(name: string): string {
  const debian = join('/usr/lib/rabbitmq/bin', name);
  return existsSync(debian) ? debian : name;
}

async function amqpAnswers(url: string): Promise<boolean> {
  try {
    const connection = await connect(url);
    await connection.close();
    return true;
  } catch {
    return false;
  }
}

function exited(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

export async function startPrivateRabbitMq(name = 'bthtest'): Promise<PrivateRabbitMq> {
  const dir = await mkdtemp(join(tmpdir(), `${name}-rabbitmq-`));
  const home = join(dir, 'home');
  await mkdir(home);
  const cookie = join(home, '.erlang.cookie');
  await writeFile(cookie, randomBytes(16).toString('hex').toUpperCase());
  // Erlang refuses a cookie file that others can read.
  await chmod(cookie, 0o400);
  const port = await freePort();
  let distPort = await freePort();
  while (distPort === port) distPort = await freePort();
  const nodeName = `${name}-${randomBytes(4).toString('hex')}@localhost`;
  await writeFile(join(dir, 'rabbitmq.conf'), `listeners.tcp.1 = 127.0.0.1:${port}\n`);
  await writeFile(join(dir, 'enabled_plugins'), '[].\n');
  // An empty env file, so the machine's rabbitmq-env.conf (NODENAME=rabbit@localhost) is not read.
  await writeFile(join(dir, 'rabbitmq-env.conf'), '');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: home,
    RABBITMQ_CONF_ENV_FILE: join(dir, 'rabbitmq-env.conf'),
    RABBITMQ_NODENAME: nodeName,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
    RABBITMQ_PLUGINS_EXPAND_DIR: join(dir, 'plugins-expand'),
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    ERL_EPMD_ADDRESS: '127.0.0.1',
  };
  const url = `amqp://guest:guest@127.0.0.1:${port}`;
  let child: ChildProcess | null = null;

  async function start(): Promise<void> {
    if (child) return;
    const started = spawn(binary('rabbitmq-server'), [], { env, cwd: dir, stdio: 'ignore' });
    child = started;
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (!(await amqpAnswers(url))) {
      if (started.exitCode !== null || started.signalCode !== null) {
        child = null;
        throw new Error(`private RabbitMQ ${nodeName} exited while starting (logs in ${join(dir, 'log')})`);
      }
      if (Date.now() > deadline)
        throw new Error(`private RabbitMQ ${nodeName} did not accept AMQP connections within ${START_TIMEOUT_MS} ms`);
      await new Promise((resolve) => setTimeout(resolve, PROBE_INTERVAL_MS));
    }
  }

  async function stop(): Promise<void> {
    const running = child;
    if (!running) return;
    try {
      await run(binary('rabbitmqctl'), ['-q', '-n', nodeName, 'stop'], { env, cwd: dir, timeout: STOP_TIMEOUT_MS });
    } catch {
      // Not reachable through the CLI: the process itself is ended below.
    }
    if (!(await exited(running, STOP_TIMEOUT_MS))) {
      running.kill('SIGKILL');
      await exited(running, STOP_TIMEOUT_MS);
    }
    child = null;
  }

  try {
    await start();
  } catch (error) {
    await stop();
    await rm(dir, { recursive: true, force: true });
    throw error;
  }

  return {
    url,
    nodeName,
    port,
    stop,
    start,
    async close() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
