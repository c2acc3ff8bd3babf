// Types for scenarios.mjs (see harness.d.mts).
import type { Scenario } from './harness.mjs';

export declare function makeScenarios(lengths?: { downMs?: number; freezeMs?: number }): Scenario[];
export declare const SCENARIOS: Scenario[];
