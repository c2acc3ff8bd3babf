import { causeCodes } from './causes.js';
import { lagTolerantTimeout } from './deadline.js';
import { currentRequestId, REQUEST_ID_HEADER } from './identity.js';
import type { Logger } from './logger.js';

/**
 * One client for every service-to-service hop that has several replicas behind it (router →
 * subgraph, orders → inventory, a subgraph reading another). It owns:
 *
 * - round-robin over the replicas that are not ejected (ejected ones are still tried, last);
 * - a deadline per attempt, capped by the caller's absolute deadline;
 * - the ONE definition of "not delivered, safe to send elsewhere": the connection was refused,
 *   the host is unreachable or unknown, or connecting timed out. Anything else may have reached
 *   the replica, so only idempotent requests go to another replica after it;
 * - ejection for a cool-down: at once when a replica refuses connections, after a few timeouts or
 *   broken connections in a row, and when it hangs. Silence alone is no proof (a call may wait
 *   seconds on a hot row lock), so when calls are outstanding to a replica and it has answered
 *   nothing for `hangMs`, its `/health/live` is asked: a live process answers that at once even
 *   while its calls wait on a lock; a frozen (SIGSTOP) or wedged one cannot. Calls in flight to a
 *   replica ejected for hanging are aborted if idempotent, so they move on to a replica that is not
 *   ejected at once instead of waiting out their own deadline. This works at any request rate:
 *   it needs no traffic to other replicas to compare with.
 *
 * An "answer" is any HTTP response, whatever its status: it proves the replica is alive.
 */

/**
 * Absolute deadline (epoch ms) of a request, set by the router on every subgraph request: past
 * it nobody waits for the answer, so a subgraph refuses the work and passes what is left down.
 */
export const DEADLINE_HEADER = 'x-bth-deadline';

/** Why one attempt did not produce a response. */
export type AttemptFailure = 'NOT_DELIVERED' | 'TIMEOUT' | 'HUNG' | 'NETWORK';

/** When a failed attempt may be sent to another replica. */
export type RetryPolicy =
  /** Idempotent (a read, or keyed so a repeat is harmless): after any failure. */
  | 'idempotent'
  /** Not idempotent: only when the request cannot have been delivered. */
  | 'notDelivered';

/** No replica produced a response. Never carries a URL: callers turn it into their own coded error. */
export class ReplicaUnavailableError extends Error {
  constructor(
    readonly service: string,
    /** The last attempt's failure; DEADLINE when the caller's deadline left no time; CANCELLED when the caller aborted. */
    readonly reason: AttemptFailure | 'DEADLINE' | 'CANCELLED',
    /** False only when no attempt can have reached a replica. */
    readonly mayHaveBeenDelivered: boolean,
  ) {
    super(`${service}: no replica answered (${reason})`);
    this.name = 'ReplicaUnavailableError';
  }
}

const NOT_DELIVERED = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** The error codes of a failed `fetch` (undici nests the socket error in `cause`, sometimes in `errors`). */
export const fetchErrorCodes = (error: unknown): string[] => causeCodes(error);

/** True when the request cannot have reached a server, so sending it elsewhere is always safe. */
export function wasNotDelivered(error: unknown): boolean {
  const codes = fetchErrorCodes(error);
  return codes.length > 0 && codes.every((code) => NOT_DELIVERED.has(code));
}

