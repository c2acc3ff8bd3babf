import { createServer, connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A TCP proxy in front of a real server (RabbitMQ, Redis, MariaDB), for fault tests: `cut()`
 * destroys every open connection (what a network failure or broker restart looks like to the
 * client), `block()` also refuses new ones until `unblock()`, and `stall()` keeps every
 * connection open but forwards nothing either way until `flow()` (a silent network, or a server
 * that hangs: the client's own deadlines are all that end its waits). Nothing is mocked: the
 * client talks to the real server through it.
 */
export interface TcpProxy {
  port: number;
  url(scheme: string, auth?: string): string;
  cut(): void;
  block(): void;
  unblock(): void;
  stall(): void;
  flow(): void;
  close(): Promise<void>;
  /** Connections currently open through the proxy. */
  connections(): number;
}

export async function startTcpProxy(target: { host?: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let blocked = false;
  let stalled = false;
  const pairs = new Set<[Socket, Socket]>();
  const join = ([client, upstream]: [Socket, Socket]) => {
    client.pipe(upstream);
    upstream.pipe(client);
  };
  const server = createServer((client) => {
    if (blocked) {
      client.destroy();
      return;
    }
    const upstream = connect({ host: target.host ?? '127.0.0.1', port: target.port });
    const pair: [Socket, Socket] = [client, upstream];
    sockets.add(client);
    sockets.add(upstream);
    pairs.add(pair);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
      pairs.delete(pair);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    if (!stalled) join(pair);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const cut = () => {
    for (const socket of sockets) socket.destroy();
    sockets.clear();
  };
  return {
    port,
    url: (scheme, auth) => `${scheme}://${auth ? `${auth}@` : ''}127.0.0.1:${port}`,
    cut,
    block() {
      blocked = true;
      cut();
    },
    unblock() {
      blocked = false;
    },
    stall() {
      stalled = true;
      for (const [client, upstream] of pairs) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.pause();
        upstream.pause();
      }
    },
    flow() {
      stalled = false;
      // pipe() resumes each paused side; what arrived meanwhile is delivered in order.
      for (const pair of pairs) join(pair);
    },
    connections: () => sockets.size / 2,
    async close() {
      cut();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
