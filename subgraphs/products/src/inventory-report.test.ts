import { describe, expect, it } from 'vitest';
import { buildInventoryReport, describeInventoryReport } from './inventory-report.js';
import type { InventoryRow } from './inventory.repository.js';

const at = new Date('2026-11-25T14:00:00Z');
const row = (overrides: Partial<InventoryRow> = {}): InventoryRow => ({
  productId: 'p1',
  name: 'Omega-3',
  deleted: false,
  stock: 42,
  initial: 50,
  adjusted: 2,
  reserved: -15,
  released: 3,
  restocked: 2,
  ledger: 42,
  ...overrides,
});

describe('buildInventoryReport', () => {
  it('derives sold units and a zero difference when stock matches the ledger', () => {
    const report = buildInventoryReport([row()], [], at);
    expect(report.products[0]).toMatchObject({ reserved: 15, sold: 10, ledgerStock: 42, difference: 0 });
    expect(report).toMatchObject({ soldUnits: 10, totalStock: 42, totalDifference: 0, consistent: true, checkedAt: at });
    expect(describeInventoryReport(report)).toEqual([expect.stringMatching(/^Inventory invariant holds/)]);
  });

  it('does not let differences of opposite sign cancel out', () => {
    const report = buildInventoryReport([row({ productId: 'p1', stock: 43 }), row({ productId: 'p2', stock: 41 })], [], at);
    expect(report).toMatchObject({ totalDifference: 2, consistent: false });
    const lines = describeInventoryReport(report);
    expect(lines[0]).toBe('Inventory invariant BROKEN:');
    expect(lines.filter((l) => l.includes('p1') || l.includes('p2'))).toHaveLength(2);
  });

  it('checks each sale: counter equal to what orders hold, within the quantity and the per-member limit', () => {
    const sale = { eventId: 'e1', productId: 'p1', quantity: 100, perUserLimit: 1, sold: 100, heldByOrders: 100, maxPerMember: 1 };
    expect(buildInventoryReport([row()], [sale], at)).toMatchObject({ consistent: true, sales: [{ difference: 0, consistent: true }] });
    const overLimit = buildInventoryReport([row()], [{ ...sale, maxPerMember: 2 }], at);
    expect(overLimit.consistent).toBe(false);
    expect(describeInventoryReport(overLimit).some((l) => l.includes('sale e1'))).toBe(true);
    expect(buildInventoryReport([row()], [{ ...sale, heldByOrders: 99 }], at).sales[0]).toMatchObject({ difference: 1, consistent: false });
  });

  it('is consistent for an empty catalogue', () => {
    expect(buildInventoryReport([], [], at)).toMatchObject({ products: [], soldUnits: 0, consistent: true });
  });
});
