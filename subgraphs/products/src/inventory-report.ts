import type { InventoryRow } from './inventory.repository.js';

/**
 * The inventory invariant: for every product, initial + adjustments − reserved + released +
 * restocked = the stock column. `difference` is stock − that sum; 0 everywhere means no unit was
 * lost or sold twice. Stock can never be negative (a CHECK constraint), so a consistent report
 * also proves that no product sold more units than it ever had.
 */
export interface ProductInventory {
  productId: string;
  name: string;
  deleted: boolean;
  stock: number;
  initialStock: number;
  adjusted: number;
  reserved: number;
  released: number;
  restocked: number;
  /** Units held by orders: reserved − released − restocked. */
  sold: number;
  ledgerStock: number;
  difference: number;
}

export interface InventoryReport {
  products: ProductInventory[];
  soldUnits: number;
  totalStock: number;
  /** Σ |difference|, so differences of opposite sign cannot cancel out. */
  totalDifference: number;
  consistent: boolean;
  checkedAt: Date;
}

export function buildInventoryReport(rows: readonly InventoryRow[], checkedAt: Date): InventoryReport {
  const products = rows.map((row): ProductInventory => {
    // Ledger deltas are signed: reservations are stored negative.
    const reserved = -row.reserved;
    return {
      productId: row.productId,
      name: row.name,
      deleted: row.deleted,
      stock: row.stock,
      initialStock: row.initial,
      adjusted: row.adjusted,
      reserved,
      released: row.released,
      restocked: row.restocked,
      sold: reserved - row.released - row.restocked,
      ledgerStock: row.ledger,
      difference: row.stock - row.ledger,
    };
  });
  const totalDifference = products.reduce((sum, p) => sum + Math.abs(p.difference), 0);
  return {
    products,
    soldUnits: products.reduce((sum, p) => sum + p.sold, 0),
    totalStock: products.reduce((sum, p) => sum + p.stock, 0),
    totalDifference,
    consistent: totalDifference === 0,
    checkedAt,
  };
}

/** Human-readable lines: a summary, preceded by one line per product that breaks the invariant. */
export function describeInventoryReport(report: InventoryReport): string[] {
  const summary = `${report.products.length} products, ${report.soldUnits} units held by orders, ${report.totalStock} on the shelf, total difference ${report.totalDifference}`;
  if (report.consistent) return [`Inventory invariant holds: ${summary}`];
  const broken = report.products
    .filter((p) => p.difference !== 0)
    .map((p) => `  ${p.productId} "${p.name}": stock ${p.stock}, ledger says ${p.ledgerStock} (difference ${p.difference})`);
  return ['Inventory invariant BROKEN:', ...broken, summary];
}
