import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteAmqpTopology, dropTestDatabases, silentLogger, testDatabaseUrl, testExchange, waitFor } from '@bth/testkit';
import { createAmqp, PoisonMessageError, type AmqpClient } from '@bth/platform/amqp';
import { createDatabase, ensureDatabase, migrate, type DatabaseClient } from '@bth/platform/db';
import type { DeadLetter } from '@bth/platform/dead-letters';
import { claimInbox, messagingMigrations } from '@bth/platform/outbox';
import { ROOT } from '../../scripts/stack.mjs';
import { consumers } from '../../subgraphs/products/src/topology.js';

/**
 * `npm run dlq` against the real RabbitMQ and MariaDB: a consumer declared exactly as products
 * declares `products.sales` (same topology module, on an exchange of this run), applying messages
 * once per id through the inbox like every service consumer. The tool runs as the CLI an
 * operator types, and finds the queue through the services' declared topology.
 */
const exchange = testExchange('dlq');
const dbUrl = testDatabaseUrl('dlq');
let database: DatabaseClient;
let amqp: AmqpClient;
let fixed = false;
let databaseDown = false;
const handled: string[] = [];
const applied: string[] = [];

interface QueueListing {
  service: string;
  name: string;
  declared: boolean;
  messages: DeadLetter[];
}

function dlq(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [join(ROOT, 'scripts', 'dlq.mjs'), ...args],
      // 90 s: the tool itself takes a second, but loading it (Node + the platform package) took up to
      // 20 s on the shared 2-core CI box under load; far more than that is a hang.
      { env: { ...process.env, AMQP_EXCHANGE: exchange, AMQP_URL: 'amqp://guest:guest@127.0.0.1:5672' }, timeout: 90_000 },
      (error, stdout, stderr) =>
        resolve({
          code: error ? Number((error as { code?: number }).code ?? 1) : 0,
          stdout,
          stderr: `${stderr}${error?.killed ? ' (killed: timeout)' : ''}`,
        }),
    );
    child.stdin?.end(input ?? '');
  });
}

async function listing(): Promise<QueueListing> {
  const result = await dlq(['list', '--json', '--queue', 'products.sales']);
  expect(result.code, `${result.stderr}${result.stdout}`).toBe(0);
  return (JSON.parse(result.stdout) as QueueListing[])[0]!;
}

const saleMessage = (v: number) => ({ v, eventId: randomUUID(), productId: randomUUID(), status: 'LIVE' });

beforeAll(async () => {
  await ensureDatabase(dbUrl);
  database = createDatabase({ url: dbUrl, poolSize: 4, logger: silentLogger });
  await migrate(database, new URL('.', import.meta.url).pathname, silentLogger, messagingMigrations);
  amqp = createAmqp({ url: 'amqp://guest:guest@127.0.0.1:5672', exchange, logger: silentLogger });
  await amqp.waitForConnection(30_000);
  await amqp.consume({
    ...consumers.sales,
    maxAttempts: 3,
    handler: async (message) => {
      handled.push(message.messageId);
      // Before the fix this consumer knows only v1 of the contract: a v2 payload is poison.
      if (!fixed && (message.payload as { v: number }).v !== 1)
        throw new PoisonMessageError(`unsupported payload version ${(message.payload as { v: number }).v}`);
      if (databaseDown) throw new Error('connect ECONNREFUSED (database down)');
      const first = await database.db.transaction((tx) => claimInbox(tx, consumers.sales.queue, message.messageId, new Date()));
      if (first) applied.push(message.messageId);
    },
  });
});

afterAll(async () => {
  await amqp?.close();
  await database?.close();
  await dropTestDatabases();
  await deleteAmqpTopology(exchange, [consumers.sales.queue, 'events.sales']).catch(() => undefined);
});

