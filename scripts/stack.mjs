// Starts the whole supergraph as child processes: every subgraph that is built, products as
// several replicas, then the router. Used by `npm start` (fixed ports, readable logs) and by the
// end-to-end tests (free ports, fresh databases, services killed and restarted on purpose).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Start order does not matter (every side declares what it uses); this is only the print order. */
export const SUBGRAPHS = [
  { name: 'users', port: 4001 },
  { name: 'products', port: 4002, replicaPorts: [4002, 4012] },
  { name: 'wishlists', port: 4003 },
  { name: 'orders', port: 4004 },
  { name: 'events', port: 4005 },
];
export const ROUTER_PORT = 4000;

// Every service starts with the tracing preload, as in docker-compose.yml: it does nothing unless
// OTEL_EXPORTER_OTLP_ENDPOINT is set (packages/telemetry/src/preload.ts).
const TELEMETRY_PRELOAD = pathToFileURL(join(ROOT, 'packages', 'telemetry', 'dist', 'preload.js')).href;

// A subgraph takes part once it has a schema and a build (subgraphs are added one by one).
const isBuilt = (name) =>
  existsSync(join(ROOT, 'subgraphs', name, 'schema.graphql')) && existsSync(join(ROOT, 'subgraphs', name, 'dist', 'index.js'));

async function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * @param {(body: unknown) => boolean} [acceptUnready] whether a 503 readiness answer is good enough
 */
async function waitReady(base, child, timeoutMs, acceptUnready = () => false) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`exited with code ${child.exitCode} before it was ready`);
    try {
      const response = await fetch(`${base}/health/ready`, { signal: AbortSignal.timeout(1_000) });
      if (response.ok) return;
      if (response.status === 503 && acceptUnready(await response.json())) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`not ready within ${timeoutMs} ms (${base}/health/ready)`);
}

/**
 * @param {object} options
 * @param {boolean} [options.fixedPorts] use the documented ports (npm start); otherwise free ones
 * @param {string} [options.databasePrefix] databases are `<prefix>_<service>`
 * @param {Record<string,string>} [options.env] environment for every process
 * @param {Record<string,Record<string,string>>} [options.envFor] extra environment per service name
 * @param {number} [options.productsReplicas]
 * @param {string[]} [options.only] start only these subgraphs (default: every built one)
 * @param {number} [options.startTimeoutMs] how long each process may take to become ready (default 30 s)
 * @param {(service: string, line: string) => void} options.onLog
 */
