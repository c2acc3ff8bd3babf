import { LockConflictError, errors, type LockConflict } from '@bth/platform/errors';
import { requireAdmin, type Identity } from '@bth/platform/identity';
import type { Logger } from '@bth/platform/logger';
import type { Metrics } from '@bth/platform/metrics';
import { isUuid } from '@bth/platform/validation';
import type { LedgerRow, ProductRow, ReservationLineRow, SaleRow } from './db/schema.js';
import { createGroupCommit, type Settled } from './inventory.hot.js';
import { buildInventoryReport, type InventoryReport } from './inventory-report.js';
import type { InventoryQueries, InventoryRepository } from './inventory.repository.js';
import { liveSaleOf, lockOrder, planReservation, type PricedLine, type ReserveRejection } from './inventory.rules.js';
import { saleSoldOutMessage } from './sale.messages.js';
import type { ReserveRequest } from './inventory.contract.js';
import { NO_SALE, type SoldOutMarker } from './sold-out-marker.js';
import type { ProductCache } from './product-cache.js';
import { toProductView } from './product.model.js';
import { LIMITS, validateStockAdjustment } from './product.validation.js';
import type { ResolversTypes, ResolversUnionTypes } from './generated/graphql.js';

export type { ReserveRequest } from './inventory.contract.js';

/** The queue of a hot product is full: nothing was tried, the caller may retry after the delay. */
export interface Overloaded {
  outcome: 'OVERLOADED';
  retryAfterSeconds: number;
}

export type ReserveOutcome = { outcome: 'RESERVED' | 'RELEASED' | 'RESTOCKED'; lines: PricedLine[] } | ReserveRejection | Overloaded;

export interface HotProductOptions {
  /** Waiting reservations per product and replica before new ones are refused OVERLOADED. */
  queueHighWater: number;
  /** Reservations per group-commit transaction. */
  maxBatch: number;
  /** What an OVERLOADED answer tells the caller to wait. */
  retryAfterSeconds: number;
}

// A queue of 256 drains in a few group commits (tens of ms); 64 per transaction keeps one
// commit's statements small and its lock hold short. See BENCHMARKS.md (inventory) for the numbers.
export const DEFAULT_HOT_PRODUCT: HotProductOptions = { queueHighWater: 256, maxBatch: 64, retryAfterSeconds: 1 };

// A replica looks again this often at a product it marked sold out (one tiny locked read): so a
// marker deleted by another replica's restock comes back soon once the product sells out again.
const MARK_AGAIN_MS = 60_000;

/** Refusals the sold-out fast path may answer from committed rows without taking the lock. */
const FAST_REFUSALS = new Set<ReserveOutcome['outcome']>(['INSUFFICIENT_STOCK', 'SALE_SOLD_OUT']);
export type ReleaseOutcome = { outcome: 'RELEASED'; lines: PricedLine[] } | { outcome: 'RESTOCKED' };
export type RestockOutcome =
  | { outcome: 'RESTOCKED'; lines: PricedLine[] }
  | { outcome: 'NOT_RESTOCKABLE'; reason: 'RELEASED' | 'NEVER_RESERVED' };

/** The schema's `AdjustStockResult`: the product as a view, or the refusal with its sentence. */
export type AdjustStockResult = ResolversUnionTypes<ResolversTypes>['AdjustStockResult'];

/** What a transaction did, so the cache is invalidated (and the outbox kicked) after its commit, never inside it. */
interface Committed<T> {
  result: T;
  touched: string[];
  queuedMessages?: boolean;
}

const toPriced = (line: ReservationLineRow): PricedLine => ({
  productId: line.productId,
  quantity: line.quantity,
  unitPrice: line.unitPrice,
  regularPrice: line.regularPrice,
  saleEventId: line.saleEventId,
});

/** A business rejection inside a transaction: thrown to roll it back, then answered as a result. */
class Rejected extends Error {
  constructor(readonly result: ReserveRejection) {
    super('rejected');
  }
}

/** Two requests wrote the same new order row at once; the loser starts again and sees the winner's. */
class RaceLost extends Error {}

/**
 * Stock changes, all of them here: each runs in one transaction holding its product rows
 * FOR UPDATE in id order, writes a ledger row per product, and is keyed by order id (or, for an
 * admin adjustment, changes exactly once per call).
 */
