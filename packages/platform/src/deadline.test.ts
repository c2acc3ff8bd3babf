import { describe, expect, it } from 'vitest';
import { lagTolerantTimeout } from './deadline.js';

describe('lagTolerantTimeout', () => {
  it('aborts after the time when nothing arrives', async () => {
    const started = Date.now();
    const timeout = lagTolerantTimeout(30);
    await expect(timeout.expired).rejects.toMatchObject({ name: 'TimeoutError' });
    expect(timeout.signal.aborted).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
  });

  it('does not fire on an answer that arrived while the event loop was blocked past the deadline', async () => {
    const timeout = lagTolerantTimeout(20);
    // The "answer": I/O that completes during the blocked stretch and is read in the poll phase.
    const answer = new Promise<string>((resolve) => setTimeout(() => setImmediate(() => resolve('answer')), 5));
    const until = Date.now() + 60;
    while (Date.now() < until) {
      // a busy loop: the timer and the answer are both due when it ends
    }
    const winner = await Promise.race([answer, timeout.expired.catch(() => 'timeout')]);
    timeout.clear();
    expect(winner).toBe('answer');
  });

  it('never fires once cleared', async () => {
    const timeout = lagTolerantTimeout(10);
    timeout.clear();
    await new Promise((r) => setTimeout(r, 40));
    expect(timeout.signal.aborted).toBe(false);
  });
});
