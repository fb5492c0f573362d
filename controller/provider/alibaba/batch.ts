// Route writes as Alibaba takes them: CreateRouteEntries / DeleteRouteEntries carry at most 50
// entries, and a VPC runs one route task at a time (a second batch meanwhile is refused with
// TaskConflict). Pure batching, plus a per-VPC queue so this process never sends two batches to
// one VPC at once; TaskConflict from elsewhere (the console, another tool) is still retried by
// the caller with backoff.

/** The API's limit per CreateRouteEntries / DeleteRouteEntries call. */
export const MAX_ENTRIES_PER_BATCH = 50;

/** Splits `items` into batches of at most `size`, order kept. ceil(n / size) batches. */
export function batches<T>(items: readonly T[], size = MAX_ENTRIES_PER_BATCH): T[][] {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`batch size must be a positive integer, got ${size}`);
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * One route task in flight per VPC: run(vpcId, task) starts `task` after every earlier task of
 * that VPC has settled (fulfilled or rejected); tasks of other VPCs run in parallel.
 */
export class PerVpcSerializer {
  private readonly tails = new Map<string, Promise<unknown>>();
  private readonly running = new Map<string, number>();

  run<T>(vpcId: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(vpcId) ?? Promise.resolve();
    const result = previous.then(
      () => this.track(vpcId, task),
      () => this.track(vpcId, task),
    );
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(vpcId, tail);
    void tail.then(() => {
      if (this.tails.get(vpcId) === tail) this.tails.delete(vpcId);
    });
    return result;
  }

  /** Tasks of `vpcId` running right now (0 or 1). */
  inFlight(vpcId: string): number {
    return this.running.get(vpcId) ?? 0;
  }

  private async track<T>(vpcId: string, task: () => Promise<T>): Promise<T> {
    this.running.set(vpcId, (this.running.get(vpcId) ?? 0) + 1);
    try {
      return await task();
    } finally {
      this.running.set(vpcId, (this.running.get(vpcId) ?? 1) - 1);
    }
  }
}
