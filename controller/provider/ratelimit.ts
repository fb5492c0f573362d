// A client-side token bucket shared by all cloud calls of one provider: `burst` calls may go out
// at once, then `qps` per second. acquire() waits for a token (first come, first served); it
// never drops a call. Uses Date.now() and setTimeout only, so sinon fake timers drive it.

export interface RateLimiterOptions {
  /** Sustained calls per second; 0 or Infinity disables limiting. */
  qps: number;
  /** Bucket size: calls allowed back to back after an idle period (>= 1). */
  burst: number;
}

interface Waiter {
  resolve: () => void;
  reject: (err: unknown) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

export class TokenBucket {
  readonly qps: number;
  readonly burst: number;
  private tokens: number;
  private last: number;
  private readonly queue: Waiter[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(opts: RateLimiterOptions) {
    if (!(opts.qps >= 0)) throw new RangeError(`rate limit qps must be >= 0, got ${opts.qps}`);
    if (!(opts.burst >= 1) || !Number.isFinite(opts.burst)) throw new RangeError(`rate limit burst must be a finite number >= 1, got ${opts.burst}`);
    this.qps = opts.qps;
    this.burst = Math.floor(opts.burst);
    this.tokens = this.burst;
    this.last = Date.now();
  }

  private get unlimited(): boolean {
    return this.qps === 0 || this.qps === Infinity;
  }

  private refill(): void {
    const now = Date.now();
    const elapsed = Math.max(0, now - this.last);
    this.last = now;
    this.tokens = Math.min(this.burst, this.tokens + (elapsed * this.qps) / 1000);
  }

  /** Takes a token now if one is free and nobody is waiting; true on success. */
  tryAcquire(): boolean {
    if (this.unlimited) return true;
    this.refill();
    if (this.queue.length === 0 && this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    return false;
  }

  /** Resolves when a token is taken; rejects only if `signal` aborts first. */
  acquire(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason ?? new Error('aborted'));
    if (this.tryAcquire()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const w: Waiter = { resolve, reject, signal };
      if (signal) {
        w.onAbort = () => {
          const i = this.queue.indexOf(w);
          if (i >= 0) this.queue.splice(i, 1);
          reject(signal.reason ?? new Error('aborted'));
        };
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
      this.queue.push(w);
      this.schedule();
    });
  }

  /** Calls waiting for a token. */
  get pending(): number {
    return this.queue.length;
  }

  private schedule(): void {
    if (this.timer !== undefined || this.queue.length === 0) return;
    this.refill();
    const missing = Math.max(0, 1 - this.tokens);
    const delay = Math.max(1, Math.ceil((missing * 1000) / this.qps));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.drain();
    }, delay);
  }

  private drain(): void {
    this.refill();
    while (this.queue.length > 0 && this.tokens >= 1) {
      const w = this.queue.shift()!;
      this.tokens -= 1;
      if (w.signal && w.onAbort) w.signal.removeEventListener('abort', w.onAbort);
      w.resolve();
    }
    this.schedule();
  }
}
