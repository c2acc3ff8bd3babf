import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { randomUUID } from 'node:crypto';
import { HeaderMap, type ApolloServer, type BaseContext } from '@apollo/server';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import { REQUEST_ID_HEADER, runWithRequestId } from './identity.js';

/**
 * A small HTTP front for Apollo Server (v5 ships no framework integration): GraphQL on
 * `/graphql`, health and metrics probes, and optional extra JSON routes (internal APIs).
 * Both the router and every subgraph use it, so probes and shutdown behave the same everywhere.
 */
export type ReadinessCheck = () => Promise<void>;

export interface JsonRoute {
  method: 'GET' | 'POST';
  path: string;
  handler: (input: {
    body: unknown;
    query: URLSearchParams;
    headers: IncomingMessage['headers'];
    requestId: string;
  }) => Promise<{ status: number; body: unknown }>;
}

export interface HttpServerOptions<TContext extends BaseContext> {
  apollo: ApolloServer<TContext>;
  context: (input: { req: IncomingMessage; requestId: string }) => Promise<TContext>;
  logger: Logger;
  metrics: Metrics;
  readiness: Record<string, ReadinessCheck>;
  routes?: JsonRoute[];
  maxBodyBytes?: number;
  /** Origins allowed by CORS (e.g. Apollo Sandbox). Empty: no CORS headers. */
  corsOrigins?: string[];
  /**
   * Admission of a GraphQL request, asked before its body is read: true (or a promise of true) to
   * go on, false when it has already answered (refused) or its client has gone. While a request
   * waits here it holds only Node's own objects; its body stays unread.
   */
  admit?: (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;
  /** Handles a request before GraphQL runs; return true when it already answered (e.g. limits). */
  beforeGraphQL?: (req: IncomingMessage, res: ServerResponse, body: unknown) => boolean;
  /** Slow-client cut-offs; production uses the defaults, tests pass short ones. */
  timeouts?: Partial<HttpTimeouts>;
  /**
   * In-flight deduplication: requests that get the same key while one of them runs are answered
   * with that one's status, headers and body instead of running again. Undefined: never shared.
   * The caller decides what may be shared (the router: queries of one caller, never mutations).
   */
  shareKey?: (req: IncomingMessage, body: unknown) => string | undefined;
}

/** What a shared GraphQL execution answered; null when it cannot be replayed (a streamed body). */
type SharedAnswer = { status: number; headers: [string, string][]; body: string } | null;

export interface HttpTimeouts {
  /** From a request's first byte until its headers are complete. */
  headersMs: number;
  /** From the headers until the body is complete. */
  bodyMs: number;
  /** How often Node checks every connection against `headersMs` (it cuts up to this much late). */
  checkIntervalMs: number;
  /** How long an unread body may take to drain after an early answer before the socket is closed. */
  drainMs: number;
}

export const DEFAULT_HTTP_TIMEOUTS: HttpTimeouts = {
  // Real clients send headers in one packet; 10 s covers a stalled mobile link, while a slow-loris
  // client sending a byte at a time holds its socket no longer than this.
  headersMs: 10_000,
  // Bodies are at most the body limit (64 KB at the router): 15 s is ~35 kbit/s, slower than any
  // link a buyer would use, and bounds how long a client trickling a body keeps a request open.
  bodyMs: 15_000,
  // Checking every open connection once a second is cheap and cuts within a second of the limit.
  checkIntervalMs: 1_000,
  // A client that overshoots a limit by a little still gets a reusable connection; 5 s of reading
  // it is enough at any real link speed for the drain cap below.
  drainMs: 5_000,
};

/**
 * After an early answer (413, 404, …) the rest of the body is read and dropped so the client can
 * finish sending, read the answer and send its next request on the socket; past this many bytes
 * the socket is closed instead. 8 MiB is read and dropped in milliseconds here and covers any
 * mistaken upload a real client sends; past it a sender is not worth reading.
 */
const MAX_DRAIN_BYTES = 8 * 1024 * 1024;

/** Connections the kernel queues until Node accepts them; see `listen` below. */
const LISTEN_BACKLOG = 4096;

export interface RunningHttpServer {
  server: Server;
  port: number;
  url: string;
  /** Stop accepting, mark not ready, finish in-flight requests (up to `graceMs`). */
  close(graceMs?: number): Promise<void>;
}

class BodyTooLarge extends Error {}
class BodyTimeout extends Error {}
/** The client went away (or Node cut it off) before its body arrived: nobody to answer. */
class ClientGone extends Error {}

/**
 * Reads the body up to `limit` bytes within `timeoutMs`. It never destroys the request: on
 * overflow the stream keeps flowing with nobody listening, so the rest is dropped and the
 * parser stays in step for the next request on the socket (see `drainOrClose`).
 */
function readBody(req: IncomingMessage, limit: number, timeoutMs: number): Promise<string> {
  if (Number(req.headers['content-length'] ?? 0) > limit) return Promise.reject(new BodyTooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const settle = (error: Error | null) => {
      clearTimeout(timer);
      req.off('data', onData).off('end', onEnd).off('error', onGone).off('close', onGone);
      if (error) reject(error);
      else resolve(Buffer.concat(chunks).toString('utf8'));
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) settle(new BodyTooLarge());
      else chunks.push(chunk);
    };
    const onEnd = () => settle(null);
    const onGone = () => settle(new ClientGone());
    const timer = setTimeout(() => settle(new BodyTimeout()), timeoutMs);
    req.on('data', onData).on('end', onEnd).on('error', onGone).on('close', onGone);
  });
}