export function createInventoryService(deps: {
  repository: InventoryRepository;
  cache: ProductCache;
  metrics: Metrics;
  logger: Logger;
  /** Called after a commit that queued outbox messages (the relay publishes them at once). */
  onMessagesQueued?: () => void;
  hotProduct?: Partial<HotProductOptions>;
  /** Sold-out markers for orders' fast path (sold-out-marker.ts); none: no markers are set. */
  soldOutMarker?: SoldOutMarker;
  now?: () => Date;
}) {
  const { repository, cache, logger } = deps;
  const hotOptions = { ...DEFAULT_HOT_PRODUCT, ...deps.hotProduct };
  /** Products whose stock (or live sale) this replica last saw exhausted; see `fastRefusals`. */
  const soldOutHint = new Set<string>();
  /** Products this replica marked sold out in Redis (or is marking), until when it need not look again. */
  const markedUntil = new Map<string, number>();
  const now = deps.now ?? (() => new Date());
  const outcomes = deps.metrics.counter({
    name: 'inventory_outcomes_total',
    help: 'Inventory calls by operation and outcome',
    labelNames: ['operation', 'outcome'],
  });
  // queued: one-product reservations that entered a queue; batches and batched: their ratio is
  // the mean group-commit size; fast: refusals answered without a lock.
  const hotPath = deps.metrics.counter({
    name: 'inventory_hot_path_total',
    help: 'Group-commit transactions, the reservations they carried, and sold-out refusals answered without a lock',
    labelNames: ['kind'],
  });
  const lockConflicts = deps.metrics.counter({
    name: 'inventory_lock_conflicts_total',
    help: 'Row-lock conflicts in inventory transactions (deadlock, timeout)',
    labelNames: ['kind'],
  });

  /**
   * Runs one transaction with bounded lock trouble. A deadlock is retried once: InnoDB already
   * rolled the victim back, and rows are locked in id order so a second one means real contention.
   * A lock wait over LOCK_WAIT_TIMEOUT_SECONDS, or a second deadlock, becomes the retryable
   * LOCK_TIMEOUT instead of an internal error. A lost race on a new reservation row is retried
   * up to twice: the next attempt finds the committed row.
   */
  async function transact<T>(operation: string, work: (queries: InventoryQueries) => Promise<Committed<T>>): Promise<T> {
    let racesLost = 0;
    const onLockConflict = (conflict: LockConflict) => {
      lockConflicts.inc({ kind: conflict });
      if (conflict === 'timeout') logger.warn('inventory lock wait timed out', { operation });
    };
    for (;;) {
      let committed: Committed<T>;
      try {
        committed = await repository.transaction(work, { deadlockRetries: 1, onLockConflict });
      } catch (error) {
        if (error instanceof RaceLost && racesLost++ < 2) continue;
        throw error;
      }
      if (committed.touched.length) await cache.invalidate(committed.touched, { listings: false });
      if (committed.queuedMessages) deps.onMessagesQueued?.();
      return committed.result;
    }
  }

  const ledgerRows = (kind: LedgerRow['kind'], orderId: string, lines: PricedLine[], sign: 1 | -1, at: Date): LedgerRow[] =>
    lines.map((line) => ({ productId: line.productId, orderId, kind, quantityDelta: sign * line.quantity, reason: null, createdAt: at }));

  /**
   * Gives the order's units back to the shelf and records it; the caller holds the reservation
   * row. Sale units go back to their sale and to the member's allowance too, so a cancelled or
   * expired order neither burns the sale nor the member's limit.
   */
  async function giveBack(
    q: InventoryQueries,
    reservation: { orderId: string; userId: string | null },
    lines: PricedLine[],
    kind: 'RELEASE' | 'RESTOCK',
    at: Date,
  ) {
    const { orderId, userId } = reservation;
    await unmark(q, await q.lockProducts(lockOrder(lines.map((l) => l.productId))));
    for (const line of lines) await q.changeStock(line.productId, line.quantity, at);
    for (const line of lines) if (line.saleEventId && userId) await q.countSaleUnits(line.saleEventId, userId, -line.quantity, at);
    await q.insertLedger(ledgerRows(kind, orderId, lines, 1, at));
    // Only a hint (see fastRefusals): dropping it early costs nothing but one normal reservation.
    for (const line of lines) soldOutHint.delete(line.productId);
    await q.setStatus(orderId, kind === 'RELEASE' ? 'RELEASED' : 'RESTOCKED', at);
  }

  /**
   * Before stock goes back (the caller holds the rows): deletes the sold-out markers a row says
   * may exist, or throws so the transaction rolls back — see sold-out-marker.ts for why this is
   * what keeps a marker from ever refusing a buyer while units remain.
   */
  async function unmark(q: InventoryQueries, rows: ReadonlyArray<Pick<ProductRow, 'id' | 'soldOutMarked'>>): Promise<void> {
    const marked = rows.filter((row) => row.soldOutMarked).map((row) => row.id);
    if (marked.length === 0) return;
    for (const id of marked) markedUntil.delete(id);
    try {
      if (!deps.soldOutMarker) throw new Error('no Redis client to delete the marker with');
      await deps.soldOutMarker.clear(marked);
    } catch (error) {
      logger.warn('sold-out marker could not be deleted; the stock stays as it is', { products: marked, error: (error as Error).message });
      // LOCK_TIMEOUT's contract is exactly this: rolled back, nothing changed, retry shortly. It
      // keeps the internal API's 503 and orders' handling (retried, never opening its breaker).
      throw errors.lockTimeout();
    }
    await q.setSoldOutMarked(marked, false);
  }

  /**
   * Sets the sold-out marker of a product whose stock this replica saw at 0, in the background
   * (at most once per MARK_AGAIN_MS per product and replica). Its own transaction locks the row and
   * looks again, so it queues behind the reservation that took the last unit and acts on the
   * committed result; see sold-out-marker.ts for the argument. Failures only mean no marker.
   */
  function markSoldOut(productId: string): void {
    const marker = deps.soldOutMarker;
    if (!marker || (markedUntil.get(productId) ?? 0) > Date.now()) return;
    markedUntil.set(productId, Date.now() + MARK_AGAIN_MS);
    const mark = async () => {
      const seen = await repository.transaction(async (q) => {
        const [row] = await q.lockProducts([productId]);
        if (!row || row.stock > 0) return null;
        // Committed before any marker can exist, so a restock always knows to delete it.
        if (!row.soldOutMarked) await q.setSoldOutMarked([productId], true);
        const at = now();
        const sales = row.salesUntil !== null && row.salesUntil > at ? await q.findSales([], [productId]) : [];
        const live = liveSaleOf(productId, new Map(sales.map((sale) => [sale.eventId, sale])), at);
        return { generation: await marker.generation(productId), value: live && live.sold >= live.quantity ? live.eventId : NO_SALE };
      });
      if (!seen) {
        markedUntil.delete(productId);
        return;
      }
      await marker.markIfUnchanged(productId, seen.generation, seen.value);
    };
    mark().catch((error: unknown) => {
      markedUntil.delete(productId);
      logger.warn('sold-out marker not set; buyers keep asking inventory', { productId, error: (error as Error).message });
    });
  }

  /** Unguarded (the invariant script calls it); see inventory-report.ts for the numbers. */
  async function inventory(productIds: readonly string[] | null): Promise<InventoryReport> {
    const ids = productIds ? productIds.map((id) => id.toLowerCase()).filter(isUuid) : null;
    if (ids && ids.length === 0) return buildInventoryReport([], [], now());
    const [rows, sales] = await Promise.all([repository.inventory(ids), repository.saleInventory(ids)]);
    return buildInventoryReport(rows, sales, now());
  }

  function count<T extends { outcome: string }>(operation: string, result: T): T {
    outcomes.inc({ operation, outcome: result.outcome });
    return result;
  }

  function noteExhausted(product: Pick<ProductRow, 'id' | 'stock'>, sales: ReadonlyMap<string, SaleRow>, at: Date) {
    const live = liveSaleOf(product.id, sales, at);
    if (product.stock <= 0 || (live && live.sold >= live.quantity)) soldOutHint.add(product.id);
    if (product.stock <= 0) markSoldOut(product.id);
  }

  /**
   * The sold-out fast path: for a product this replica saw exhausted, one lock-free read of the
   * committed rows answers the requests it refuses (sold out, too little stock) with no row lock
   * and no transaction. The hint only decides whether to look; the read decides the answer, so a
   * release on another replica (which cannot clear this replica's hint) costs one extra read
   * here, never a wrong refusal. Requests the read does not refuse, and every request when one of
   * their orders already has a row (a repeat must get its recorded answer), are left undefined.
   */
  async function fastRefusals(productId: string, requests: readonly ReserveRequest[]): Promise<Array<ReserveOutcome | undefined>> {
    const at = now();
    const snapshot = await repository.snapshot(
      productId,
      requests.map((r) => r.orderId),
    );
    if (!snapshot || snapshot.recorded > 0) return requests.map(() => undefined);
    if (snapshot.product.stock <= 0) markSoldOut(productId);
    const productsById = new Map([[productId, snapshot.product]]);
    const salesById = new Map(snapshot.sales.map((sale) => [sale.eventId, sale]));
    const answers = requests.map((request) => {
      const plan = planReservation(request.lines, { products: productsById, sales: salesById, purchased: new Map(), now: at });
      return !plan.ok && FAST_REFUSALS.has(plan.rejection.outcome) ? plan.rejection : undefined;
    });
    const refused = answers.filter((a) => a !== undefined).length;
    if (refused < requests.length) soldOutHint.delete(productId);
    if (refused) hotPath.inc({ kind: 'fast' }, refused);
    return answers;
  }

  /** One order in its own transaction (orders over several products, a lone arrival, a fallback). */
  async function reserveAlone(request: ReserveRequest): Promise<ReserveOutcome> {
    const { orderId } = request;
    return transact<ReserveOutcome>('reserve', async (q) => {
      const at = now();
      const inserted = await q.insertReservation({ orderId, userId: request.userId, status: 'RESERVED', createdAt: at, updatedAt: at });
      if (!inserted) return { result: await recordedOutcome(q, orderId), touched: [] };
      const locked = await q.lockProducts(lockOrder(request.lines.map((l) => l.productId)));
      // Sale rows are read only when a line names a sale or a product has an open sale ahead
      // (its row says until when), so an ordinary order costs no extra statement.
      const saleIds = lockOrder(request.lines.flatMap((l) => (l.saleEventId ? [l.saleEventId] : [])));
      const onSale = locked.filter((row) => row.salesUntil !== null && row.salesUntil > at).map((row) => row.id);
      const sales = await q.findSales(saleIds, onSale);
      const salesById = new Map(sales.map((sale) => [sale.eventId, sale]));
      const plan = planReservation(request.lines, {
        products: new Map(locked.map((row) => [row.id, row])),
        sales: salesById,
        purchased: await q.findPurchased(request.userId, saleIds),
        now: at,
      });
      if (!plan.ok) {
        for (const row of locked) noteExhausted(row, salesById, at);
        throw new Rejected(plan.rejection);
      }
      for (const line of plan.lines) await q.changeStock(line.productId, -line.quantity, at);
      const soldOut = [];
      for (const line of plan.lines) {
        if (!line.saleEventId) continue;
        const sale = await q.countSaleUnits(line.saleEventId, request.userId, line.quantity, at);
        if (sale) salesById.set(sale.eventId, sale);
        if (sale && sale.sold >= sale.quantity) soldOut.push(saleSoldOutMessage(sale, at));
      }
      await q.insertLedger(ledgerRows('RESERVATION', orderId, plan.lines, -1, at));
      await q.insertLines(plan.lines.map((line, lineNo) => ({ orderId, lineNo, ...line })));
      await q.enqueue(soldOut, at);
      const taken = new Map(plan.lines.map((l) => [l.productId, l.quantity]));
      for (const row of locked) noteExhausted({ id: row.id, stock: row.stock - (taken.get(row.id) ?? 0) }, salesById, at);
      return {
        result: { outcome: 'RESERVED', lines: plan.lines },
        touched: plan.lines.map((l) => l.productId),
        queuedMessages: soldOut.length > 0,
      };
    }).catch((error: unknown) => {
      if (error instanceof Rejected) return error.result;
      throw error;
    });
  }

  /**
   * Many orders of one product in ONE transaction: the product row is locked once, and each order
   * is decided in arrival order by the same rules (`planReservation`) on the state the orders
   * before it left, so an order that fails alone fails alone and the rest still commit. Writes
   * are multi-row statements; each accepted order still gets its own reservation row, lines and
   * ledger row, and its sale units count against the sale and against its member.
   */
  async function reserveBatch(productId: string, requests: readonly ReserveRequest[]): Promise<ReserveOutcome[]> {
    const committed = await repository.transaction(async (q) => {
      const at = now();
      const [row] = await q.lockProducts([productId]);
      const recorded = new Map((await q.findReservations(requests.map((r) => r.orderId))).map((r) => [r.orderId, r]));
      const recordedLines = await q.findLinesOf([...recorded.keys()]);
      const saleIds = lockOrder(requests.flatMap((r) => (r.lines[0]!.saleEventId ? [r.lines[0]!.saleEventId] : [])));
      const onSale = row && row.salesUntil !== null && row.salesUntil > at ? [productId] : [];
      const sales = await q.findSales(saleIds, onSale);
      // Mutable copies: each accepted order changes what the next one sees.
      const product = row ? { ...row } : undefined;
      const salesById = new Map(sales.map((sale) => [sale.eventId, { ...sale }]));
      const soldBefore = new Map(sales.map((sale) => [sale.eventId, sale.sold]));
      const purchased = new Map<string, Map<string, number>>();
      for (const eventId of saleIds) {
        const buyers = [...new Set(requests.filter((r) => r.lines[0]!.saleEventId === eventId).map((r) => r.userId))];
        const held = await q.findPurchasedBy(eventId, buyers);
        for (const userId of buyers) {
          const mine = purchased.get(userId) ?? new Map<string, number>();
          mine.set(eventId, held.get(userId) ?? 0);
          purchased.set(userId, mine);
        }
      }
      const productsById = new Map(product ? [[productId, product]] : []);
      const answers = new Map<string, ReserveOutcome>();
      const accepted: Array<{ request: ReserveRequest; lines: PricedLine[] }> = [];
      for (const request of requests) {
        if (answers.has(request.orderId)) continue;
        const mine = recorded.get(request.orderId);
        if (mine) {
          const lines = recordedLines.filter((l) => l.orderId === request.orderId).map(toPriced);
          answers.set(request.orderId, { outcome: mine.status, lines });
          continue;
        }
        const plan = planReservation(request.lines, {
          products: productsById,
          sales: salesById,
          purchased: purchased.get(request.userId) ?? new Map(),
          now: at,
        });
        if (!plan.ok) {
          answers.set(request.orderId, plan.rejection);
          continue;
        }
        for (const line of plan.lines) {
          product!.stock -= line.quantity;
          if (!line.saleEventId) continue;
          salesById.get(line.saleEventId)!.sold += line.quantity;
          const mineHeld = purchased.get(request.userId)!;
          mineHeld.set(line.saleEventId, (mineHeld.get(line.saleEventId) ?? 0) + line.quantity);
        }
        accepted.push({ request, lines: plan.lines });
        answers.set(request.orderId, { outcome: 'RESERVED', lines: plan.lines });
      }
      const soldOut = [];
      if (accepted.length) {
        const taken = accepted.reduce((sum, a) => sum + a.lines[0]!.quantity, 0);
        await q.changeStock(productId, -taken, at);
        for (const eventId of saleIds) {
          const perMember = new Map<string, number>();
          for (const { request, lines } of accepted) {
            if (lines[0]!.saleEventId === eventId) perMember.set(request.userId, (perMember.get(request.userId) ?? 0) + lines[0]!.quantity);
          }
          await q.addSaleUnits(eventId, perMember, at);
          const sale = salesById.get(eventId);
          if (sale && sale.sold >= sale.quantity && soldBefore.get(eventId)! < sale.quantity) soldOut.push(saleSoldOutMessage(sale, at));
        }
        await q.insertReservations(
          accepted.map(({ request }) => ({
            orderId: request.orderId,
            userId: request.userId,
            status: 'RESERVED' as const,
            createdAt: at,
            updatedAt: at,
          })),
        );
        await q.insertLedger(accepted.flatMap(({ request, lines }) => ledgerRows('RESERVATION', request.orderId, lines, -1, at)));
        await q.insertLines(
          accepted.flatMap(({ request, lines }) => lines.map((line, lineNo) => ({ orderId: request.orderId, lineNo, ...line }))),
        );
        await q.enqueue(soldOut, at);
      }
      if (product) noteExhausted(product, salesById, at);
      return { answers, taken: accepted.length > 0, queuedMessages: soldOut.length > 0 };
    });
    if (committed.taken) await cache.invalidate([productId], { listings: false });
    if (committed.queuedMessages) deps.onMessagesQueued?.();
    return requests.map((r) => committed.answers.get(r.orderId)!);
  }

  /**
   * Serves one batch of a product's queue: sold-out refusals first (no lock), then the rest in
   * one group commit. If that transaction fails as a whole (a deadlock, a duplicate order id
   * written meanwhile by another replica or a release), each order is served alone so that it
   * gets the answer it would have got alone; a lock wait over the bound is every order's answer.
   */
  async function serveBatch(productId: string, requests: ReserveRequest[]): Promise<Array<Settled<ReserveOutcome>>> {
    const answers: Array<ReserveOutcome | undefined> = soldOutHint.has(productId)
      ? await fastRefusals(productId, requests)
      : requests.map(() => undefined);
    const open = requests.filter((_, i) => answers[i] === undefined);
    const settled: Array<Settled<ReserveOutcome> | undefined> = answers.map((a) => (a ? { ok: true, value: a } : undefined));
    let served: Array<Settled<ReserveOutcome>> = [];
    if (open.length === 1) {
      served = [await settle(reserveAlone(open[0]!))];
    } else if (open.length > 1) {
      hotPath.inc({ kind: 'batches' });
      hotPath.inc({ kind: 'batched' }, open.length);
      try {
        served = (await reserveBatch(productId, open)).map((value) => ({ ok: true, value }));
      } catch (error) {
        if (error instanceof LockConflictError) lockConflicts.inc({ kind: error.conflict });
        if (error instanceof LockConflictError && error.conflict === 'timeout') {
          logger.warn('inventory lock wait timed out', { operation: 'reserve-batch', orders: open.length });
          served = open.map(() => ({ ok: false, error: errors.lockTimeout() }));
        } else {
          logger.warn('group commit failed; serving its orders one by one', { orders: open.length, error });
          served = await Promise.all(open.map((request) => settle(reserveAlone(request))));
        }
      }
    }
    let next = 0;
    return settled.map((s) => s ?? served[next++]!);
  }

  const group = createGroupCommit<ReserveRequest, ReserveOutcome>({
    highWater: hotOptions.queueHighWater,
    maxBatch: hotOptions.maxBatch,
    process: serveBatch,
  });
  deps.metrics.gauge({
    name: 'inventory_hot_queue_depth',
    help: "Reservations waiting in this replica's hot-product queues (the batch in flight not counted)",
    collect() {
      this.set(group.waiting());
    },
  });

  return {
    /**
     * Takes stock for an order, all lines or none. An order of one product goes through that
     * product's group commit (see inventory.hot.ts and `serveBatch`); an order over several
     * products takes its own transaction. Either way each order gets its own reservation row,
     * ledger rows, sale-unit and per-member accounting, and its own outcome.
     */
    async reserveStock(request: ReserveRequest): Promise<ReserveOutcome> {
      if (request.lines.length !== 1) return count('reserve', await reserveAlone(request));
      const productId = request.lines[0]!.productId;
      if (group.full(productId)) {
        // A sold-out product's crowd still hears "sold out", not "try again": that answer is final.
        const refused = soldOutHint.has(productId) ? (await fastRefusals(productId, [request]))[0] : undefined;
        const overloaded: Overloaded = { outcome: 'OVERLOADED', retryAfterSeconds: hotOptions.retryAfterSeconds };
        return count('reserve', refused ?? overloaded);
      }
      hotPath.inc({ kind: 'queued' });
      return count('reserve', await group.submit(productId, request));
    },

    /**
     * Gives back what the order reserved, once. For an order never seen, writes a tombstone so a
     * reserve that arrives later (slow or retried) answers RELEASED and takes nothing.
     */
    async releaseStock(orderId: string): Promise<ReleaseOutcome> {
      const result = await transact<ReleaseOutcome>('release', async (q) => {
        const at = now();
        const reservation = await q.lockReservation(orderId);
        if (!reservation) {
          const inserted = await q.insertReservation({ orderId, userId: null, status: 'RELEASED', createdAt: at, updatedAt: at });
          if (!inserted) throw new RaceLost();
          return { result: { outcome: 'RELEASED', lines: [] }, touched: [] };
        }
        const lines = (await q.findLines(orderId)).map(toPriced);
        if (reservation.status === 'RESTOCKED') return { result: { outcome: 'RESTOCKED' }, touched: [] };
        if (reservation.status === 'RELEASED') return { result: { outcome: 'RELEASED', lines }, touched: [] };
        await giveBack(q, reservation, lines, 'RELEASE', at);
        return { result: { outcome: 'RELEASED', lines }, touched: lines.map((l) => l.productId) };
      });
      return count('release', result);
    },

    /** Returned goods back on the shelf: everything the order reserved, once. */
    async restock(orderId: string): Promise<RestockOutcome> {
      const result = await transact<RestockOutcome>('restock', async (q) => {
        const at = now();
        const reservation = await q.lockReservation(orderId);
        if (!reservation) return { result: { outcome: 'NOT_RESTOCKABLE', reason: 'NEVER_RESERVED' }, touched: [] };
        if (reservation.status === 'RELEASED') return { result: { outcome: 'NOT_RESTOCKABLE', reason: 'RELEASED' }, touched: [] };
        const lines = (await q.findLines(orderId)).map(toPriced);
        if (reservation.status === 'RESTOCKED') return { result: { outcome: 'RESTOCKED', lines }, touched: [] };
        await giveBack(q, reservation, lines, 'RESTOCK', at);
        return { result: { outcome: 'RESTOCKED', lines }, touched: lines.map((l) => l.productId) };
      });
      return count('restock', result);
    },

    /** Admin correction (stock count, damage, delivery). Never below zero: that is a typed result. */
    async adjustStock(identity: Identity | null, productId: string, delta: number, reason: string): Promise<AdjustStockResult> {
      requireAdmin(identity);
      const checked = validateStockAdjustment(delta, reason);
      checked.errors.throwIfAny();
      const id = productId.toLowerCase();
      if (!isUuid(id)) throw errors.notFound('Product');
      const result = await transact<AdjustStockResult | 'NOT_FOUND' | 'TOO_MUCH'>('adjust', async (q) => {
        const at = now();
        const [row] = await q.lockProducts([id]);
        if (!row || row.deletedAt !== null) return { result: 'NOT_FOUND', touched: [] };
        const stock = row.stock + delta;
        if (stock < 0) {
          const message = `Only ${row.stock} units are on the shelf; removing ${-delta} would go below zero`;
          return { result: { __typename: 'StockBelowZero', message, productId: id, stock: row.stock, delta }, touched: [] };
        }
        if (stock > LIMITS.stock) return { result: 'TOO_MUCH', touched: [] };
        if (delta > 0) await unmark(q, [row]);
        await q.changeStock(id, delta, at);
        if (delta > 0) soldOutHint.delete(id);
        await q.insertLedger([
          { productId: id, orderId: null, kind: 'ADJUSTMENT', quantityDelta: delta, reason: checked.reason, createdAt: at },
        ]);
        const open = (await q.findSales([], [id])).filter((sale) => sale.endsAt > at);
        return { result: { __typename: 'Product', ...toProductView({ ...row, stock, updatedAt: at }, open) }, touched: [id] };
      });
      if (result === 'NOT_FOUND') throw errors.notFound('Product');
      if (result === 'TOO_MUCH') throw errors.badInput([{ field: 'delta', message: `The stock may not exceed ${LIMITS.stock} units` }]);
      // The metric's outcome labels predate the typed results; dashboards read these two.
      outcomes.inc({ operation: 'adjust', outcome: result.__typename === 'Product' ? 'ADJUSTED' : 'BELOW_ZERO' });
      return result;
    },

    /** Admin view of the invariant (see inventory-report.ts). */
    async inventoryReport(identity: Identity | null, productIds: readonly string[] | null): Promise<InventoryReport> {
      requireAdmin(identity);
      return inventory(productIds);
    },

    inventory,
  };
}

const settle = <R>(promise: Promise<R>): Promise<Settled<R>> =>
  promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );

/** The committed answer for an order id another request already handled. */
async function recordedOutcome(q: InventoryQueries, orderId: string): Promise<ReserveOutcome> {
  const reservation = await q.findReservation(orderId);
  if (!reservation) throw new RaceLost();
  const lines = (await q.findLines(orderId)).map(toPriced);
  return { outcome: reservation.status, lines };
}

export type InventoryService = ReturnType<typeof createInventoryService>;
