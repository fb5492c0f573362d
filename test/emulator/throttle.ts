// Per-AK request rate limits, as Huawei's API gateway applies them ("policy user over
// ratelimit"): a token bucket per AK holding at most one second's worth of calls, refilled
// continuously. Writes and reads have separate buckets so a benchmark can throttle route-table
// updates without starving the reads a controller does to reconcile.

export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  /**
   * @param rate calls per second per key; 0 = unlimited.
   * @param nowMs clock in milliseconds (injectable so tests need not sleep).
   */
  constructor(
    private rate: number,
    private readonly nowMs: () => number,
  ) {}

  get limit(): number {
    return this.rate;
  }

  setRate(rate: number): void {
    if (!Number.isFinite(rate) || rate < 0) throw new RangeError(`rate must be a non-negative number, got ${rate}`);
    this.rate = rate;
    this.buckets.clear();
  }

  /** Takes one token for `key`; false (and nothing taken) when the bucket is empty. */
  take(key: string): boolean {
    if (this.rate === 0) return true;
    const now = this.nowMs();
    const capacity = Math.max(1, this.rate);
    const bucket = this.buckets.get(key) ?? { tokens: capacity, at: now };
    bucket.tokens = Math.min(capacity, bucket.tokens + (Math.max(0, now - bucket.at) / 1000) * this.rate);
    bucket.at = now;
    this.buckets.set(key, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  reset(): void {
    this.buckets.clear();
  }
}

export interface ThrottleLimits {
  writesPerSecond: number;
  readsPerSecond: number;
}

/** The two bucket sets of the gateway: one for writes (PUT/POST/DELETE), one for reads (GET). */
export class Throttle {
  private readonly writes: TokenBuckets;
  private readonly reads: TokenBuckets;

  constructor(limits: ThrottleLimits, nowMs: () => number) {
    this.writes = new TokenBuckets(limits.writesPerSecond, nowMs);
    this.reads = new TokenBuckets(limits.readsPerSecond, nowMs);
  }

  get limits(): ThrottleLimits {
    return { writesPerSecond: this.writes.limit, readsPerSecond: this.reads.limit };
  }

  set(limits: Partial<ThrottleLimits>): void {
    if (limits.writesPerSecond !== undefined) this.writes.setRate(limits.writesPerSecond);
    if (limits.readsPerSecond !== undefined) this.reads.setRate(limits.readsPerSecond);
  }

  /** undefined when the call may go on; otherwise the limit (calls/s) that was hit. */
  check(ak: string, write: boolean): number | undefined {
    const buckets = write ? this.writes : this.reads;
    return buckets.take(ak) ? undefined : buckets.limit;
  }

  reset(): void {
    this.writes.reset();
    this.reads.reset();
  }
}