/**
 * Called once a response is flushed. A body still unread (an early answer) is drained so the
 * kept-alive socket can carry the next request; a body larger than MAX_DRAIN_BYTES or slower
 * than `drainMs` gets the socket closed instead, so nothing waits behind it.
 */
function drainOrClose(req: IncomingMessage, drainMs: number): void {
  if (req.complete || req.socket.destroyed) return;
  let drained = 0;
  const close = () => {
    clearTimeout(timer);
    req.socket.destroy();
  };
  const timer = setTimeout(close, drainMs);
  req.on('data', (chunk: Buffer) => {
    drained += chunk.length;
    if (drained > MAX_DRAIN_BYTES) close();
  });
  req.once('end', () => clearTimeout(timer));
  req.once('close', () => clearTimeout(timer));
  req.resume();
}

/**
 * Before a body refused as too large is answered, the rest of it is read and dropped (up to
 * MAX_DRAIN_BYTES, within `drainMs`). A client still writing when the socket closes gets
 * EPIPE/ECONNRESET instead of the 413 (HTTP clients, Node's included, stop at the write error),
 * and a connection cut halfway cannot carry the next request. When the body did not end in that
 * bound, the answer says `connection: close` and the socket goes with it.
 */
function discardRestBeforeAnswer(req: IncomingMessage, res: ServerResponse, drainMs: number): Promise<void> {
  if (req.complete) return Promise.resolve();
  return new Promise((resolve) => {
    let drained = 0;
    const done = (ended: boolean) => {
      clearTimeout(timer);
      req.off('data', onData).off('end', onEnd).off('close', onClose);
      if (!ended) res.setHeader('connection', 'close');
      resolve();
    };
    const onData = (chunk: Buffer) => {
      drained += chunk.length;
      if (drained > MAX_DRAIN_BYTES) done(false);
    };
    const onEnd = () => done(true);
    const onClose = () => done(false);
    const timer = setTimeout(() => done(false), drainMs);
    req.on('data', onData).on('end', onEnd).on('close', onClose);
    req.resume();
  });
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** A GraphQL-shaped error body for failures that happen before GraphQL runs. */
export function sendGraphQLError(res: ServerResponse, status: number, code: string, message: string, extra: Record<string, unknown> = {}) {
  sendJson(res, status, { errors: [{ message, extensions: { code, ...extra } }] });
}

export async function checkReadiness(checks: Record<string, ReadinessCheck>, timeoutMs = 2_000) {
  const results: Record<string, string> = {};
  let ok = true;
  await Promise.all(
    Object.entries(checks).map(async ([name, check]) => {
      try {
        await Promise.race([check(), new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), timeoutMs).unref())]);
        results[name] = 'ok';
      } catch (error) {
        ok = false;
        results[name] = (error as Error).message || 'failed';
      }
    }),
  );
  return { ok, results };
}

