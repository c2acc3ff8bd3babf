// Private Redis and RabbitMQ servers for fault runs: their own port, data directory and node
// name, so a scenario can kill or stop them without touching the machine's shared servers.
// Same shape as `startPrivateMariadb` in @bth/testkit (start / kill / stop / destroy / url).
// Minimal on purpose: testkit gains its own private-redis / private-rabbitmq launchers in
// parallel work, and these are meant to be replaced by them.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect as connectTcp, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as connectAmqp } from 'amqplib';

export async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const exited = (proc) => proc.exitCode !== null || proc.signalCode !== null;

/**
 * A launcher for one server process started in its own process group (RabbitMQ's start script
 * forks the Erlang VM; signalling the group reaches both). `ready()` resolves once it serves.
 */
function processServer({ name, base, command, args, env, ready, startTimeoutMs }) {
  let child;
  async function signal(sig) {
    const proc = child;
    if (!proc || exited(proc)) return;
    const gone = new Promise((resolve) => proc.once('exit', resolve));
    process.kill(-proc.pid, sig);
    await gone;
    child = undefined;
  }
  return {
    get pid() {
      return child && !exited(child) ? child.pid : undefined;
    },
    async start() {
      if (child && !exited(child)) return;
      const proc = spawn(command, args, { env: { ...process.env, ...env }, stdio: 'ignore', detached: true });
      child = proc;
      const deadline = Date.now() + startTimeoutMs;
      while (Date.now() < deadline) {
        if (exited(proc)) throw new Error(`private ${name} exited (${proc.exitCode ?? proc.signalCode}); see ${base}`);
        if (await ready()) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`private ${name} not ready within ${startTimeoutMs} ms; see ${base}`);
    },
    kill: () => signal('SIGKILL'),
    stop: () => signal('SIGTERM'),
    async destroy() {
      await signal('SIGTERM').catch(() => undefined);
      await signal('SIGKILL').catch(() => undefined);
      await rm(base, { recursive: true, force: true });
    },
  };
}

function redisPing(port) {
  return new Promise((resolve) => {
    const socket = connectTcp(port, '127.0.0.1');
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => done(chunk.toString().startsWith('+PONG')));
  });
}

/** redis-server on a free port, no persistence: a kill loses everything, as a cache restart does. */
export async function startPrivateRedis() {
  const base = await mkdtemp(join(tmpdir(), 'bth-redis-'));
  const port = await freePort();
  const server = processServer({
    name: 'redis',
    base,
    command: 'redis-server',
    args: ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', base, '--logfile', join(base, 'redis.log')],
    env: {},
    ready: () => redisPing(port),
    // Redis starts in milliseconds; 10 s only matters on a machine under heavy load.
    startTimeoutMs: 10_000,
  });
  await server.start();
  return Object.assign(server, { port, url: `redis://127.0.0.1:${port}` });
}

async function amqpReady(url) {
  try {
    const conn = await connectAmqp(url);
    await conn.close();
    return true;
  } catch {
    return false;
  }
}

/**
 * A RabbitMQ node of its own (node name, AMQP and distribution ports, mnesia directory, no
 * plugins) that keeps its queues across a stop and start, as a broker restart does.
 */
export async function startPrivateRabbitmq() {
  const base = await mkdtemp(join(tmpdir(), 'bth-rabbitmq-'));
  const port = await freePort();
  const distPort = await freePort();
  const nodeName = `bthfault${port}@localhost`;
  // Own config and env files: the machine's ones pin the shared node's name and port 5672.
  await writeFile(join(base, 'rabbitmq.conf'), `listeners.tcp.1 = 127.0.0.1:${port}\n`);
  await writeFile(join(base, 'rabbitmq-env.conf'), 'ERL_EPMD_ADDRESS=127.0.0.1\n');
  await writeFile(join(base, 'enabled_plugins'), '[].\n');
  const url = `amqp://guest:guest@127.0.0.1:${port}`;
  const server = processServer({
    name: 'rabbitmq',
    base,
    command: '/usr/lib/rabbitmq/bin/rabbitmq-server',
    args: [],
    env: {
      HOME: base,
      RABBITMQ_NODENAME: nodeName,
      RABBITMQ_CONF_ENV_FILE: join(base, 'rabbitmq-env.conf'),
      RABBITMQ_CONFIG_FILE: join(base, 'rabbitmq.conf'),
      RABBITMQ_ENABLED_PLUGINS_FILE: join(base, 'enabled_plugins'),
      RABBITMQ_DIST_PORT: String(distPort),
      RABBITMQ_MNESIA_BASE: join(base, 'mnesia'),
      RABBITMQ_LOG_BASE: join(base, 'log'),
      RABBITMQ_PID_FILE: join(base, 'rabbitmq.pid'),
    },
    ready: () => amqpReady(url),
    // A node boots in ~5 s here; 60 s covers a restart that recovers quorum queues under load.
    startTimeoutMs: 60_000,
  });
  await server.start();
  return Object.assign(server, { port, url, nodeName });
}
