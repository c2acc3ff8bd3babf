import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runScenario, startFaultStack, type FaultStack, type ScenarioResult } from '../faults/lib/harness.mjs';
import { makeScenarios } from '../faults/lib/scenarios.mjs';

/**
 * The CI subset of `npm run test:faults`: two scenarios of the fault matrix, on the same harness
 * (order load through the router, private MariaDB and Redis), asserting the contract the matrix
 * only reports. The whole matrix and RELIABILITY.md come from `npm run test:faults`.
 */
// Longer than the wait allowed below, so a replica without a deadline in front of it fails the test.
const FREEZE_MS = 7_000;
// Bounds the clients' wait while one replica is frozen: well under the freeze, above a deadline plus a retry on a loaded CI box.
const MAX_WAIT_WITH_ONE_REPLICA_FROZEN_MS = 5_000;
// MariaDB is down this long; a restart with crash recovery takes about a second more.
const MARIADB_DOWN_MS = 3_000;
// The reconciler settles an order cut off mid-flight within one inventory deadline plus a few seconds.
const PENDING_TIMEOUT_MS = 15_000;
/** Every invariant by name, so a failure says which one broke. */
const INTACT = { inventoryConsistent: true, soldEqualsStanding: true, pendingLeft: 0, clientOrdersNotStanding: 0, doubleCharged: 0 };

const scenarios = makeScenarios({ downMs: MARIADB_DOWN_MS, freezeMs: FREEZE_MS });
const scenario = (name: string) => scenarios.find((s) => s.name === name)!;
const run = (name: string) =>
  runScenario(h, scenario(name), { vus: 8, warmupMs: 2_000, afterMs: 3_000, recoveryCapMs: 15_000, pendingTimeoutMs: PENDING_TIMEOUT_MS });

/** Labels of answers that are neither a success nor a typed business result. */
const errorLabels = (result: ScenarioResult) =>
  Object.keys(result.faultWindowOutcomes)
    .map((key) => key.slice(key.indexOf(': ') + 2))
    .filter((label) => !['Order', 'InsufficientStock', 'InventoryUnavailable', 'OrderNotPayable', 'ok'].includes(label));

let h: FaultStack;
beforeAll(async () => {
  // RabbitMQ is not stopped here: the shared broker with an exchange of this run is enough.
  h = await startFaultStack({ privateRedis: true, privateRabbitmq: false });
});
afterAll(async () => {
  await h?.stop();
});

describe('fault smoke (CI subset of npm run test:faults)', () => {
  it('one frozen products replica: every order and read is answered promptly by the healthy one', async () => {
    const result = await run('freeze-products-replica');
    expect(result.invariants).toMatchObject(INTACT);
    expect(errorLabels(result), JSON.stringify(result.faultWindowOutcomes)).toEqual([]);
    expect(Object.keys(result.faultWindowOutcomes).filter((k) => k.includes('InventoryUnavailable'))).toEqual([]);
    expect(result.slowestInFaultMs).toBeLessThan(MAX_WAIT_WITH_ONE_REPLICA_FROZEN_MS);
    expect(result.internalTextLeaks, result.leakSample ?? '').toBe(0);
  });

  it('kill -9 MariaDB: coded retryable answers with nothing internal, invariants intact after crash recovery', async () => {
    const result = await run('kill-mariadb');
    expect(result.invariants).toMatchObject(INTACT);
    expect(result.internalTextLeaks, result.leakSample ?? '').toBe(0);
    const unexpected = errorLabels(result).filter(
      (label) => !/^(SERVICE_UNAVAILABLE|UPSTREAM_UNAVAILABLE|LOCK_TIMEOUT) \(retryable\)$/.test(label),
    );
    expect(unexpected, JSON.stringify(result.faultWindowOutcomes)).toEqual([]);
    expect(result.recoveryMs).not.toBeNull();
  });
});
