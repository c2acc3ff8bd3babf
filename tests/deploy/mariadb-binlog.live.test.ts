import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import mysql from 'mysql2/promise';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase } from '@bth/platform/db';
import { silentLogger, startPrivateMariadb, type PrivateMariadb } from '@bth/testkit';
import { SCHEMAS } from '@bth/fixtures/schemas';
import { SUBGRAPHS, type SubgraphName } from '@bth/fixtures/paths';

/**
 * The production MariaDB (deploy/k8s/infra/mariadb.yaml) replicates, so it keeps a binary log, and
 * each subgraph's user holds privileges on its own database only (its Grant). With a binary log,
 * MariaDB refuses CREATE TRIGGER (orders' history triggers) to a user without SUPER — error 1419 —
 * unless `log_bin_trust_function_creators` is on; the migration Job would fail on orders and no
 * orders pod would ever start. Here every subgraph's migrations run as exactly such a user, on a
 * private server started with the manifest's my.cnf and a binary log.
 */
const ROOT = resolve(fileURLToPath(import.meta.url), '..', '..', '..');
const manifest = parseAllDocuments(readFileSync(join(ROOT, 'deploy/k8s/infra/mariadb.yaml'), 'utf8')).map((doc) => doc.toJSON());
const server = manifest.find((doc) => doc.kind === 'MariaDB');
const grants: { username: string; database: string; privileges: string[] }[] = manifest
  .filter((doc) => doc.kind === 'Grant')
  .map((doc) => doc.spec);

// Production sizing, not behaviour: the test server keeps its small buffer pool.
const SIZING = new Set(['innodb_buffer_pool_size']);
/** The manifest's `myCnf` as mariadbd options (`key=value` lines of its [mariadb] section). */
function serverOptions(myCnf: string): string[] {
  return myCnf
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#') && !line.startsWith('['))
    .filter((line) => !SIZING.has(line.split('=')[0]!.trim()))
    .map((line) => `--${line}`);
}

let mariadb: PrivateMariadb;
let root: mysql.Connection;
beforeAll(async () => {
  // --log-bin and a server id: what the operator's replication turns on for every member.
  mariadb = await startPrivateMariadb({ serverArgs: ['--log-bin=binlog', '--server-id=1', ...serverOptions(server.spec.myCnf)] });
  root = await mysql.createConnection({ socketPath: mariadb.socket, user: 'root' });
});
afterAll(async () => {
  await root?.end();
  await mariadb?.destroy();
});

const PASSWORD = 'Binlog-test-1';
/** The database and user the manifest's Grant names, created as the operator would. */
async function grantedUrl(subgraph: SubgraphName, databaseSuffix = ''): Promise<string> {
  const grant = grants.find((g) => g.username === `bth_${subgraph}`);
  if (!grant) throw new Error(`no Grant for bth_${subgraph} in deploy/k8s/infra/mariadb.yaml`);
  const database = `${grant.database}${databaseSuffix}`;
  await root.query(`CREATE DATABASE IF NOT EXISTS \`${database}\``);
  await root.query(`CREATE USER IF NOT EXISTS '${grant.username}'@'%' IDENTIFIED BY '${PASSWORD}'`);
  await root.query(`GRANT ${grant.privileges.join(', ')} ON \`${database}\`.* TO '${grant.username}'@'%'`);
  return `mysql://${grant.username}:${PASSWORD}@127.0.0.1:${mariadb.port}/${database}`;
}

async function migrateAs(subgraph: SubgraphName, url: string): Promise<void> {
  const database = createDatabase({ url, poolSize: 1, logger: silentLogger });
  try {
    await SCHEMAS[subgraph].migrate(database);
  } finally {
    await database.close();
  }
}

describe('the production MariaDB settings', () => {
  it('When the server keeps a binary log, then every subgraph migrates as its own user with only its Grant, triggers included', async () => {
    const [[logBin]] = (await root.query("SHOW VARIABLES LIKE 'log_bin'")) as unknown as [{ Value: string }[]];
    expect(logBin!.Value).toBe('ON');
    for (const subgraph of SUBGRAPHS) await migrateAs(subgraph, await grantedUrl(subgraph));
    const [triggers] = (await root.query(
      "SELECT trigger_name FROM information_schema.triggers WHERE trigger_schema = 'bth_orders'",
    )) as unknown as [{ trigger_name: string }[]];
    expect(triggers.map((t) => t.trigger_name).sort()).toEqual(['order_events_on_insert', 'order_events_on_status']);
  });

  it('When log_bin_trust_function_creators is off, as MariaDB ships it, then the orders migration is refused: the setting in the manifest is what lets it run', async () => {
    await root.query('SET GLOBAL log_bin_trust_function_creators = 0');
    try {
      await expect(migrateAs('orders', await grantedUrl('orders', '_untrusted'))).rejects.toThrow(
        /SUPER privilege and binary logging is enabled/,
      );
    } finally {
      await root.query('SET GLOBAL log_bin_trust_function_creators = 1');
    }
  });
});