export interface ReplicaClientOptions {
  /** The service's name, for logs and errors. */
  name: string;
  /** Base URLs; a request's `path` is appended to the chosen one. */
  urls: string[];
  logger: Logger;
  // 2 s: long enough not to hammer a dead replica, short enough to notice soon that it is back.
  cooldownMs?: number;
  /** Silence (calls outstanding, no answer) after which the replica's liveness is probed. */
  hangMs?: number;
  // 500 ms: /health/live does no I/O, a live process answers it in a millisecond even when busy
  // (the probe's timer is lag-tolerant, so our own busy event loop does not count against it).
  probeTimeoutMs?: number;
  /** A replica's liveness URL from its base URL; default: `/graphql` replaced by `/health/live`. */
  healthUrl?: (url: string) => string;
  // 3 in a row: one slow answer is noise, three mean the replica is sick.
  failuresToEject?: number;
  /**
   * Called when every replica is ejected for hanging or failing (orders opens its breaker here).
   * A replica ejected because it refused a connection does not count: refusals fail fast on
   * their own, and such a replica is still tried last — in a rolling restart it is usually back.
   */
  onAllEjected?: () => void;
  /** How a request is sent; default the global fetch. The router passes a leaner one (router/src/transport.ts). */
  fetch?: ReplicaFetch;
  /** `fetch` resolves only once the whole body is read: the attempt's deadline timer then ends with the call. */
  fetchReadsWhole?: boolean;
}

/** The part of `fetch` the client uses: it must reject on `signal` abort and resolve with any HTTP answer. */
export type ReplicaFetch = (
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string; signal: AbortSignal },
) => Promise<Response>;

export interface ReplicaRequest {
  method: string;
  headers?: Record<string, string>;
  body?: string;
  /** Appended to the replica's base URL. */
  path?: string;
  /** Per attempt. */
  attemptTimeoutMs: number;
  /** Absolute (epoch ms): no attempt runs past it. */
  deadline?: number;
  retry: RetryPolicy;
  /** Attempts after one that may have been delivered (a not-delivered failover is free). */
  retries?: number;
  /** The caller gave up (client disconnected). */
  signal?: AbortSignal;
  /** Called with each attempt's own absolute deadline, to put it in a header. */
  onAttempt?: (attemptDeadline: number, headers: Record<string, string>) => void;
}

interface InFlight {
  startedAt: number;
  idempotent: boolean;
  /** HUNG: this replica hangs, another may answer. ABANDONED: the caller gave up on the whole service. */
  abort: (reason: 'HUNG' | 'ABANDONED') => void;
}

interface ReplicaState {
  url: string;
  ejectedUntil: number;
  /** Why it was last ejected: a refusal is fast and proves little; a hang or a failure streak does. */
  ejectedFor: 'refused' | 'hung' | 'failing';
  failuresInARow: number;
  lastAnswerAt: number;
  /** When its liveness probe last answered: it restarts the silence clock. */
  aliveAt: number;
  probing: boolean;
  inFlight: Set<InFlight>;
}

