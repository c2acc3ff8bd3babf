// Installs and starts the peer gateway for the router comparison. The packages go into a cache
// dir inside tests/load (gitignored by the .gitignore written there), installed by `npm install
// --prefix` at bench time: the peer is never a dependency of the project.
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

export const PEER_PACKAGES = ['@graphql-hive/gateway@2', '@graphql-hive/router-runtime@1'];

export async function installPeer(dir, log) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, '.gitignore'), '*\n');
  if (!existsSync(join(dir, 'package.json'))) writeFileSync(join(dir, 'package.json'), '{ "name": "bench-peer", "private": true }\n');
  if (
    existsSync(join(dir, 'node_modules', '@graphql-hive', 'router-runtime')) &&
    existsSync(join(dir, 'node_modules', '@graphql-hive', 'gateway-runtime'))
  )
    return;
  log(`installing the peer (${PEER_PACKAGES.join(', ')}) into ${dir}…`);
  await promisify(execFile)('npm', ['install', '--prefix', dir, '--no-audit', '--no-fund', '--loglevel=error', ...PEER_PACKAGES], {
    maxBuffer: 16 * 2 ** 20,
  });
}

/** The supergraph with every subgraph's routing URL replaced by `urls[name]`. */
export function supergraphFor(source, urls) {
  return readFileSync(source, 'utf8').replace(/@join__graph\(name: "(\w+)", url: "[^"]*"\)/g, (whole, name) =>
    urls[name] ? `@join__graph(name: "${name}", url: "${urls[name]}")` : whole,
  );
}

export async function startPeer({ dir, supergraphFile, port, entry }) {
  const child = spawn(process.execPath, [entry, dir, supergraphFile, String(port)], {
    env: { ...process.env, NODE_ENV: 'production' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  await new Promise((resolve, reject) => {
    // The peer loads its planner (a native addon) and the supergraph before it listens.
    const timer = setTimeout(() => reject(new Error(`peer gateway not ready in 60 s: ${stderr}`)), 60_000);
    child.stdout.on('data', (chunk) => {
      if (String(chunk).includes('ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`peer gateway exited with ${code}: ${stderr}`));
    });
  });
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    pid: child.pid,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', resolve);
        child.kill('SIGTERM');
        // The gateway's own shutdown waits for idle keep-alive sockets; the bench does not.
        setTimeout(() => child.kill('SIGKILL'), 3_000).unref();
      }),
  };
}
