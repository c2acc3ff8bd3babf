// Prints the plain closing line CI reads (`N passed, N failed`) from vitest's JSON report.
// Turbo prefixes every line of its tasks and vitest's own summary is not machine-read, hence this.
import { readFileSync } from 'node:fs';

const path = process.argv[2] ?? 'tests/.reports/vitest.json';
let report;
try {
  report = JSON.parse(readFileSync(path, 'utf8'));
} catch {
  process.stdout.write('0 passed, 1 failed\n');
  process.exit(1);
}
const passed = report.numPassedTests ?? 0;
// A file that fails outside any test (a broken beforeAll, an import error) has no failed test of
// its own; count it as one failure so it cannot pass unnoticed.
const failedTests = report.numFailedTests ?? 0;
const failed = failedTests > 0 ? failedTests : (report.numFailedTestSuites ?? 0);
const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
process.stdout.write(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