export function createReplicaClient(options: ReplicaClientOptions) {
  const { name, logger } = options;
  if (options.urls.length === 0) throw new Error(`${name} client needs at least one URL`);
  const cooldownMs = options.cooldownMs ?? 2_000;
  // 1 s: a live replica answers in milliseconds; a second of silence is worth a liveness probe.
  const hangMs = options.hangMs ?? 1_000;
  const probeTimeoutMs = options.probeTimeoutMs ?? 500;
  const healthUrl = options.healthUrl ?? ((url: string) => `${url.replace(/\/graphql$/, '')}/health/live`);
  const failuresToEject = options.failuresToEject ?? 3;
  const send: ReplicaFetch = options.fetch ?? ((url, init) => fetch(url, init));
  const replicas: ReplicaState[] = options.urls.map((url) => ({
    url,
    ejectedUntil: 0,
    ejectedFor: 'refused',
    failuresInARow: 0,
    lastAnswerAt: 0,
    aliveAt: 0,
    probing: false,
    inFlight: new Set(),
  }));
  let next = 0;
  let lastAnswerAnyAt = 0;
  let watchdog: NodeJS.Timeout | undefined;

  const isEjected = (replica: ReplicaState, now = Date.now()) => replica.ejectedUntil > now;

  function eject(replica: ReplicaState, kind: ReplicaState['ejectedFor'], why: string) {
    if (!isEjected(replica)) logger.warn('replica ejected; routing around it', { service: name, replica: replica.url, why, cooldownMs });
    replica.ejectedUntil = Date.now() + cooldownMs;
    replica.ejectedFor = kind;
    replica.failuresInARow = 0;
    if (options.onAllEjected && replicas.every((r) => isEjected(r) && r.ejectedFor !== 'refused')) options.onAllEjected();
  }

  function answered(replica: ReplicaState) {
    const now = Date.now();
    replica.lastAnswerAt = now;
    lastAnswerAnyAt = now;
    replica.failuresInARow = 0;
    if (replica.ejectedUntil > 0) {
      if (isEjected(replica, now)) logger.info('replica answers again', { service: name, replica: replica.url });
      replica.ejectedUntil = 0;
    }
  }

  function outstanding(): number {
    let n = 0;
    for (const replica of replicas) n += replica.inFlight.size;
    return n;
  }

  const silentSince = (replica: ReplicaState) =>
    Math.max(replica.lastAnswerAt, replica.aliveAt, Math.min(...[...replica.inFlight].map((c) => c.startedAt)));

  async function probe(replica: ReplicaState) {
    replica.probing = true;
    // Lag-tolerant: our own busy event loop must not turn a live replica's answer into "hung".
    const timeout = lagTolerantTimeout(probeTimeoutMs);
    try {
      const response = await fetch(healthUrl(replica.url), { signal: timeout.signal });
      // Any answer, whatever its status, proves the process runs: its calls are only slow.
      replica.aliveAt = Date.now();
      await response.body?.cancel();
    } catch {
      eject(replica, 'hung', `no answer for ${hangMs} ms and its liveness probe failed`);
      // Idempotent calls move on now. The others wait out their own deadline: if the replica
      // wakes up in time they get the real outcome; if later, it refuses them (x-bth-deadline).
      for (const call of [...replica.inFlight]) if (call.idempotent) call.abort('HUNG');
    } finally {
      timeout.clear();
      replica.probing = false;
    }
  }

  function checkHangs() {
    const now = Date.now();
    for (const replica of replicas) {
      // Ejected replicas too: a call sent to one (nothing better was left) must not wait out its deadline.
      if (replica.inFlight.size === 0 || replica.probing) continue;
      if (now - silentSince(replica) >= hangMs) void probe(replica);
    }
    if (outstanding() === 0 && watchdog) {
      clearInterval(watchdog);
      watchdog = undefined;
    }
  }

  function track(replica: ReplicaState, call: InFlight) {
    replica.inFlight.add(call);
    // A few checks per hang period keep detection within ~1.2 × hangMs; nothing runs while idle.
    if (!watchdog) watchdog = setInterval(checkHangs, Math.max(20, hangMs / 5)).unref();
  }

  /** Replicas in the order to try: this request's turn first, ejected ones last. */
  function order(): ReplicaState[] {
    const now = Date.now();
    const rotated = replicas.map((_, i) => replicas[(next + i) % replicas.length]!);
    next = (next + 1) % replicas.length;
    // Ejected replicas come last, not never: when the ones believed up fail too (a rolling
    // restart takes one down just as the other comes back), better a slow answer than none.
    return [...rotated.filter((r) => !isEjected(r, now)), ...rotated.filter((r) => isEjected(r, now))];
  }

  type Stop = 'TIMEOUT' | 'HUNG' | 'ABANDONED' | 'CANCELLED';
  async function attempt(
    replica: ReplicaState,
    request: ReplicaRequest,
    timeoutMs: number,
  ): Promise<Response | AttemptFailure | 'ABANDONED' | 'CANCELLED'> {
    const controller = new AbortController();
    let cause: Stop | undefined;
    const stop = (why: Stop) => {
      cause ??= why;
      controller.abort();
    };
    // Armed until the body has been read too (a replica can freeze between headers and body);
    // aborting a finished response is a no-op, and unref keeps it from holding the process.
    // A transport that reads the whole answer before resolving needs it no longer than the call.
    const timer = setTimeout(() => stop('TIMEOUT'), timeoutMs).unref();
    const onCancel = () => stop('CANCELLED');
    request.signal?.addEventListener('abort', onCancel, { once: true });
    const call: InFlight = { startedAt: Date.now(), idempotent: request.retry === 'idempotent', abort: stop };
    track(replica, call);
    const headers = { ...request.headers };
    const requestId = currentRequestId();
    if (requestId && headers[REQUEST_ID_HEADER] === undefined) headers[REQUEST_ID_HEADER] = requestId;
    request.onAttempt?.(call.startedAt + timeoutMs, headers);
    try {
      const response = await send(`${replica.url}${request.path ?? ''}`, {
        method: request.method,
        headers,
        body: request.body,
        signal: controller.signal,
      });
      answered(replica);
      return response;
    } catch (error) {
      if (cause) return cause;
      return wasNotDelivered(error) ? 'NOT_DELIVERED' : 'NETWORK';
    } finally {
      replica.inFlight.delete(call);
      request.signal?.removeEventListener('abort', onCancel);
      if (options.fetchReadsWhole) clearTimeout(timer);
    }
  }

  return {
    name,
    /**
     * Sends the request to one replica after another until one answers (any status). Throws
     * ReplicaUnavailableError when none did within the policy, the retries and the deadline.
     */
    async request(request: ReplicaRequest): Promise<Response> {
      let retriesLeft = request.retries ?? 1;
      let delivered = false;
      let waited = false;
      let last: AttemptFailure | 'DEADLINE' = 'DEADLINE';
      for (const replica of order()) {
        // After a wait (a timeout, a hang) only a replica believed up is worth another one; after
        // a fast failure an ejected replica is still tried (it may be back from a restart).
        if (waited && isEjected(replica)) break;
        if (request.signal?.aborted) throw new ReplicaUnavailableError(name, 'CANCELLED', delivered);
        const remaining = request.deadline === undefined ? Infinity : request.deadline - Date.now();
        if (remaining <= 0) {
          last = 'DEADLINE';
          break;
        }
        const attemptStart = Date.now();
        const cappedByDeadline = remaining < request.attemptTimeoutMs;
        const outcome = await attempt(replica, request, Math.min(request.attemptTimeoutMs, remaining));
        if (outcome instanceof Response) return outcome;
        if (outcome === 'CANCELLED') throw new ReplicaUnavailableError(name, 'CANCELLED', true);
        if (outcome === 'ABANDONED') throw new ReplicaUnavailableError(name, 'HUNG', true);
        last = outcome;
        if (outcome === 'NOT_DELIVERED') {
          eject(replica, 'refused', 'connection refused or unreachable');
          continue;
        }
        delivered = true;
        // The caller's deadline, not the replica, ended this one: no evidence, and no time left.
        if (outcome === 'TIMEOUT' && cappedByDeadline) {
          last = 'DEADLINE';
          break;
        }
        waited ||= outcome === 'TIMEOUT' || outcome === 'HUNG';
        // A failure of a call that began before the replica's last answer is old news, not a trend.
        const stale = replica.lastAnswerAt > attemptStart;
        if (outcome !== 'HUNG' && !stale && ++replica.failuresInARow >= failuresToEject)
          eject(replica, 'failing', `${failuresToEject} failures in a row`);
        logger.warn('replica did not answer', { service: name, replica: replica.url, reason: outcome });
        if (request.retry !== 'idempotent' || retriesLeft-- <= 0) break;
      }
      throw new ReplicaUnavailableError(name, last, delivered);
    },
    /** Replicas not ejected right now (readiness, tests). */
    healthy(): string[] {
      const now = Date.now();
      return replicas.filter((r) => !isEjected(r, now)).map((r) => r.url);
    },
    /** Calls currently waiting for an answer. */
    outstanding,
    /** When any replica last answered (epoch ms, 0 if never). */
    lastAnswerAt: () => lastAnswerAnyAt,
    /** Ends every call in flight with HUNG, without trying another replica (the caller decided the whole service hangs). */
    abandonAll() {
      for (const replica of replicas) for (const call of [...replica.inFlight]) call.abort('ABANDONED');
    },
    close() {
      if (watchdog) clearInterval(watchdog);
      watchdog = undefined;
    },
  };
}

export type ReplicaClient = ReturnType<typeof createReplicaClient>;
