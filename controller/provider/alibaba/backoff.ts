// Bounded exponential backoff with full jitter, for the two waits of the Alibaba provider:
// retrying a call refused with TaskConflict / Throttling / 5xx, and polling DescribeRouteEntryList
// until written entries show Available. Pure: the caller passes the sleep and the randomness.

export interface BackoffPolicy {
  /** First delay (ms). */
  initialMs: number;
  /** Cap of any single delay (ms). */
  maxMs: number;
  /** Attempts in all, the first included; the wait gives up after the last. */
  maxAttempts: number;
}

/** Retry of a refused write: 0.5 s, 1 s, 2 s... capped at 8 s, 8 attempts (~30 s at worst). */
export const WRITE_RETRY: BackoffPolicy = Object.freeze({ initialMs: 500, maxMs: 8000, maxAttempts: 8 });
/** Polling for Available: entries take seconds; 0.5 s doubling to 5 s, 20 polls (~80 s at worst). */
export const AVAILABLE_POLL: BackoffPolicy = Object.freeze({ initialMs: 500, maxMs: 5000, maxAttempts: 20 });

/**
 * The delay before attempt `attempt` (1 = the first retry): uniform in [d/2, d] with
 * d = min(maxMs, initialMs * 2^(attempt-1)); half-jitter keeps retries of many hosts apart
 * without ever retrying at once.
 */
export function backoffDelayMs(policy: BackoffPolicy, attempt: number, random: () => number = Math.random): number {
  const d = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.max(0, attempt - 1));
  return d / 2 + random() * (d / 2);
}

export interface RetryOptions {
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** Earliest retry after an error (e.g. CloudError.minRetryDelayMs for throttling). */
  minDelayMs?: (err: unknown) => number;
}

const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `call` until it succeeds or `retryable(err)` is false or attempts run out (then throws the last error). */
export async function retry<T>(policy: BackoffPolicy, call: (attempt: number) => Promise<T>, retryable: (err: unknown) => boolean, opts: RetryOptions = {}): Promise<T> {
  const sleep = opts.sleep ?? realSleep;
  for (let attempt = 1; ; attempt++) {
    try {
      return await call(attempt);
    } catch (err) {
      if (!retryable(err) || attempt >= policy.maxAttempts) throw err;
      await sleep(Math.max(opts.minDelayMs?.(err) ?? 0, backoffDelayMs(policy, attempt, opts.random)));
    }
  }
}

export type PollResult<T> = { done: true; value: T } | { done: false };

/**
 * Polls `check` with backoff until it reports done; after maxAttempts it returns the last
 * not-done answer as `{done: false}` (the caller reports "not yet Available", it does not throw).
 */
export async function pollUntil<T>(policy: BackoffPolicy, check: () => Promise<PollResult<T>>, opts: RetryOptions = {}): Promise<PollResult<T>> {
  const sleep = opts.sleep ?? realSleep;
  for (let attempt = 1; ; attempt++) {
    const r = await check();
    if (r.done || attempt >= policy.maxAttempts) return r;
    await sleep(backoffDelayMs(policy, attempt, opts.random));
  }
}
