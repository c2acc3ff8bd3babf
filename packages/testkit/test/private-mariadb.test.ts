import { existsSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import mysql from 'mysql2/promise';
import { startPrivateMariadb, type PrivateMariadb } from '@bth/testkit';

let server: PrivateMariadb;
beforeAll(async () => {
  server = await startPrivateMariadb();
});
afterAll(async () => {
  await server?.destroy();
});

const connect = () => mysql.createConnection({ socketPath: server.socket, user: 'root', connectTimeout: 1_000 });

it('is a server of its own, not the shared one', async () => {
  expect(server.socket).not.toBe('/run/mysqld/mysqld.sock');
  const conn = await connect();
  const [rows] = (await conn.query('SELECT @@datadir AS datadir, @@port AS port')) as unknown as [Array<{ datadir: string; port: number }>];
  await conn.end();
  expect(rows[0]!.datadir.replace(/\/$/, '')).toBe(server.datadir);
  expect(Number(rows[0]!.port)).toBe(server.port);
  expect(server.url('shop')).toContain(encodeURIComponent(server.socket));
});

it('survives kill -9 with every committed row (crash recovery on the same data directory)', async () => {
  const conn = await connect();
  await conn.query('CREATE DATABASE crash_check');
  await conn.query('CREATE TABLE crash_check.t (id INT PRIMARY KEY) ENGINE=InnoDB');
  await conn.query('INSERT INTO crash_check.t VALUES (1), (2), (3)');
  await conn.end();

  const pid = server.pid;
  await server.kill();
  expect(server.pid).toBeUndefined();
  expect(() => process.kill(pid!, 0)).toThrow();
  await expect(connect()).rejects.toThrow();

  await server.start();
  const again = await connect();
  const [rows] = (await again.query('SELECT COUNT(*) AS n FROM crash_check.t')) as unknown as [Array<{ n: number }>];
  await again.end();
  expect(Number(rows[0]!.n)).toBe(3);
});

it('destroy removes the data directory', async () => {
  const other = await startPrivateMariadb();
  await other.destroy();
  expect(existsSync(other.datadir)).toBe(false);
  expect(other.pid).toBeUndefined();
});
