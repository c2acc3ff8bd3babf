// `npm run dlq -- list | show <id> | replay <id>… | replay --all | purge [--yes]`: the dead-letter
// queues of every service, read from the consumers each service declares
// (`subgraphs/<name>/src/topology.ts`), on the broker and exchange the services use
// (AMQP_URL, AMQP_EXCHANGE). See README "Dead letters".
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { pathToFileURL } from 'node:url';
import { createDeadLetterTool, deadLetterQueues } from '@bth/platform/dead-letters';
import { envFragments, loadEnv } from '@bth/platform/env';
import { ROOT } from './stack.mjs';

const USAGE = `Usage: npm run dlq -- <command> [--queue <name>] [--json]
  list                   every dead-letter queue and its messages: id, routing key, reason, deliveries
  show <id>              one message in full: reason, error, headers, body
  replay <id>… | --all   publish back to the original exchange and routing key (the normal consumer
                         applies it, deduplicated by message id), then remove it from the DLQ
  purge [--yes]          drop every message of the dead-letter queues (asks first unless --yes)
  --queue <name>         only this queue: the consumer's name (products.sales) or the full DLQ name
Reads AMQP_URL and AMQP_EXCHANGE like the services (defaults: local broker, bth.events).`;

/** Every service's declared consumers: the built `dist/topology.js` of each subgraph that has one. */
async function declaredTopology() {
  const services = [];
  for (const name of readdirSync(join(ROOT, 'subgraphs')).sort()) {
    const file = join(ROOT, 'subgraphs', name, 'dist', 'topology.js');
    if (!existsSync(file)) continue;
    const { consumers } = await import(pathToFileURL(file).href);
    services.push({ service: name, consumers: Object.values(consumers ?? {}) });
  }
  return services;
}

function parseArgs(argv) {
  const args = { command: argv[0], ids: [], all: false, yes: false, json: false, queue: undefined };
  for (let i = 1; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--all') args.all = true;
    else if (arg === '--yes' || arg === '-y') args.yes = true;
    else if (arg === '--json') args.json = true;
    else if (arg === '--queue') args.queue = argv[++i];
    else if (arg.startsWith('--')) throw new UsageError(`unknown option ${arg}`);
    else args.ids.push(arg);
  }
  return args;
}

class UsageError extends Error {}

const short = (text, max) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);
const deliveriesOf = (letter) =>
  letter.deliveries !== undefined ? String(letter.deliveries) : letter.reason === 'delivery_limit' ? '>limit' : '?';

function printLetters(queue, letters) {
  const title = `${queue.name}  (${queue.service})`;
  if (letters === null) return void process.stdout.write(`${title}: not declared yet (the service has not run on this exchange)\n`);
  process.stdout.write(`${title}: ${letters.length} message${letters.length === 1 ? '' : 's'}\n`);
  for (const l of letters) {
    process.stdout.write(
      `  ${l.id}  ${l.routingKey ?? '?'}  reason=${l.reason}  deliveries=${deliveriesOf(l)}  at=${l.deadLetteredAt ?? '?'}` +
        `${l.error ? `\n      error: ${short(l.error, 200)}` : ''}\n`,
    );
  }
}

function printLetter(l) {
  process.stdout.write(
    [
      `id             ${l.id}`,
      `queue          ${l.queue}`,
      `origin         exchange ${l.exchange ?? '?'}, routing key ${l.routingKey ?? '?'}`,
      `reason         ${l.reason}`,
      `error          ${l.error ?? '(none recorded)'}`,
      `deliveries     ${deliveriesOf(l)}`,
      `published at   ${l.publishedAt ?? '?'}`,
      `dead-lettered  ${l.deadLetteredAt ?? '?'}`,
      `headers        ${JSON.stringify(l.headers)}`,
      'body',
      (() => {
        try {
          return JSON.stringify(JSON.parse(l.body), null, 2);
        } catch {
          return l.body;
        }
      })(),
      '',
    ].join('\n'),
  );
}

