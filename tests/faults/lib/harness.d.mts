// Types for harness.mjs so the TypeScript smoke test (tests/e2e/faults-smoke.test.ts) can use it.
import type { PrivateMariadb } from '@bth/testkit';
import type { Instance } from '../../../scripts/stack.mjs';

export interface PrivateServer {
  readonly pid: number | undefined;
  readonly port: number;
  readonly url: string;
  start(): Promise<void>;
  kill(): Promise<void>;
  stop(): Promise<void>;
  destroy(): Promise<void>;
}

export interface FaultStack {
  runId: string;
  url: string;
  stack: { instances: Instance[]; service(name: string, index?: number): Instance };
  mariadb: PrivateMariadb;
  redis: PrivateServer | undefined;
  rabbitmq: PrivateServer | undefined;
  adminToken: string;
  errorLines: string[];
  stop(): Promise<void>;
}

export interface Invariants {
  inventoryConsistent: boolean;
  soldUnits: number | null;
  standingUnits: number;
  soldEqualsStanding: boolean;
  pendingLeft: number;
  pendingClearedMs: number | null;
  clientOrdersNotStanding: number;
  doubleCharged: number;
  hold: boolean;
}

export interface ScenarioResult {
  name: string;
  title: string;
  vus: number;
  offered: { requests: number; perSecond: number; orderAttempts: number; seconds: number };
  faultSeconds: number;
  /** Counts by "<kind>: <label>", kind one of order, sale order, listing, payment. */
  faultWindowOutcomes: Record<string, number>;
  afterFaultOutcomes: Record<string, number>;
  allOutcomes: Record<string, number>;
  orderLatencyMs: {
    baselineP50: number | null;
    baselineP99: number | null;
    faultP50: number | null;
    faultP99: number | null;
    faultMax: number | null;
  };
  slowestInFaultMs: number;
  recoveryMs: number | null;
  internalTextLeaks: number;
  leakSample: string | null;
  extra?: Record<string, unknown>;
  invariants: Invariants;
  serviceErrorLines: number;
}

export interface Scenario {
  name: string;
  title: string;
  needs?: 'redis' | 'rabbitmq';
  /** The request kind whose first success after the fault counts as recovery (default: any order). */
  recoveryKind?: string;
}

export declare const PLACE_ORDER: string;
export declare function delay(ms: number): Promise<void>;
export declare function startFaultStack(options?: {
  privateRedis?: boolean;
  privateRabbitmq?: boolean;
  productsReplicas?: number;
  envFor?: Record<string, Record<string, string>>;
  log?: (message: string) => void;
}): Promise<FaultStack>;
export declare function runScenario(
  h: FaultStack,
  scenario: Scenario,
  options?: {
    vus?: number;
    warmupMs?: number;
    afterMs?: number;
    recoveryCapMs?: number;
    pendingTimeoutMs?: number;
    log?: (message: string) => void;
  },
): Promise<ScenarioResult>;
