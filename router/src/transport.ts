import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { ReplicaFetch } from '@bth/platform/replicas';
import { captureTraceContext } from '@bth/platform/telemetry';

/**
 * How the router sends a subgraph request: node:http on a keep-alive agent, the whole answer read
 * before it is handed on. The global fetch (undici) costs the router far more per call (a Request,
 * WHATWG streams for both bodies, an AbortSignal chain and a DOMException on every abort), and
 * subgraph answers are small JSON documents the gateway reads whole anyway.
 *
 * Reading the body inside the call also puts it under the attempt's deadline: a replica that sends
 * headers and then stalls is cut off like one that sends nothing.
 */
class BufferedResponse extends Response {
  constructor(text: string, status: number, statusText: string, headers: IncomingHttpHeaders, url: string) {
    // No body stream and no WHATWG Headers (building one per call showed in the router's profile):
    // text() and json() answer from the string already read, headers from Node's parsed object.
    super(null, { status, statusText });
    Object.defineProperties(this, {
      url: { value: url },
      headers: { value: new AnswerHeaders(headers) },
      text: { value: async () => text },
      json: { value: async (): Promise<unknown> => JSON.parse(text) },
    });
  }
}

/** The read side of Headers over Node's parsed (lower-cased) answer headers. */
class AnswerHeaders {
  constructor(private readonly raw: IncomingHttpHeaders) {}
  get(name: string): string | null {
    const value = this.raw[name.toLowerCase()];
    return value === undefined ? null : Array.isArray(value) ? value.join(', ') : String(value);
  }
  has(name: string): boolean {
    return this.raw[name.toLowerCase()] !== undefined;
  }
  *entries(): IterableIterator<[string, string]> {
    for (const name of Object.keys(this.raw).sort()) yield [name, this.get(name)!];
  }
  [Symbol.iterator]() {
    return this.entries();
  }
  forEach(callback: (value: string, name: string) => void): void {
    for (const [name, value] of this.entries()) callback(value, name);
  }
}

/**
 * The W3C traceparent of the current span (the gateway's fetch span) when tracing is on, so the
 * subgraph's spans join the client request's trace. Injected here because the http
 * instrumentation does not reach this module's named `node:http` import; with tracing off this is
 * one undefined check.
 */
function withTrace(headers: Record<string, string>): Record<string, string> {
  const traceparent = captureTraceContext();
  return traceparent === undefined ? headers : { ...headers, traceparent };
}

export function createTransport(): { fetch: ReplicaFetch; close(): void } {
  // Unbounded sockets like fetch's own pool: the replica client's deadlines, not a queue here,
  // bound a call. Kept-alive sockets are closed by the subgraph's 65 s idle timeout at the latest.
  const agent = new Agent({ keepAlive: true, scheduling: 'lifo' });
  const targets = new Map<string, URL>();

  const send: ReplicaFetch = (url, init) =>
    new Promise<Response>((resolve, reject) => {
      let target = targets.get(url);
      if (!target) {
        target = new URL(url);
        targets.set(url, target);
      }
      const req = httpRequest(
        {
          agent,
          protocol: target.protocol,
          hostname: target.hostname,
          port: target.port,
          path: `${target.pathname}${target.search}`,
          method: init.method,
          headers: withTrace(
            init.body === undefined ? init.headers : { ...init.headers, 'content-length': String(Buffer.byteLength(init.body)) },
          ),
          signal: init.signal,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', reject);
          res.on('end', () => {
            const text = chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8');
            resolve(new BufferedResponse(text, res.statusCode ?? 502, res.statusMessage ?? '', res.headers, url));
          });
        },
      );
      req.on('error', reject);
      req.end(init.body);
    });

  return { fetch: send, close: () => agent.destroy() };
}
