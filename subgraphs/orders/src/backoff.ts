/**
 * Exponential backoff with full jitter (delay drawn uniformly from [0, min(cap, base·2^(n-1))]).
 * In a flash sale hundreds of buyers fail at the same instant; without jitter their retries
 * would arrive at the same instant again.
 */
export interface BackoffPolicy {
  baseMs: number;
  capMs: number;
}

export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
