import type { InventoryRow, SaleInventoryRow } from './inventory.repository.js';

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

/**
 * The sale invariant: the sale's counter equals the sale units held by reserved orders, never
 * above its quantity, and no member holds more than the per-member limit.
 */
export interface SaleInventory {
  eventId: string;
  productId: string;
  quantity: number;
  perUserLimit: number;
  /** The counter inventory keeps (`sales.sold`). */
  sold: number;
  /** Sale units held by reserved orders, counted from the reservations themselves. */
  heldByOrders: number;
  /** Most sale units any one member holds. */
  maxPerMember: number;
  /** sold − heldByOrders; anything but 0 is a bug. */
  difference: number;
  consistent: boolean;
}

export interface InventoryReport {
  products: ProductInventory[];
  sales: SaleInventory[];
  soldUnits: number;
  totalStock: number;
  /** Σ |difference|, so differences of opposite sign cannot cancel out. */
  totalDifference: number;
  consistent: boolean;
  checkedAt: Date;
}

export function buildSaleInventory(row: SaleInventoryRow): SaleInventory {
  const difference = row.sold - row.heldByOrders;
  return {
    ...row,
    difference,
    consistent: difference === 0 && row.sold <= row.quantity && row.maxPerMember <= row.perUserLimit,
  };
}

export function buildInventoryReport(
  rows: readonly InventoryRow[],
  saleRows: readonly SaleInventoryRow[],
  checkedAt: Date,
): InventoryReport {
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
  const sales = saleRows.map(buildSaleInventory);
  const totalDifference = products.reduce((sum, p) => sum + Math.abs(p.difference), 0);
  return {
    products,
    sales,
    soldUnits: products.reduce((sum, p) => sum + p.sold, 0),
    totalStock: products.reduce((sum, p) => sum + p.stock, 0),
    totalDifference,
    consistent: totalDifference === 0 && sales.every((sale) => sale.consistent),
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
  const brokenSales = report.sales
    .filter((sale) => !sale.consistent)
    .map(
      (sale) =>
        `  sale ${sale.eventId}: counter ${sale.sold}, orders hold ${sale.heldByOrders} of ${sale.quantity}, most per member ${sale.maxPerMember} (limit ${sale.perUserLimit})`,
    );
  return ['Inventory invariant BROKEN:', ...broken, ...brokenSales, summary];
}
