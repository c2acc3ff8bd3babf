import { createHash } from 'node:crypto';
import type { Logger } from '@bth/platform/logger';
import type { Metrics } from '@bth/platform/metrics';
import { bestEffort, type Redis } from '@bth/platform/redis';
import { parseProduct, type ProductView } from './product.model.js';

/**
 * Redis cache for products and listing pages. Redis is only ever a cache here: every operation
 * is best-effort, and a failed one costs a database read, never a client error.
 *
 * Product entries: `products:item:<id>` holds `{ e: epoch, p: product }` with a TTL, and
 * `products:ver:<id>` a counter bumped after every committed write to that product. A reader
 * reads the counter in the same MGET as the entry, before its SELECT, and writes its row back
 * through a Lua script only if the counter is still the same. So a reader that raced a writer
 * can never put the old row back: either its write-back lands before the writer's
 * invalidation (which then deletes it) or the version changed and nothing is written.
 *
 * Staleness bound: none once the write call has returned — the writer invalidates after commit
 * and before answering. If the invalidation itself fails (Redis unreachable), this instance
 * remembers it and, as soon as Redis answers again and before any cache read, bumps the global
 * epoch and the listing generation, which retires every entry at once. Only if the writer
 * process dies between its commit and a successful invalidation can an old entry be served, and
 * then for at most PRODUCT_CACHE_TTL_SECONDS (listing pages: LISTING_CACHE_TTL_SECONDS).
 *
 * Listing pages: `products:listing:<filter, orderBy, first, after>` holds the page's ids,
 * cursors and totalCount together with the listing generation it was computed under, read in
 * the same script call as the current generation (and the page's products). One INCR of `products:listing-gen` retires every page.
 * Stock changes do not touch listings (pages hold ids, not stock); catalogue writes do.
 *
 * Counts: `products:count:<filter>` holds a filter's totalCount under the same generation
 * (and sale edge) as the pages. It depends on the filter alone, so the next page, another sort
 * order or page size reuse it: on a large catalogue the COUNT(*) is most of a page miss's cost.
 *
 * Version counters carry no TTL on purpose: one small key per product, and a counter that
 * vanished while a reader was between its read and its write-back could let an old row back in.
 */
export const cacheKeys = {
  epoch: 'products:epoch',
  item: (id: string) => `products:item:${id}`,
  version: (id: string) => `products:ver:${id}`,
  listingGeneration: 'products:listing-gen',
  listing: (hash: string) => `products:listing:${hash}`,
  count: (hash: string) => `products:count:${hash}`,
};

/** KEYS: n entry keys then n version keys. ARGV: ttl, n expected versions, n values. */
const PUT_IF_UNCHANGED = `
local n = #KEYS / 2
local written = 0
for i = 1, n do
  local current = redis.call('GET', KEYS[n + i])
  if not current then current = '0' end
  if current == ARGV[1 + i] then
    redis.call('SET', KEYS[i], ARGV[1 + n + i], 'EX', ARGV[1])
    written = written + 1
  end
end
return written
`;

/**
 * A cached listing page and its products in one round trip. KEYS: listing generation, listing
 * entry, epoch, the filter's count entry. ARGV: the key prefix (item and version keys are named
 * from the page's ids, so the script builds them itself). Returns generation, entry, epoch, count
 * entry, then one entry and one version per id, all read at one instant like the MGET of `getProducts`. A page that is not current returns
 * no products; the caller decides on `u` (the page's sale edge) with its own clock.
 */
const READ_LISTING_WITH_PRODUCTS = `
local generation = redis.call('GET', KEYS[1]) or '0'
local raw = redis.call('GET', KEYS[2])
local epoch = redis.call('GET', KEYS[3]) or '0'
local count = redis.call('GET', KEYS[4])
if not raw then return {generation, false, epoch, count} end
local ok, entry = pcall(cjson.decode, raw)
if not ok or type(entry) ~= 'table' or entry.g ~= generation or type(entry.page) ~= 'table' or type(entry.page.ids) ~= 'table' then
  return {generation, raw, epoch, count}
end
local ids = entry.page.ids
local n = #ids
if n == 0 then return {generation, raw, epoch, count} end
local keys = {}
for i = 1, n do
  keys[i] = ARGV[1] .. 'products:item:' .. ids[i]
  keys[n + i] = ARGV[1] .. 'products:ver:' .. ids[i]
end
local values = redis.call('MGET', unpack(keys))
local out = {generation, raw, epoch, count}
for i = 1, 2 * n do out[4 + i] = values[i] end
return out
`;

const READ_LISTING_COMMAND = 'productsReadListing';

export interface ListingQuery {
  function: string | null;
  type: string | null;
  onSale: boolean | null;
  orderBy: string;
  first: number;
  after: string | null;
}

