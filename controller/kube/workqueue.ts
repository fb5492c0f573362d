// A de-duplicating, rate-limited work queue in the manner of client-go's workqueue, on p-queue:
// - a key is queued at most once; a key added while it is being processed runs once more after;
// - a key is never processed by two workers at the same time;
// - a failed key comes back after an exponential backoff with jitter (per key), reset on success;
// - addFirst() puts a key ahead of every key added with add(): a host whose wait is over (its
//   route's batch landed) is finished before the first passes still queued behind it.
import PQueue from 'p-queue';

export interface QueueResult {
  /** Process the key again after this delay even though it succeeded (e.g. waiting for room). */
  requeueAfterMs?: number;
}

export interface WorkQueueOptions {
  workers: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Fraction of the delay added or removed at random, so failed keys do not retry in lockstep. */
  jitter?: number;
  onDepth?: (depth: number) => void;
  onWait?: (seconds: number) => void;
  onRetry?: () => void;
}

/** p-queue priority of addFirst() (add() is 0; higher runs first). */
const FIRST = 1;

export class WorkQueue {
  private readonly pq: PQueue;
  private readonly dirty = new Map<string, number>(); // key → time it was queued
  private readonly processing = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, { timer: NodeJS.Timeout; due: number }>();
  /** Keys with a task in p-queue: never two tasks for one key. */
  private readonly scheduled = new Set<string>();
  /** Keys added with addFirst() while they were being processed: they run again ahead. */
  private readonly urgent = new Set<string>();
  private stopped = false;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly jitter: number;

  constructor(
    private readonly handler: (key: string) => Promise<QueueResult | void>,
    private readonly opts: WorkQueueOptions,
  ) {
    this.pq = new PQueue({ concurrency: opts.workers });
    this.baseDelayMs = opts.baseDelayMs ?? 500;
    this.maxDelayMs = opts.maxDelayMs ?? 300_000;
    this.jitter = opts.jitter ?? 0.2;
  }

  get depth(): number {
    return this.dirty.size;
  }

  get busy(): number {
    return this.processing.size;
  }

  add(key: string): void {
    if (this.stopped || this.dirty.has(key)) return;
    this.dirty.set(key, Date.now());
    this.opts.onDepth?.(this.dirty.size);
    if (!this.processing.has(key)) this.schedule(key);
  }

  /** Like add(), ahead of every key added with add() (a key already queued moves ahead). */
  addFirst(key: string): void {
    if (this.stopped) return;
    if (!this.dirty.has(key)) {
      this.dirty.set(key, Date.now());
      this.opts.onDepth?.(this.dirty.size);
    }
    if (this.processing.has(key)) {
      this.urgent.add(key);
      return;
    }
    if (!this.scheduled.has(key)) return this.schedule(key, FIRST);
    try {
      this.pq.setPriority(key, FIRST);
    } catch {
      // Already taken off p-queue's list (its task is starting): nothing to move.
    }
  }

  /** Adds the key after a delay; of two pending delays for a key, the sooner wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.stopped) return;
    if (delayMs <= 0) return this.add(key);
    const due = Date.now() + delayMs;
    const pending = this.timers.get(key);
    if (pending && pending.due <= due) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref();
    this.timers.set(key, { timer, due });
  }

  /** The backoff for the key's next retry; counts one more failure. */
  nextBackoff(key: string, minDelayMs = 0): number {
    const n = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, n);
    const exp = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (n - 1));
    const jittered = exp * (1 - this.jitter + Math.random() * 2 * this.jitter);
    return Math.max(minDelayMs * (1 + Math.random() * this.jitter), Math.min(this.maxDelayMs, jittered));
  }

  addRateLimited(key: string, minDelayMs = 0): number {
    const delay = this.nextBackoff(key, minDelayMs);
    this.opts.onRetry?.();
    this.addAfter(key, delay);
    return delay;
  }

  forget(key: string): void {
    this.failures.delete(key);
  }

  failuresOf(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  private schedule(key: string, priority = 0): void {
    if (this.scheduled.has(key)) return;
    this.scheduled.add(key);
    void this.pq.add(async () => {
      this.scheduled.delete(key);
      if (this.stopped) return;
      const queuedAt = this.dirty.get(key);
      if (queuedAt === undefined) return;
      this.dirty.delete(key);
      this.opts.onDepth?.(this.dirty.size);
      this.opts.onWait?.((Date.now() - queuedAt) / 1000);
      this.processing.add(key);
      let requeueAfterMs: number | undefined;
      let failed: unknown;
      try {
        requeueAfterMs = (await this.handler(key))?.requeueAfterMs;
      } catch (err) {
        failed = err;
      } finally {
        this.processing.delete(key);
      }
      if (failed !== undefined) {
        const minDelay = (failed as { minRetryDelayMs?: number }).minRetryDelayMs ?? 0;
        this.addRateLimited(key, minDelay);
      } else {
        this.forget(key);
        if (requeueAfterMs !== undefined) this.addAfter(key, requeueAfterMs);
      }
      // Added again while it was processed: run it once more.
      const first = this.urgent.delete(key);
      if (this.dirty.has(key) && !this.stopped) this.schedule(key, first ? FIRST : 0);
    }, { id: key, priority });
  }

  /** Stops taking work; waits up to graceMs for the keys in progress. */
  async shutdown(graceMs = 10_000): Promise<void> {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t.timer);
    this.timers.clear();
    this.pq.clear();
    this.dirty.clear();
    this.urgent.clear();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.pq.onIdle(),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, graceMs);
        timer.unref();
      }),
    ]);
    if (timer) clearTimeout(timer);
  }
}