export async function startStack(options) {
  const productsReplicas = options.productsReplicas ?? 2;
  const socket = '/run/mysqld/mysqld.sock';
  const databasePrefix = options.databasePrefix ?? 'bth';
  const baseEnv = { ...process.env, ...options.env };
  const databaseUrl = (name) =>
    baseEnv[`${name.toUpperCase()}_DATABASE_URL`] ?? `mysql://root@localhost/${databasePrefix}_${name}?socketPath=${socket}`;

  // Plan every instance and its port first: services need each other's addresses.
  const plan = [];
  for (const subgraph of SUBGRAPHS) {
    if (!isBuilt(subgraph.name) || (options.only && !options.only.includes(subgraph.name))) continue;
    const count = subgraph.name === 'products' ? productsReplicas : 1;
    for (let i = 0; i < count; i++) {
      const port = options.fixedPorts ? (subgraph.replicaPorts?.[i] ?? subgraph.port + 10 * i) : await freePort();
      plan.push({ name: subgraph.name, index: i, port, base: `http://127.0.0.1:${port}` });
    }
  }
  const routerPort = options.fixedPorts ? ROUTER_PORT : await freePort();
  const bases = (name) => plan.filter((p) => p.name === name).map((p) => p.base);
  const graphql = (name) =>
    bases(name)
      .map((b) => `${b}/graphql`)
      .join(',');

  const crossEnv = {
    INVENTORY_URLS: bases('products').join(','),
    PRODUCTS_URL: graphql('products'),
    ORDERS_INTERNAL_URL: bases('orders')[0] ?? 'http://127.0.0.1:4004',
  };

  // With `only`, subgraphs of the supergraph are left out on purpose, so the router's readiness
  // (every subgraph has a live replica) can never pass. The router is good to go when all it
  // misses are exactly those: it only listens after loading the supergraph.
  const leftOut = new Set(SUBGRAPHS.map((s) => s.name).filter((name) => !plan.some((p) => p.name === name)));
  const routerMissesOnlyLeftOut = (body) => {
    const checks = Object.entries(body?.checks ?? {});
    return checks.every(([check, result]) => {
      if (result === 'ok') return true;
      const missing = check === 'subgraphs' && /^no live replica for: (.+)$/.exec(result);
      return Boolean(missing) && missing[1].split(', ').every((name) => leftOut.has(name));
    });
  };

  const envFor = { ...options.envFor };
  const instances = [];
  const makeInstance = (spec) => {
    const label = spec.name === 'products' ? `products-${spec.index + 1}` : spec.name;
    const env = {
      ...baseEnv,
      ...crossEnv,
      ...(spec.name === 'router' ? {} : { DATABASE_URL: databaseUrl(spec.name) }),
      ...(envFor[spec.name] ?? {}),
      PORT: String(spec.port),
      HOST: '127.0.0.1',
    };
    const entry =
      spec.name === 'router' ? join(ROOT, 'router', 'dist', 'index.js') : join(ROOT, 'subgraphs', spec.name, 'dist', 'index.js');
    const instance = {
      ...spec,
      label,
      url: `${spec.base}/graphql`,
      child: null,
      // STACK_READY_TIMEOUT_MS: a machine shared with other work can need longer than 30 s to boot every process.
      // biome-ignore lint/suspicious/noUndeclaredEnvVars: read by this launcher, never by a turbo task
      async start(timeoutMs = Number(process.env.STACK_READY_TIMEOUT_MS) || 30_000) {
        const child = spawn(process.execPath, ['--import', TELEMETRY_PRELOAD, entry], { env, stdio: ['ignore', 'pipe', 'pipe'] });
        instance.child = child;
        instance.paused = false;
        for (const stream of [child.stdout, child.stderr]) {
          let buffer = '';
          stream.setEncoding('utf8');
          stream.on('data', (chunk) => {
            buffer += chunk;
            const lines = buffer.split('\n');
            buffer = lines.pop();
            for (const line of lines) if (line) options.onLog(label, line);
          });
        }
        await waitReady(spec.base, child, timeoutMs, spec.name === 'router' ? routerMissesOnlyLeftOut : undefined);
      },
      /** Graceful stop (SIGTERM), as an orchestrator would. */
      async stop() {
        await instance.signal('SIGTERM');
      },
      /** Abrupt death (SIGKILL): no cleanup, connections cut. */
      async kill() {
        await instance.signal('SIGKILL');
      },
      /**
       * Freezes the process (SIGSTOP): a hung service. The kernel still accepts connections for
       * it and requests queue up unanswered, until `resume()` lets it work through them.
       */
      pause() {
        if (instance.child?.kill('SIGSTOP')) instance.paused = true;
      },
      resume() {
        if (instance.paused && instance.child?.kill('SIGCONT')) instance.paused = false;
      },
      paused: false,
      async signal(sig) {
        const child = instance.child;
        if (!child || child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill(sig);
        // A frozen process acts on SIGTERM only once it runs again.
        instance.resume();
        await exited;
      },
    };
    return instance;
  };

  const stopAll = async () => {
    // Router first so no new work arrives, then the subgraphs.
    const router = instances.find((i) => i.name === 'router');
    if (router) await router.stop();
    await Promise.all(instances.filter((i) => i.name !== 'router').map((i) => i.stop()));
  };

  try {
    for (const spec of plan) instances.push(makeInstance(spec));
    await Promise.all(
      instances.map((instance) =>
        instance.start(options.startTimeoutMs).catch((error) => {
          throw new Error(`${instance.label}: ${error.message}`);
        }),
      ),
    );
    const routerEnv = {};
    for (const subgraph of SUBGRAPHS)
      routerEnv[`${subgraph.name.toUpperCase()}_URL`] = graphql(subgraph.name) || `http://127.0.0.1:${subgraph.port}/graphql`;
    envFor.router = { ...routerEnv, ...envFor.router };
    const router = makeInstance({ name: 'router', index: 0, port: routerPort, base: `http://127.0.0.1:${routerPort}` });
    instances.push(router);
    await router.start(options.startTimeoutMs).catch((error) => {
      throw new Error(`router: ${error.message}`);
    });
    return {
      routerUrl: router.url,
      instances,
      databaseUrl,
      service: (name, index = 0) => {
        const found = instances.find((i) => i.name === name && i.index === index);
        if (!found) throw new Error(`no instance ${name}#${index}`);
        return found;
      },
      stop: stopAll,
    };
  } catch (error) {
    await stopAll().catch(() => undefined);
    throw error;
  }
}
