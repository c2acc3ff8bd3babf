import { REVOCATIONS_COMPLETE_KEY, revokedSessionKey, type SessionStatus } from '@bth/platform/identity';
import type { Logger } from '@bth/platform/logger';
import { createPeriodicTask } from '@bth/platform/periodic';
import type { Redis } from '@bth/platform/redis';
import type { UsersRepository } from './users.repository.js';

/**
 * Session revocations: MariaDB (`sessions.revoked_at`) is the truth, Redis a cache the router
 * reads on every authenticated request.
 *
 * The cache is only trusted while it holds REVOCATIONS_COMPLETE_KEY. We write that marker after
 * copying every revocation still relevant (revoked within one access-token lifetime: older
 * sessions' access tokens have expired) from MariaDB into Redis: on start, after every Redis
 * reconnect (a restarted Redis is empty), and whenever a check finds it missing (a flush).
 * Revocations made after a seed has read MariaDB are written to Redis by `announce` directly;
 * when that write fails, the marker is dropped and the cache reseeded, so the router never
 * trusts a cache that missed one.
 */
export interface RevocationCacheDeps {
  repository: UsersRepository;
  redis: Redis;
  logger: Logger;
  accessTokenTtlSeconds: number;
  now?: () => Date;
}

/** How often each replica checks that the marker is still there: bounds how long a flushed (not restarted) Redis sends the router to `users`, for one EXISTS per interval. */
const MARKER_CHECK_INTERVAL_MS = 5_000;
/**
 * A local SET pipeline takes about a millisecond; past 500 ms Redis is stalled, and logout or a
 * password change (already committed in MariaDB) must still answer. The router then finds no marker
 * once the DEL below lands, or cannot reach Redis, and asks users.
 */
const ANNOUNCE_DEADLINE_MS = 500;

export function createRevocationCache(deps: RevocationCacheDeps) {
  const { repository, redis, logger } = deps;
  const now = deps.now ?? (() => new Date());
  const ttlMs = deps.accessTokenTtlSeconds * 1000;
  let seeding: Promise<void> | null = null;
  let again = false;
  // Set when a revocation may be missing from Redis; the next check reseeds even if the marker is there.
  let dirty = false;

  async function seedOnce(): Promise<void> {
    const startedAt = now().getTime();
    const revoked = await repository.findRevokedSince(new Date(startedAt - ttlMs));
    const pipeline = redis.pipeline();
    for (const { id, revokedAt } of revoked) {
      const ttlSeconds = Math.ceil((revokedAt.getTime() + ttlMs - startedAt) / 1000);
      if (ttlSeconds > 0) pipeline.set(revokedSessionKey(id), '1', 'EX', ttlSeconds);
    }
    // Last in the pipeline: Redis runs it after every SET above, so the marker implies them.
    pipeline.set(REVOCATIONS_COMPLETE_KEY, String(startedAt));
    for (const [error] of (await pipeline.exec()) ?? []) if (error) throw error;
    dirty = false;
    logger.info('revocation cache seeded from MariaDB', { sessions: revoked.length });
  }

  /** One seed at a time; a request for one while it runs (e.g. another reconnect) runs one more after it. */
  function reseed(): Promise<void> {
    if (seeding) {
      again = true;
      return seeding;
    }
    seeding = (async () => {
      try {
        do {
          again = false;
          await seedOnce();
        } while (again);
      } catch (error) {
        dirty = true;
        logger.warn('could not seed the revocation cache; the router asks users until it is', { error: (error as Error).message });
      } finally {
        seeding = null;
      }
    })();
    return seeding;
  }

  async function checkMarker(): Promise<void> {
    if (redis.status !== 'ready') return;
    try {
      if (dirty || !(await redis.exists(REVOCATIONS_COMPLETE_KEY))) await reseed();
    } catch (error) {
      logger.warn('revocation cache check failed', { error: (error as Error).message });
    }
  }

  return {
    reseed,

    /**
     * Writes just-revoked sessions to the cache, so logout applies at once. Called after the
     * MariaDB revocation has committed. If the write fails, the cache can no longer claim to be
     * complete: drop the marker (the router then asks users) and reseed.
     */
    async announce(sessionIds: string[]): Promise<void> {
      if (sessionIds.length === 0) return;
      let timer: NodeJS.Timeout | undefined;
      try {
        const pipeline = redis.pipeline();
        for (const id of sessionIds) pipeline.set(revokedSessionKey(id), '1', 'EX', deps.accessTokenTtlSeconds);
        const deadline = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${ANNOUNCE_DEADLINE_MS} ms`)), ANNOUNCE_DEADLINE_MS);
        });
        for (const [error] of (await Promise.race([pipeline.exec(), deadline])) ?? []) if (error) throw error;
      } catch (error) {
        dirty = true;
        logger.warn('could not cache revoked sessions; marking the cache incomplete', { error: (error as Error).message });
        // Not awaited: a stalled Redis must not hold the logout. Queued on the same connection, the
        // DEL runs after the SETs above and before the reseed's marker.
        void redis.del(REVOCATIONS_COMPLETE_KEY).catch(() => undefined);
        void reseed();
      } finally {
        clearTimeout(timer);
      }
    },

    /** The truth, from MariaDB: what the router asks when the cache cannot answer. */
    async statuses(sessionIds: readonly string[]): Promise<Record<string, SessionStatus>> {
      const rows = await repository.findSessionRevocations(sessionIds);
      const found = new Map(rows.map((row) => [row.id, row.revokedAt]));
      return Object.fromEntries(
        sessionIds.map((id): [string, SessionStatus] => [id, !found.has(id) ? 'UNKNOWN' : found.get(id) ? 'REVOKED' : 'LIVE']),
      );
    },

    /** Seeds now (if Redis is up) and keeps the cache complete: reseed on reconnect, check the marker periodically. */
    start(): () => void {
      const onReady = () => void reseed();
      redis.on('ready', onReady);
      if (redis.status === 'ready') void reseed();
      const markerCheck = createPeriodicTask({
        name: 'revocation marker check',
        intervalMs: MARKER_CHECK_INTERVAL_MS,
        logger,
        run: checkMarker,
      });
      markerCheck.start();
      return () => {
        void markerCheck.stop();
        redis.off('ready', onReady);
      };
    },
  };
}

export type RevocationCache = ReturnType<typeof createRevocationCache>;