describe('npm run dlq', () => {
  it('When a message is poison, then list shows it with its reason and deliveries, and replay after the fix delivers it once; a second copy is deduplicated', {
    timeout: 600_000,
  }, async () => {
    const id = randomUUID();
    // Published twice (at-least-once publishing does that): two copies land in the DLQ.
    await amqp.publish('sale.started', saleMessage(2), { messageId: id });
    await amqp.publish('sale.started', saleMessage(2), { messageId: id });

    const dead = await waitFor(async () => {
      const found = (await listing()).messages.filter((m) => m.id === id);
      return found.length === 2 ? found : null;
    }, 120_000);
    expect(dead[0]).toMatchObject({ routingKey: 'sale.started', exchange, deliveries: 1 });
    expect(dead[0]!.error).toContain('unsupported payload version 2');
    expect(applied).not.toContain(id);

    const text = await dlq(['list']);
    expect(text.stdout).toContain(`${exchange}.products.sales.dlq  (products): 2 messages`);
    expect(text.stdout).toMatch(new RegExp(`${id}  sale.started  reason=rejected  deliveries=1`));
    expect(text.stdout).toContain('error: poison: unsupported payload version 2');
    // The other service's DLQ is found from its topology too.
    expect(text.stdout).toContain(`${exchange}.events.sales.dlq  (events)`);

    const shown = await dlq(['show', id]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain(`origin         exchange ${exchange}, routing key sale.started`);
    expect(shown.stdout).toContain('"v": 2');

    // Looking changed nothing.
    expect((await listing()).messages.filter((m) => m.id === id)).toHaveLength(2);

    fixed = true;
    const handledBefore = handled.filter((h) => h === id).length;
    const replay = await dlq(['replay', id]);
    expect(replay.code, replay.stderr).toBe(0);
    expect(replay.stdout).toContain('2 replayed, 0 left');
    await waitFor(() => handled.filter((h) => h === id).length === handledBefore + 2, 60_000);
    // Both copies reached the normal consumer; the inbox let exactly one through.
    expect(applied.filter((a) => a === id)).toHaveLength(1);
    expect((await listing()).messages.filter((m) => m.id === id)).toHaveLength(0);

    // Replaying what is no longer there says so and changes nothing.
    const again = await dlq(['replay', id]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`no dead letter with id ${id}`);
    expect(applied.filter((a) => a === id)).toHaveLength(1);
  });

  it('When a handler keeps failing, then the message is dead-lettered after maxAttempts with the last error, and replay --all brings it back', {
    timeout: 600_000,
  }, async () => {
    databaseDown = true;
    const id = randomUUID();
    await amqp.publish('sale.ended', saleMessage(1), { messageId: id });
    const [dead] = await waitFor(async () => {
      const found = (await listing()).messages.filter((m) => m.id === id);
      return found.length ? found : null;
    }, 120_000);
    expect(dead).toMatchObject({ routingKey: 'sale.ended', deliveries: 3 });
    expect(dead!.error).toContain('failed 3 times: connect ECONNREFUSED (database down)');
    expect(handled.filter((h) => h === id)).toHaveLength(3);

    databaseDown = false;
    const replay = await dlq(['replay', '--all']);
    expect(replay.code, replay.stderr).toBe(0);
    await waitFor(() => applied.includes(id), 60_000);
    expect((await listing()).messages).toHaveLength(0);
  });

  it('When purging, then it asks first, keeps everything unless told yes, and empties the queue with --yes', {
    timeout: 600_000,
  }, async () => {
    fixed = false;
    const id = randomUUID();
    await amqp.publish('sale.updated', saleMessage(3), { messageId: id });
    await waitFor(async () => ((await listing()).messages.some((m) => m.id === id) ? true : null), 120_000);

    const refused = await dlq(['purge'], 'no\n');
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain('Drop these 1 messages for good?');
    expect(refused.stdout).toContain('nothing purged');
    expect((await listing()).messages).toHaveLength(1);

    const purged = await dlq(['purge', '--yes']);
    expect(purged.code, purged.stderr).toBe(0);
    expect(purged.stdout).toContain(`purged 1 from ${exchange}.products.sales.dlq`);
    expect((await listing()).messages).toHaveLength(0);
    expect(applied).not.toContain(id);
  });
});
