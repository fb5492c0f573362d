// At most `limit` route writes in flight per route table. EC2 takes one call per route; a
// thousand routes sent at once would meet RequestLimitExceeded (AWS throttles per account and
// region) and, for one table, gain nothing: AWS applies route changes to a table one by one.
// Waiters are served first come, first served. Pure: no I/O, no timers.

export const DEFAULT_WRITES_PER_TABLE = 4;

export class PerTableConcurrency {
  private readonly running = new Map<string, number>();
  private readonly waiting = new Map<string, (() => void)[]>();

  constructor(readonly limit = DEFAULT_WRITES_PER_TABLE) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`writes per route table must be a positive integer, got ${String(limit)}`);
  }

  inFlight(tableId: string): number {
    return this.running.get(tableId) ?? 0;
  }

  queued(tableId: string): number {
    return this.waiting.get(tableId)?.length ?? 0;
  }

  async run<T>(tableId: string, fn: () => Promise<T>): Promise<T> {
    if (this.inFlight(tableId) >= this.limit) {
      await new Promise<void>((resolve) => {
        const q = this.waiting.get(tableId) ?? [];
        q.push(resolve);
        this.waiting.set(tableId, q);
      });
    } else {
      this.running.set(tableId, this.inFlight(tableId) + 1);
    }
    try {
      return await fn();
    } finally {
      this.release(tableId);
    }
  }

  private release(tableId: string): void {
    const q = this.waiting.get(tableId);
    const next = q?.shift();
    if (q && q.length === 0) this.waiting.delete(tableId);
    // The slot passes straight to the next waiter (the running count stays), so no newcomer can overtake it.
    if (next) next();
    else {
      const n = this.inFlight(tableId) - 1;
      if (n > 0) this.running.set(tableId, n);
      else this.running.delete(tableId);
    }
  }
}