export function createHttpServer<TContext extends BaseContext>(options: HttpServerOptions<TContext>) {
  const { apollo, logger, metrics } = options;
  const maxBody = options.maxBodyBytes ?? 1_000_000;
  const timeouts = { ...DEFAULT_HTTP_TIMEOUTS, ...options.timeouts };
  const routes = new Map((options.routes ?? []).map((r) => [`${r.method} ${r.path}`, r]));
  const cors = new Set(options.corsOrigins ?? []);
  let shuttingDown = false;
  let inFlight = 0;
  let idle: (() => void) | undefined;
  const sharing = new Map<string, Promise<SharedAnswer>>();

  async function handle(req: IncomingMessage, res: ServerResponse, requestId: string) {
    const url = new URL(req.url ?? '/', 'http://localhost');
    res.setHeader(REQUEST_ID_HEADER, requestId);
    const origin = req.headers.origin;
    if (origin && cors.has(origin)) {
      res.setHeader('access-control-allow-origin', origin);
      res.setHeader('access-control-allow-credentials', 'true');
      res.setHeader('vary', 'origin');
      if (req.method === 'OPTIONS') {
        res.setHeader('access-control-allow-methods', 'GET, POST, OPTIONS');
        res.setHeader(
          'access-control-allow-headers',
          req.headers['access-control-request-headers'] ?? 'content-type, authorization, apollographql-client-name, x-request-id',
        );
        res.setHeader('access-control-max-age', '600');
        res.writeHead(204).end();
        return 'preflight';
      }
    }

    if (url.pathname === '/health/live') {
      sendJson(res, 200, { status: 'ok' });
      return 'live';
    }
    if (url.pathname === '/health/ready') {
      if (shuttingDown) {
        sendJson(res, 503, { status: 'shutting-down' });
        return 'ready';
      }
      const { ok, results } = await checkReadiness(options.readiness);
      sendJson(res, ok ? 200 : 503, { status: ok ? 'ok' : 'unavailable', checks: results });
      return 'ready';
    }
    if (url.pathname === '/metrics') {
      const text = await metrics.registry.metrics();
      res.writeHead(200, { 'content-type': metrics.registry.contentType });
      res.end(text);
      return 'metrics';
    }

    const route = routes.get(`${req.method} ${url.pathname}`);
    if (route) {
      let body: unknown;
      try {
        const raw = await readBody(req, maxBody, timeouts.bodyMs);
        body = raw ? JSON.parse(raw) : undefined;
      } catch (error) {
        if (error instanceof ClientGone) return 'aborted';
        if (error instanceof BodyTimeout) res.setHeader('connection', 'close');
        if (error instanceof BodyTooLarge) await discardRestBeforeAnswer(req, res, timeouts.drainMs);
        const [status, message] =
          error instanceof BodyTooLarge
            ? [413, 'The body is too large']
            : error instanceof BodyTimeout
              ? [408, 'The body did not arrive in time']
              : [400, 'Invalid JSON body'];
        sendJson(res, status, { error: { code: 'BAD_REQUEST', message } });
        return url.pathname;
      }
      const result = await route.handler({ body, query: url.searchParams, headers: req.headers, requestId });
      sendJson(res, result.status, result.body);
      return url.pathname;
    }

    if (url.pathname !== '/graphql' && url.pathname !== '/') {
      sendJson(res, 404, { error: { code: 'NOT_FOUND', message: 'Not found' } });
      return 'not-found';
    }

    if (options.admit) {
      const admitted = options.admit(req, res);
      if (admitted !== true && (admitted === false || !(await admitted))) return 'graphql';
    }
    let body: unknown;
    if (req.method === 'POST') {
      let raw: string;
      try {
        raw = await readBody(req, maxBody, timeouts.bodyMs);
      } catch (error) {
        if (error instanceof BodyTooLarge) {
          await discardRestBeforeAnswer(req, res, timeouts.drainMs);
          sendGraphQLError(res, 413, 'PAYLOAD_TOO_LARGE', `The request body is larger than ${maxBody} bytes`);
          return 'graphql';
        }
        if (error instanceof BodyTimeout) {
          res.setHeader('connection', 'close');
          sendGraphQLError(res, 408, 'BAD_REQUEST', `The request body did not arrive within ${timeouts.bodyMs} ms`);
          return 'graphql';
        }
        if (error instanceof ClientGone) return 'aborted';
        throw error;
      }
      const type = req.headers['content-type'] ?? '';
      if (type.includes('application/json') || type.includes('application/graphql-response+json')) {
        try {
          body = JSON.parse(raw);
        } catch {
          sendGraphQLError(res, 400, 'BAD_REQUEST', 'The request body is not valid JSON');
          return 'graphql';
        }
      } else {
        body = raw;
      }
    }
    if (options.beforeGraphQL?.(req, res, body)) return 'graphql';

    const key = options.shareKey?.(req, body);
    const running = key === undefined ? undefined : sharing.get(key);
    if (running) {
      // Our own x-request-id is already on `res`; the answer carries nothing request-specific.
      const answer = await running;
      if (answer) {
        for (const [name, value] of answer.headers) res.setHeader(name, value);
        res.statusCode = answer.status;
        res.end(answer.body);
        return 'graphql';
      }
    }
    let share: ((answer: SharedAnswer) => void) | undefined;
    if (key !== undefined && !running) {
      sharing.set(key, new Promise<SharedAnswer>((resolve) => (share = resolve)));
    }
    try {
      return await execute(req, res, url, body, requestId, share);
    } finally {
      // Whatever happened (an exception included), waiters are released; on null they run themselves.
      share?.(null);
      if (share) sharing.delete(key!);
    }
  }

  async function execute(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    body: unknown,
    requestId: string,
    share: ((answer: SharedAnswer) => void) | undefined,
  ): Promise<string> {
    const headers = new HeaderMap();
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    const result = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: (req.method ?? 'GET').toUpperCase(), headers, search: url.search, body },
      context: () => options.context({ req, requestId }),
    });
    for (const [name, value] of result.headers) res.setHeader(name, value);
    res.statusCode = result.status ?? 200;
    if (result.body.kind === 'complete') {
      share?.({ status: res.statusCode, headers: [...result.headers], body: result.body.string });
      res.end(result.body.string);
    } else {
      for await (const chunk of result.body.asyncIterator) res.write(chunk);
      res.end();
    }
    return 'graphql';
  }

  // Node starts its header clock at a request's first byte, so a connection that sends nothing
  // would be held open forever; it gets the same time as headers to start its first request.
  const silentConnections = new WeakMap<Socket, NodeJS.Timeout>();
  const onConnection = (socket: Socket) => {
    const timer = setTimeout(() => socket.destroy(), timeouts.headersMs);
    silentConnections.set(socket, timer);
    socket.once('close', () => clearTimeout(timer));
  };
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    clearTimeout(silentConnections.get(req.socket));
    inFlight += 1;
    const started = process.hrtime.bigint();
    // A body this large is never read or drained whole, so the socket will close after the answer.
    if (Number(req.headers['content-length'] ?? 0) > maxBody + MAX_DRAIN_BYTES) res.setHeader('connection', 'close');
    // Registered after Node's own 'finish' handler, which may hand the unread body to _dump().
    res.once('finish', () => drainOrClose(req, timeouts.drainMs));
    // The caller's id when it sent a sane one (the router's, or another service's), else a new one.
    const incomingId = req.headers[REQUEST_ID_HEADER];
    const requestId = typeof incomingId === 'string' && /^[\w-]{1,64}$/.test(incomingId) ? incomingId : randomUUID();
    runWithRequestId(requestId, () => handle(req, res, requestId))
      .then((route) => {
        metrics.httpDuration.observe({ route, status: String(res.statusCode) }, Number(process.hrtime.bigint() - started) / 1e9);
      })
      .catch((error) => {
        logger.error('unhandled http error', { error });
        if (!res.headersSent) sendGraphQLError(res, 500, 'INTERNAL_SERVER_ERROR', 'Internal server error');
        else res.end();
      })
      .finally(() => {
        inFlight -= 1;
        if (inFlight === 0) idle?.();
      });
  };
  const server = createServer(
    {
      headersTimeout: timeouts.headersMs,
      // Node's own cut-off for a whole request; a backstop for routes that never read their body.
      requestTimeout: timeouts.headersMs + timeouts.bodyMs,
      connectionsCheckingInterval: timeouts.checkIntervalMs,
    },
    onRequest,
  );
  server.on('connection', onConnection);
  // Keep-alive longer than the router's agent idle timeout so the client, not us, closes idle sockets.
  server.keepAliveTimeout = 65_000;

  return {
    server,
    async listen(port: number, host: string): Promise<RunningHttpServer> {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        // Node's default accept backlog is 511: a burst of thousands of new connections (a flash
        // sale opening) overflows it and the kernel drops or resets the rest before Node sees
        // them. Linux caps this at net.core.somaxconn (4096 on current kernels).
        server.listen({ port, host, backlog: LISTEN_BACKLOG }, () => {
          server.off('error', reject);
          resolve();
        });
      });
      const address = server.address() as AddressInfo;
      const url = `http://${host.includes(':') ? `[${host}]` : host}:${address.port}/graphql`;
      return {
        server,
        port: address.port,
        url,
        async close(graceMs = 10_000) {
          shuttingDown = true;
          const closed = new Promise<void>((resolve) => server.close(() => resolve()));
          server.closeIdleConnections();
          if (inFlight > 0) {
            await Promise.race([new Promise<void>((resolve) => (idle = resolve)), new Promise((r) => setTimeout(r, graceMs).unref())]);
          }
          server.closeAllConnections();
          await closed;
        },
      };
    },
  };
}