export interface ListingPage {
  ids: string[];
  cursors: string[];
  hasNextPage: boolean;
  totalCount: number;
}

/** What a reader saw before going to the database; needed to write back safely. */
export interface ReadToken {
  epoch: string;
  versions: Map<string, string>;
}

export interface ProductCacheRead {
  found: Map<string, ProductView>;
  misses: string[];
  /** Null when Redis did not answer: then nothing is written back. */
  token: ReadToken | null;
}

/** Longest key part used as it is; a crafted (valid but long) cursor is named by its digest instead. */
const MAX_PLAIN_KEY_PART = 200;

/**
 * The query's own JSON names its entry: it is short, and a SHA-256 per request costs more than
 * the key's few extra bytes. JSON starts with `[`, a base64url digest never does, so they never collide.
 */
function keyPart(stable: unknown[]): string {
  const json = JSON.stringify(stable);
  return json.length <= MAX_PLAIN_KEY_PART ? json : createHash('sha256').update(json).digest('base64url');
}

/** The count depends on the filter only, not on order or paging. */
export const countHash = (query: ListingQuery) => keyPart([query.function, query.type, query.onSale]);

export const listingHash = (query: ListingQuery) =>
  keyPart([query.function, query.type, query.onSale, query.orderBy, query.first, query.after]);

async function execAll(multi: ReturnType<Redis['multi']>): Promise<void> {
  const results = await multi.exec();
  if (!results) throw new Error('transaction discarded');
  for (const [error] of results) if (error) throw error;
}

export interface ProductCacheOptions {
  redis: Redis;
  logger: Logger;
  metrics: Metrics;
  productTtlSeconds: number;
  listingTtlSeconds: number;
}

