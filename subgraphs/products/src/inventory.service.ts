import { errors, isDeadlock, isLockTimeout, isUuid, requireAdmin, type Identity, type Logger, type Metrics } from '@bth/platform';
import type { LedgerRow, ReservationLineRow } from './db/schema.js';
import { buildInventoryReport, type InventoryReport } from './inventory-report.js';
import type { InventoryQueries, InventoryRepository } from './inventory.repository.js';
import { lockOrder, planReservation, type PricedLine, type ReserveRejection, type StockLine } from './inventory.rules.js';
import { saleSoldOutMessage } from './sale.messages.js';
import type { ProductCache } from './product-cache.js';
import { toProductView, type ProductView } from './product.model.js';
import { LIMITS, validateStockAdjustment } from './product.validation.js';

export interface ReserveRequest {
  orderId: string;
  userId: string;
  lines: StockLine[];
}

export type ReserveOutcome =
  | { outcome: 'RESERVED' | 'RELEASED' | 'RESTOCKED'; lines: PricedLine[] }
  | ReserveRejection;
export type ReleaseOutcome = { outcome: 'RELEASED'; lines: PricedLine[] } | { outcome: 'RESTOCKED' };
export type RestockOutcome = { outcome: 'RESTOCKED'; lines: PricedLine[] } | { outcome: 'NOT_RESTOCKABLE'; reason: 'RELEASED' | 'NEVER_RESERVED' };

export type AdjustStockResult =
  | { kind: 'ADJUSTED'; product: ProductView }
  | { kind: 'BELOW_ZERO'; productId: string; stock: number; delta: number };

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
  now?: () => Date;
}) {
  const { repository, cache, logger } = deps;
  const now = deps.now ?? (() => new Date());
  const outcomes = deps.metrics.counter({
    name: 'inventory_outcomes_total',
    help: 'Inventory calls by operation and outcome',
    labelNames: ['operation', 'outcome'],
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
    let deadlocks = 0;
    let racesLost = 0;
    for (;;) {
      let committed: Committed<T>;
      try {
        committed = await repository.transaction(work);
      } catch (error) {
        if (error instanceof RaceLost && racesLost++ < 2) continue;
        if (isDeadlock(error)) {
          lockConflicts.inc({ kind: 'deadlock' });
          if (deadlocks++ < 1) continue;
          throw errors.lockTimeout();
        }
        if (isLockTimeout(error)) {
          lockConflicts.inc({ kind: 'timeout' });
          logger.warn('inventory lock wait timed out', { operation });
          throw errors.lockTimeout();
        }
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
  async function giveBack(q: InventoryQueries, reservation: { orderId: string; userId: string | null }, lines: PricedLine[], kind: 'RELEASE' | 'RESTOCK', at: Date) {
    const { orderId, userId } = reservation;
    await q.lockProducts(lockOrder(lines.map((l) => l.productId)));
    for (const line of lines) await q.changeStock(line.productId, line.quantity, at);
    for (const line of lines) if (line.saleEventId && userId) await q.countSaleUnits(line.saleEventId, userId, -line.quantity, at);
    await q.insertLedger(ledgerRows(kind, orderId, lines, 1, at));
    await q.setStatus(orderId, kind === 'RELEASE' ? 'RELEASED' : 'RESTOCKED', at);
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

  return {
    /**
     * Takes stock for an order, all lines or none. The order's reservation row is inserted first:
     * concurrent repeats of one order queue on its primary key, and the ones that lose answer the
     * winner's committed outcome. A rejection rolls everything back, the row included, so it is
     * not remembered (the caller does not retry rejected orders).
     */
    async reserveStock(request: ReserveRequest): Promise<ReserveOutcome> {
      const { orderId } = request;
      const result = await transact<ReserveOutcome>('reserve', async (q) => {
        const at = now();
        const inserted = await q.insertReservation({ orderId, userId: request.userId, status: 'RESERVED', createdAt: at, updatedAt: at });
        if (!inserted) return { result: await recordedOutcome(q, orderId), touched: [] };
        const locked = await q.lockProducts(lockOrder(request.lines.map((l) => l.productId)));
        // Sale rows are read only when a line names a sale or a product has an open sale ahead
        // (its row says until when), so an ordinary order costs no extra statement.
        const saleIds = lockOrder(request.lines.flatMap((l) => (l.saleEventId ? [l.saleEventId] : [])));
        const onSale = locked.filter((row) => row.salesUntil !== null && row.salesUntil > at).map((row) => row.id);
        const sales = await q.findSales(saleIds, onSale);
        const plan = planReservation(request.lines, {
          products: new Map(locked.map((row) => [row.id, row])),
          sales: new Map(sales.map((sale) => [sale.eventId, sale])),
          purchased: await q.findPurchased(request.userId, saleIds),
          now: at,
        });
        if (!plan.ok) throw new Rejected(plan.rejection);
        for (const line of plan.lines) await q.changeStock(line.productId, -line.quantity, at);
        const soldOut = [];
        for (const line of plan.lines) {
          if (!line.saleEventId) continue;
          const sale = await q.countSaleUnits(line.saleEventId, request.userId, line.quantity, at);
          if (sale && sale.sold >= sale.quantity) soldOut.push(saleSoldOutMessage(sale, at));
        }
        await q.insertLedger(ledgerRows('RESERVATION', orderId, plan.lines, -1, at));
        await q.insertLines(plan.lines.map((line, lineNo) => ({ orderId, lineNo, ...line })));
        await q.enqueue(soldOut, at);
        return {
          result: { outcome: 'RESERVED', lines: plan.lines },
          touched: plan.lines.map((l) => l.productId),
          queuedMessages: soldOut.length > 0,
        };
      }).catch((error: unknown) => {
        if (error instanceof Rejected) return error.result;
        throw error;
      });
      return count('reserve', result);
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
        if (stock < 0) return { result: { kind: 'BELOW_ZERO', productId: id, stock: row.stock, delta }, touched: [] };
        if (stock > LIMITS.stock) return { result: 'TOO_MUCH', touched: [] };
        await q.changeStock(id, delta, at);
        await q.insertLedger([{ productId: id, orderId: null, kind: 'ADJUSTMENT', quantityDelta: delta, reason: checked.reason, createdAt: at }]);
        const open = (await q.findSales([], [id])).filter((sale) => sale.endsAt > at);
        return { result: { kind: 'ADJUSTED', product: toProductView({ ...row, stock, updatedAt: at }, open) }, touched: [id] };
      });
      if (result === 'NOT_FOUND') throw errors.notFound('Product');
      if (result === 'TOO_MUCH') throw errors.badInput([{ field: 'delta', message: `The stock may not exceed ${LIMITS.stock} units` }]);
      outcomes.inc({ operation: 'adjust', outcome: result.kind });
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

/** The committed answer for an order id another request already handled. */
async function recordedOutcome(q: InventoryQueries, orderId: string): Promise<ReserveOutcome> {
  const reservation = await q.findReservation(orderId);
  if (!reservation) throw new RaceLost();
  const lines = (await q.findLines(orderId)).map(toPriced);
  return { outcome: reservation.status, lines };
}

export type InventoryService = ReturnType<typeof createInventoryService>;
