// Per-object Event budget, like client-go's EventSourceObjectSpamFilter: every object (and event
// source) has a token bucket that starts full (burst) and refills slowly (one token per refill
// interval). An Event that finds the bucket empty is dropped, so a host that flaps cannot flood
// the Event namespace; a host that behaves gets every Event it earns. Pure logic: the clock is
// passed in.

export interface SpamFilterOptions {
  /** Events an object may post at once (client-go: 25). */
  burst: number;
  /** One token comes back per this many ms (client-go: 5 minutes). */
  refillMs: number;
}

export const DEFAULT_SPAM_FILTER: SpamFilterOptions = { burst: 25, refillMs: 5 * 60_000 };

interface Bucket {
  tokens: number;
  /** When `tokens` was last brought up to date. */
  at: number;
}

export class SpamFilter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly opts: SpamFilterOptions = DEFAULT_SPAM_FILTER,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes a token for the object: true when the Event may go out. */
  allow(key: string): boolean {
    const t = this.now();
    const b = this.refilled(key, t);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /** The object is gone: its bucket goes too. */
  forget(key: string): void {
    this.buckets.delete(key);
  }

  /** Buckets held (one per object that posted an Event and is not full again). */
  get size(): number {
    return this.buckets.size;
  }

  private refilled(key: string, t: number): Bucket {
    let b = this.buckets.get(key);
    if (!b) {
      b = { tokens: this.opts.burst, at: t };
      this.buckets.set(key, b);
      return b;
    }
    const earned = Math.floor((t - b.at) / this.opts.refillMs);
    if (earned > 0) {
      b.tokens = Math.min(this.opts.burst, b.tokens + earned);
      // Keep the remainder of the interval, so a steady trickle is not rounded away.
      b.at = b.tokens === this.opts.burst ? t : b.at + earned * this.opts.refillMs;
    }
    return b;
  }

  /** Drops buckets that are full again: a full bucket is the same as no bucket. */
  prune(): void {
    const t = this.now();
    for (const key of [...this.buckets.keys()]) if (this.refilled(key, t).tokens >= this.opts.burst) this.buckets.delete(key);
  }
}