export function createProductCache(options: ProductCacheOptions) {
  const { redis, logger } = options;
  const hits = options.metrics.counter({ name: 'cache_hits_total', help: 'Cache hits by kind (product, listing)', labelNames: ['kind'] });
  const misses = options.metrics.counter({
    name: 'cache_misses_total',
    help: 'Cache misses by kind (product, listing)',
    labelNames: ['kind'],
  });
  let flushPending = false;
  // Sent once and then called by its SHA (EVALSHA, reloaded by ioredis if Redis forgot it): the
  // script's text would otherwise travel with every cached page.
  redis.defineCommand(READ_LISTING_COMMAND, { numberOfKeys: 4, lua: READ_LISTING_WITH_PRODUCTS });
  const readListing = (redis as unknown as Record<typeof READ_LISTING_COMMAND, (...args: string[]) => Promise<Array<string | null>>>)[
    READ_LISTING_COMMAND
  ].bind(redis);

  /** Retires every entry after an invalidation this instance could not deliver (see above). */
  async function flushIfPending(): Promise<void> {
    if (!flushPending) return;
    const done = await bestEffort(
      logger,
      'product cache flush',
      async () => {
        await execAll(redis.multi().incr(cacheKeys.epoch).incr(cacheKeys.listingGeneration));
        return true;
      },
      false,
    );
    if (done) {
      flushPending = false;
      logger.info('product cache flushed after a missed invalidation');
    }
  }
  redis.on('ready', () => void flushIfPending());

  return {
    async getProducts(ids: readonly string[]): Promise<ProductCacheRead> {
      await flushIfPending();
      const found = new Map<string, ProductView>();
      const n = ids.length;
      const keys = [cacheKeys.epoch, ...ids.map(cacheKeys.item), ...ids.map(cacheKeys.version)];
      const values = flushPending ? null : await bestEffort(logger, 'product cache read', () => redis.mget(keys), null);
      if (!values) {
        misses.inc({ kind: 'product' }, n);
        return { found, misses: [...ids], token: null };
      }
      const epoch = values[0] ?? '0';
      const versions = new Map<string, string>();
      const missed: string[] = [];
      ids.forEach((id, i) => {
        versions.set(id, values[1 + n + i] ?? '0');
        const product = decodeEntry(values[1 + i] ?? null, epoch);
        if (product) found.set(id, product);
        else missed.push(id);
      });
      if (found.size) hits.inc({ kind: 'product' }, found.size);
      if (missed.length) misses.inc({ kind: 'product' }, missed.length);
      return { found, misses: missed, token: { epoch, versions } };
    },

    /** One script call for the whole batch; rows whose version moved since the read are skipped. */
    async putProducts(products: readonly ProductView[], token: ReadToken | null): Promise<void> {
      if (!token || products.length === 0) return;
      const keys = [...products.map((p) => cacheKeys.item(p.id)), ...products.map((p) => cacheKeys.version(p.id))];
      const args = [
        String(options.productTtlSeconds),
        ...products.map((p) => token.versions.get(p.id) ?? '0'),
        ...products.map((p) => JSON.stringify({ e: token.epoch, p })),
      ];
      await bestEffort(logger, 'product cache write', () => redis.eval(PUT_IF_UNCHANGED, keys.length, ...keys, ...args), 0);
    },

    /**
     * The page and, when it is current, its products read with it (one round trip instead of two
     * on the hot path: each Redis round trip costs this process a write and a read syscall).
     * `products` holds the entries found; missing ones are left to the loader.
     */
    async getListingWithProducts(
      query: ListingQuery,
    ): Promise<{ page: ListingPage | null; generation: string | null; products: Map<string, ProductView>; totalCount: number | null }> {
      await flushIfPending();
      const products = new Map<string, ProductView>();
      const prefix = redis.options.keyPrefix ?? '';
      const keys = [cacheKeys.listingGeneration, cacheKeys.listing(listingHash(query)), cacheKeys.epoch, cacheKeys.count(countHash(query))];
      const values = flushPending ? null : await bestEffort(logger, 'listing cache read', () => readListing(...keys, prefix), null);
      if (!values) {
        misses.inc({ kind: 'listing' });
        return { page: null, generation: null, products, totalCount: null };
      }
      const generation = values[0] ?? '0';
      const page = decodeListing(values[1] ?? null, generation);
      (page ? hits : misses).inc({ kind: 'listing' });
      const totalCount = page ? null : decodeCount(values[3] ?? null, generation);
      if (!page || values.length !== 4 + 2 * page.ids.length) return { page, generation, products, totalCount };
      const epoch = values[2] ?? '0';
      page.ids.forEach((id, i) => {
        const product = decodeEntry(values[4 + i] ?? null, epoch);
        if (product) products.set(id, product);
      });
      if (products.size) hits.inc({ kind: 'product' }, products.size);
      return { page, generation, products, totalCount };
    },

    /**
     * `generation` is the one read before the SELECT, so a page computed across a write is born
     * stale. `until` (a sale's next start or end, for onSale pages) bounds the page's life: the
     * entry carries it and readers check it against their own clock, the TTL only cleans up.
     */
    async putListing(query: ListingQuery, generation: string | null, page: ListingPage, until: Date | null = null): Promise<void> {
      if (generation === null) return;
      const ttlMs = Math.min(options.listingTtlSeconds * 1000, until ? until.getTime() - Date.now() : Infinity);
      if (ttlMs <= 0) return;
      const edge = until ? { u: until.getTime() } : {};
      const value = JSON.stringify({ g: generation, page, ...edge });
      const count = JSON.stringify({ g: generation, n: page.totalCount, ...edge });
      const px = Math.ceil(ttlMs);
      await bestEffort(
        logger,
        'listing cache write',
        () =>
          execAll(
            redis
              .multi()
              .set(cacheKeys.listing(listingHash(query)), value, 'PX', px)
              .set(cacheKeys.count(countHash(query)), count, 'PX', px),
          ),
        null,
      );
    },

    /**
     * Call after the write has committed, never inside the transaction: invalidating before the
     * commit would let a reader cache the pre-commit row again.
     */
    async invalidate(productIds: readonly string[], scope: { listings: boolean }): Promise<void> {
      const multi = redis.multi();
      for (const id of productIds) multi.incr(cacheKeys.version(id)).del(cacheKeys.item(id));
      if (scope.listings) multi.incr(cacheKeys.listingGeneration);
      const delivered = await bestEffort(
        logger,
        'product cache invalidation',
        async () => {
          await execAll(multi);
          return true;
        },
        false,
      );
      if (!delivered) flushPending = true;
    },
  };
}

function decodeEntry(raw: string | null, epoch: string): ProductView | null {
  if (!raw) return null;
  try {
    const entry = JSON.parse(raw) as { e?: unknown; p?: { sales?: unknown } };
    // An entry written before views carried their sale windows would hide a live sale: a miss.
    return entry.e === epoch && entry.p && Array.isArray(entry.p.sales) ? parseProduct(entry.p) : null;
  } catch {
    return null;
  }
}

function decodeListing(raw: string | null, generation: string): ListingPage | null {
  if (!raw) return null;
  try {
    const entry = JSON.parse(raw) as { g?: unknown; page?: ListingPage; u?: unknown };
    if (typeof entry.u === 'number' && Date.now() >= entry.u) return null;
    return entry.g === generation && entry.page ? entry.page : null;
  } catch {
    return null;
  }
}

/** Same validity rule as a page: its generation, and its sale edge by this process's clock. */
function decodeCount(raw: string | null, generation: string): number | null {
  if (!raw) return null;
  try {
    const entry = JSON.parse(raw) as { g?: unknown; n?: unknown; u?: unknown };
    if (typeof entry.u === 'number' && Date.now() >= entry.u) return null;
    return entry.g === generation && typeof entry.n === 'number' ? entry.n : null;
  } catch {
    return null;
  }
}

export type ProductCache = ReturnType<typeof createProductCache>;
