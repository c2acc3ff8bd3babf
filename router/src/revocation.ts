import { lagTolerantTimeout } from '@bth/platform/deadline';
import { AppError } from '@bth/platform/errors';
import {
  ACCESS_TOKEN_TTL_SECONDS,
  REQUEST_ID_HEADER,
  REVOCATIONS_COMPLETE_KEY,
  revokedSessionKey,
  type SessionStatus,
} from '@bth/platform/identity';
import type { Logger } from '@bth/platform/logger';
import type { Redis } from '@bth/platform/redis';

/**
 * Is this session still live? Asked on every authenticated request.
 *
 *  1. Redis, when it can vouch for itself: users keeps every revocation of the last access-token
 *     lifetime there and writes REVOCATIONS_COMPLETE_KEY once the copy is complete. Key present →
 *     revoked; marker present and key absent → live.
 *  2. Otherwise (Redis down, slow, restarted or flushed: the marker is missing) ask users, whose
 *     MariaDB is the truth, through its internal session-status API.
 *  3. If users cannot answer either, refuse with a retryable error. Trade-off, chosen on purpose:
 *     accepting would let a logged-out, possibly stolen token act for up to 15 minutes, and no
 *     rule ("issued after the cache was last complete", "seen live a minute ago") can tell such a
 *     token from a good one without the revocation list we have just lost. Refusing costs
 *     availability only during a double fault (Redis and every users replica), in which nobody can
 *     sign in or out anyway, and clients get a code that says "retry", not "sign in again".
 */
export type Verdict = 'LIVE' | 'REVOKED';

export interface RevocationCheckDeps {
  redis: Redis;
  logger: Logger;
  /** Users' session-status endpoint on every replica (tried in turn). */
  statusUrls: string[];
  serviceToken: () => Promise<string>;
}

/**
 * Redis answers a local MGET in well under a millisecond; 250 ms means "stalled", and then users
 * is the faster source. Not lower: in a flash-sale burst the router's own event loop lags by
 * a hundred milliseconds or more, and a deadline that short fires on answers already in the socket
 * (see `lagTolerantTimeout` in platform).
 */
const REDIS_DEADLINE_MS = 250;
/**
 * Per users replica: the status route is one primary-key SELECT (~1 ms, tens under load). 1 s is
 * far above that even with the event-loop lag of a burst (refusing a buyer because our own loop
 * was busy would be the wrong answer), and still bounds what a hung replica adds to a request
 * before the next replica (or the refusal) is tried.
 */
const USERS_DEADLINE_MS = 1_000;

/**
 * A "live" answer from users is reused this long, so a Redis outage costs users at most one
 * lookup per session per second rather than one per request; a logout made during the outage
 * therefore takes effect within 1 s. Redis answers are never cached: they are cheap and current.
 */
const LIVE_MEMO_MS = 1_000;
/** Bounds the memo's memory (one entry is ~100 bytes); past it the oldest entries go first. */
const MEMO_MAX_ENTRIES = 50_000;

export function createRevocationCheck(deps: RevocationCheckDeps) {
  const { redis, logger } = deps;
  const memo = new Map<string, { verdict: Verdict; until: number }>();
  const inFlight = new Map<string, Promise<Verdict>>();
  let cold = false;
  let nextReplica = 0;

  function remember(sessionId: string, verdict: Verdict) {
    // A revocation is final, so it is kept as long as any access token of the session can live.
    const ttl = verdict === 'REVOKED' ? ACCESS_TOKEN_TTL_SECONDS * 1000 : LIVE_MEMO_MS;
    memo.delete(sessionId);
    memo.set(sessionId, { verdict, until: Date.now() + ttl });
    if (memo.size > MEMO_MAX_ENTRIES) memo.delete(memo.keys().next().value!);
  }

  function coldness(isCold: boolean, why?: string) {
    if (isCold === cold) return;
    cold = isCold;
    if (isCold) logger.warn('revocation cache in Redis cannot answer; asking users', { why });
    else logger.info('revocation cache in Redis answers again');
  }

  /** LIVE or REVOKED when Redis can vouch for its answer, null when it cannot. */
  async function fromRedis(sessionId: string): Promise<Verdict | null> {
    // Commands fail at once while disconnected (no offline queue), but skipping saves the error path.
    if (redis.status !== 'ready') {
      coldness(true, `redis ${redis.status}`);
      return null;
    }
    const deadline = lagTolerantTimeout(REDIS_DEADLINE_MS);
    try {
      const [complete, revoked] = await Promise.race([
        redis.mget(REVOCATIONS_COMPLETE_KEY, revokedSessionKey(sessionId)),
        deadline.expired,
      ]);
      if (revoked !== null) return 'REVOKED';
      if (complete === null) {
        coldness(true, 'the completeness marker is missing (Redis restarted or flushed)');
        return null;
      }
      coldness(false);
      return 'LIVE';
    } catch (error) {
      coldness(true, (error as Error).message);
      return null;
    } finally {
      deadline.clear();
    }
  }

  async function fromUsers(sessionId: string, requestId: string): Promise<Verdict> {
    const token = await deps.serviceToken();
    const urls = deps.statusUrls;
    const first = nextReplica++ % urls.length;
    for (let i = 0; i < urls.length; i += 1) {
      const url = urls[(first + i) % urls.length]!;
      const deadline = lagTolerantTimeout(USERS_DEADLINE_MS);
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, [REQUEST_ID_HEADER]: requestId },
          body: JSON.stringify({ sessionIds: [sessionId] }),
          signal: deadline.signal,
        });
        if (!response.ok) throw new Error(`status ${response.status}`);
        const body = (await response.json()) as { sessions?: Record<string, SessionStatus> };
        const status = body.sessions?.[sessionId];
        if (!status) throw new Error('the answer does not name the session');
        // UNKNOWN (never stored) is not a revocation: the token's signature already proves users issued it.
        const verdict: Verdict = status === 'REVOKED' ? 'REVOKED' : 'LIVE';
        remember(sessionId, verdict);
        return verdict;
      } catch (error) {
        logger.warn('session status from users failed', { replica: i, requestId, error: (error as Error).message });
      } finally {
        deadline.clear();
      }
    }
    throw new AppError('UPSTREAM_UNAVAILABLE', 'Your sign-in cannot be checked right now; try again shortly', {
      reason: 'SESSION_CHECK_UNAVAILABLE',
      retryable: true,
      // Redis reconnects within 2 s and users restarts in a few: a second is a fair first retry.
      retryAfterSeconds: 1,
      http: { status: 503 },
    });
  }

  return async function verdict(sessionId: string, requestId: string): Promise<Verdict> {
    // A revocation is final, so a remembered one answers at once; a remembered "live" only stands
    // in for Redis while Redis cannot vouch (it would otherwise hide a logout for its lifetime).
    const memoised = memo.get(sessionId);
    const fresh = memoised && memoised.until > Date.now() ? memoised.verdict : undefined;
    if (fresh === 'REVOKED') return fresh;
    const cached = await fromRedis(sessionId);
    if (cached) return cached;
    if (fresh) return fresh;
    // Concurrent requests of one session share one question to users.
    let pending = inFlight.get(sessionId);
    if (!pending) {
      pending = fromUsers(sessionId, requestId).finally(() => inFlight.delete(sessionId));
      inFlight.set(sessionId, pending);
    }
    return pending;
  };
}
