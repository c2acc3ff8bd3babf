// `npm start`: checks MariaDB, Redis and RabbitMQ, composes the supergraph if a subgraph schema
// changed, starts every subgraph (products twice) and the router with prefixed logs, and prints
// where to point Apollo Sandbox. In development an empty catalogue is seeded with the demo shop
// first (scripts/seed.mjs; SEED_DEMO=0 turns it off, never with NODE_ENV=production).
// Ctrl-C stops everything cleanly.
import { connect } from 'node:net';
import { catalogueSize, createAdminRunner, sandboxTips, seedDemo } from './seed.mjs';
import { SUBGRAPHS, startStack } from './stack.mjs';

const env = process.env;
const HOW_TO_START = {
  MariaDB: 'docker compose up -d mariadb   (or locally: start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd)',
  Redis: 'docker compose up -d redis   (or locally: redis-server --daemonize yes --port 6379)',
  RabbitMQ: 'docker compose up -d rabbitmq   (or locally: rabbitmq-server -detached)',
};
const colours = [36, 35, 33, 32, 34, 91, 96, 95];
const labelColour = new Map();
const useColour = process.stdout.isTTY;

function print(label, line) {
  if (!labelColour.has(label)) labelColour.set(label, colours[labelColour.size % colours.length]);
  const tag = label.padEnd(10);
  let text = line;
  try {
    // Services log JSON lines; show them compactly for a human.
    const entry = JSON.parse(line);
    const { time, level, service, msg, ...rest } = entry;
    const extra = Object.keys(rest).length ? ` ${JSON.stringify(rest)}` : '';
    text = `${level === 'info' ? '' : `${String(level).toUpperCase()} `}${msg}${extra}`;
  } catch {
    // not JSON: print as is
  }
  process.stdout.write(useColour ? `\x1b[${labelColour.get(label)}m${tag}\x1b[0m ${text}\n` : `${tag} ${text}\n`);
}

/** Opens a TCP connection (or the MariaDB socket) within the remaining time. */
function reachable(target, timeoutMs) {
  return new Promise((resolve) => {
    const socket = connect(target);
    const done = (ok, reason) => {
      socket.destroy();
      resolve({ ok, reason });
    };
    socket.setTimeout(timeoutMs, () => done(false, `no answer within ${timeoutMs} ms`));
    socket.once('connect', () => done(true));
    socket.once('error', (error) => done(false, error.code ?? error.message));
  });
}

function targetOf(url, defaultPort) {
  const parsed = new URL(url);
  const socketPath = parsed.searchParams.get('socketPath');
  if (socketPath) return { label: socketPath, target: { path: socketPath } };
  const port = Number(parsed.port || defaultPort);
  return { label: `${parsed.hostname}:${port}`, target: { host: parsed.hostname, port } };
}

async function preflight() {
  const checks = [
    ['MariaDB', targetOf(env.DATABASE_URL ?? 'mysql://root@localhost/bth?socketPath=/run/mysqld/mysqld.sock', 3306)],
    ['Redis', targetOf(env.REDIS_URL ?? 'redis://127.0.0.1:6379', 6379)],
    ['RabbitMQ', targetOf(env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672', 5672)],
  ];
  // All three in parallel, 8 s each: the whole check fails within 10 s.
  const results = await Promise.all(
    checks.map(async ([name, { label, target }]) => ({ name, label, ...(await reachable(target, 8_000)) })),
  );
  const failed = results.filter((r) => !r.ok);
  for (const r of failed) {
    process.stderr.write(`✗ ${r.name} is not reachable at ${r.label} (${r.reason}).\n  Start it with: ${HOW_TO_START[r.name]}\n`);
  }
  if (failed.length) process.exit(1);
}

/**
 * The demo shop, once: only in development, only when SEED_DEMO is not 0, only into an empty
 * catalogue (a shop with data of its own is never touched). A failed seed is reported and the
 * stack keeps running: `npm run seed` can finish it later. Returns the demo sale when seeded.
 */
async function seedIfEmpty(stack) {
  if (env.NODE_ENV === 'production' || env.SEED_DEMO === '0') return undefined;
  try {
    const size = await catalogueSize(stack.routerUrl);
    if (size > 0) {
      print('seed', `the catalogue has ${size} products: not seeding (npm run seed adds the demo shop to it)`);
      return undefined;
    }
    print('seed', 'empty catalogue: seeding the demo shop (SEED_DEMO=0 turns this off)');
    const startedAt = Date.now();
    let lastShown = 0;
    const result = await seedDemo({
      routerUrl: stack.routerUrl,
      usersBase: stack.service('users').base,
      promoteAdmin: createAdminRunner({ DATABASE_URL: stack.databaseUrl('users') }),
      log: (line) => print('seed', line),
      progress: (done, total) => {
        if (done === total || done - lastShown >= 100) {
          lastShown = done;
          print('seed', `products ${done}/${total}`);
        }
      },
    });
    print('seed', `done in ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);
    return result.sale;
  } catch (error) {
    print('seed', `the demo seed failed: ${error.message}. The stack runs on; npm run seed retries it.`);
    return undefined;
  }
}

async function main() {
  await preflight();
  const { writeSupergraph } = await import('../schema/dist/compose.js');
  if (writeSupergraph()) print('schema', 'a subgraph schema changed: schema/supergraph.graphql recomposed');

  // A process that dies is reported at once; one that is merely slow (a cold start of six Node
  // processes on a small, busy machine took over 30 s) is given two minutes before we give up.
  const stack = await startStack({ fixedPorts: true, startTimeoutMs: 120_000, onLog: print });
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    print('start', 'stopping every service…');
    await stack.stop();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);

  const sale = await seedIfEmpty(stack);

  const running = SUBGRAPHS.map((s) => s.name).filter((n) => stack.instances.some((i) => i.name === n));
  process.stdout.write(
    [
      '',
      `  BooTakHae supergraph is up: ${running.join(', ')} + router`,
      '',
      `  GraphQL endpoint   ${stack.routerUrl}`,
      `  Apollo Sandbox     open ${stack.routerUrl} in a browser (the landing page embeds Sandbox),`,
      `                     or open https://studio.apollographql.com/sandbox/explorer and connect it to ${stack.routerUrl}`,
      `  Dev mailbox        curl 'http://127.0.0.1:4001/dev/mailbox?email=<address>'  (verification codes)`,
      '',
      ...(env.NODE_ENV === 'production' ? [] : [sandboxTips(stack.routerUrl, sale), '']),
      '  Ctrl-C stops everything.',
      '',
    ].join('\n'),
  );
}

main().catch(async (error) => {
  process.stderr.write(`npm start failed: ${error.message}\n`);
  process.exit(1);
});