async function confirm(question) {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  // No terminal (stdin closed or piped empty) means no answer: nothing is purged.
  const closed = new Promise((resolve) => rl.once('close', () => resolve('')));
  try {
    const answer = await Promise.race([rl.question(question).catch(() => ''), closed]);
    return answer.trim().toLowerCase() === 'yes';
  } finally {
    rl.close();
  }
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (!['list', 'show', 'replay', 'purge'].includes(args.command))
    throw new UsageError(args.command ? `unknown command ${args.command}` : 'no command');
  if (args.command === 'show' && args.ids.length !== 1) throw new UsageError('show takes one message id');
  if (args.command === 'replay' && args.all === args.ids.length > 0) throw new UsageError('replay takes message ids or --all');

  const env = loadEnv({ ...envFragments.amqp });
  let queues = deadLetterQueues(env.AMQP_EXCHANGE, await declaredTopology());
  if (queues.length === 0) throw new Error('no service declares a consumer (build first: npm run build)');
  if (args.queue) {
    queues = queues.filter((q) => q.name === args.queue || q.source === args.queue || q.name === `${env.AMQP_EXCHANGE}.${args.queue}.dlq`);
    if (queues.length === 0) throw new UsageError(`no declared queue ${args.queue}`);
  }

  const tool = await createDeadLetterTool({ url: env.AMQP_URL }).catch((error) => {
    throw new Error(`RabbitMQ is not reachable at ${new URL(env.AMQP_URL).host} (${error.code ?? error.message})`);
  });
  try {
    if (args.command === 'list') {
      const found = [];
      for (const queue of queues) found.push({ queue, letters: await tool.list(queue) });
      if (args.json)
        process.stdout.write(
          `${JSON.stringify(
            found.map((f) => ({ ...f.queue, declared: f.letters !== null, messages: f.letters ?? [] })),
            null,
            2,
          )}\n`,
        );
      else for (const f of found) printLetters(f.queue, f.letters);
      return 0;
    }

    if (args.command === 'show') {
      const matches = [];
      for (const queue of queues) matches.push(...((await tool.list(queue)) ?? []).filter((l) => l.id === args.ids[0]));
      if (matches.length === 0) {
        process.stderr.write(`no dead letter with id ${args.ids[0]}\n`);
        return 1;
      }
      if (args.json) process.stdout.write(`${JSON.stringify(matches, null, 2)}\n`);
      else matches.forEach(printLetter);
      if (matches.length > 1 && !args.json)
        process.stdout.write(`(${matches.length} copies: the consumer applies the first replayed one only)\n`);
      return 0;
    }

    if (args.command === 'replay') {
      let replayed = 0;
      let failed = 0;
      const seen = new Set();
      for (const queue of queues) {
        const result = await tool.replay(queue, args.all ? 'all' : args.ids);
        for (const l of result.replayed) {
          seen.add(l.id);
          process.stdout.write(`replayed ${l.id} from ${queue.name} to ${l.exchange} / ${l.routingKey}\n`);
        }
        for (const f of result.failed) {
          seen.add(f.letter.id);
          process.stderr.write(`not replayed ${f.letter.id} from ${queue.name}: ${f.reason} (left in the queue)\n`);
        }
        replayed += result.replayed.length;
        failed += result.failed.length;
      }
      for (const id of args.ids) if (!seen.has(id)) process.stderr.write(`no dead letter with id ${id}\n`);
      process.stdout.write(`${replayed} replayed, ${failed} left in the dead-letter queues\n`);
      return failed > 0 || args.ids.some((id) => !seen.has(id)) ? 1 : 0;
    }

    // purge
    const counts = [];
    for (const queue of queues) counts.push({ queue, count: ((await tool.list(queue)) ?? []).length });
    const total = counts.reduce((sum, c) => sum + c.count, 0);
    if (total === 0) {
      process.stdout.write('the dead-letter queues are empty: nothing to purge\n');
      return 0;
    }
    for (const c of counts) if (c.count) process.stdout.write(`${c.queue.name}: ${c.count} message${c.count === 1 ? '' : 's'}\n`);
    if (!args.yes && !(await confirm(`Drop these ${total} messages for good? Type "yes": `))) {
      process.stdout.write('nothing purged\n');
      return 1;
    }
    for (const c of counts) if (c.count) process.stdout.write(`purged ${await tool.purge(c.queue)} from ${c.queue.name}\n`);
    return 0;
  } finally {
    await tool.close();
  }
}

main().then(
  (code) => process.exit(code),
  (error) => {
    if (error instanceof UsageError) {
      process.stderr.write(`${error.message}\n\n${USAGE}\n`);
      process.exit(2);
    }
    process.stderr.write(`dlq failed: ${error.message}\n`);
    process.exit(1);
  },
);
