import { pathToFileURL } from 'node:url';
import { createDatabase, type DatabaseClient } from '@bth/platform/db';
import { createLogger } from '@bth/platform/logger';
import { runMain } from '@bth/platform/service';
import { readEnv } from '../env.js';
import { buildInventoryReport, describeInventoryReport, type InventoryReport } from '../inventory-report.js';
import { createInventoryRepository } from '../inventory.repository.js';

/** Reads every product's stock and ledger, and every sale's counters; read-only, safe under load. */
export async function checkInvariant(database: DatabaseClient): Promise<{ report: InventoryReport; lines: string[] }> {
  const repository = createInventoryRepository(database.db);
  const [rows, sales] = await Promise.all([repository.inventory(null), repository.saleInventory(null)]);
  const report = buildInventoryReport(rows, sales, new Date());
  return { report, lines: describeInventoryReport(report) };
}

/**
 * `npm run check-invariant -w @bth/products` (after a build): checks stock against the ledger
 * for every product in DATABASE_URL and exits 1 when any product differs.
 */
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  runMain(async () => {
    const env = readEnv();
    const database = createDatabase({
      url: env.DATABASE_URL,
      poolSize: 1,
      logger: createLogger({ service: 'products-invariant' }, 'warn'),
    });
    try {
      const { report, lines } = await checkInvariant(database);
      process.stdout.write(`${lines.join('\n')}\n`);
      if (!report.consistent) process.exitCode = 1;
    } finally {
      await database.close();
    }
  });
}
