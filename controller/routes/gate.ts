// The account-wide backoff of route writes: throttling is per access key, not per table, so one
// gate holds every table's calls; and the per-writer count of consecutive failures that sets
// how long it holds.
import type { CloudError } from '../provider/errors.js';

/** Shared by all tables of one cloud account. */
export class CloudGate {
  notBefore = 0;
  private closed = false;
  private readonly sleepers = new Map<NodeJS.Timeout, () => void>();
  async wait(): Promise<void> {
    const ms = this.notBefore - Date.now();
    if (ms <= 0 || this.closed) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.sleepers.delete(timer);
        resolve();
      }, ms);
      this.sleepers.set(timer, resolve);
    });
  }
  hold(ms: number): void {
    this.notBefore = Math.max(this.notBefore, Date.now() + ms);
  }
  /**
   * Stopping: no timer of the gate is left running and nobody waits any more. What a waiter
   * does next is refused by the closed write fence (see provider/fence.ts).
   */
  close(): void {
    this.closed = true;
    for (const [timer, wake] of this.sleepers) {
      clearTimeout(timer);
      wake();
    }
    this.sleepers.clear();
  }
}

/** Consecutive retryable failures of one table's writes, and the hold each one puts on the gate. */
export class WriteBackoff {
  failures = 0;

  constructor(private readonly gate: CloudGate) {}

  wait(): Promise<void> {
    return this.gate.wait();
  }

  succeeded(): void {
    this.failures = 0;
  }

  /**
   * A retryable failure holds every table's calls. The cloud advises a retry after 2-5 s when
   * it throttles; backing off further only delays convergence once the burst is over.
   */
  failed(err: CloudError): void {
    this.failures++;
    const n = Math.min(this.failures - 1, 4);
    const base = err.kind === 'throttled' ? Math.min(10_000, 2000 * 2 ** n) : Math.min(5000, 1000 * 2 ** n);
    this.gate.hold(Math.max(err.minRetryDelayMs, base) * (1 + Math.random() * 0.25));
  }
}
