// After the cloud refuses our credentials (CloudError kind auth: wrong or revoked key, locked
// AK), stop signing requests with them for a long, growing while. Huawei's gateway locks an AK
// after 5 consecutive bad signatures — for every user of that AK — so a controller that retries
// every few seconds (or crash-loops into a fresh process) locks out its own operators.
//
// While closed, calls fail locally with the last auth error (nothing is sent). When the wait is
// over exactly one call goes out as a probe; the others keep failing locally until it answers.
// Pure state with an injected clock: no I/O.
import { CloudError } from './errors.js';

/** 1, 2, 4, 8, … minutes, at most 30: four probes in the first quarter of an hour. */
export const AUTH_BACKOFF_FIRST_MS = 60_000;
export const AUTH_BACKOFF_MAX_MS = 30 * 60_000;

export type AuthDecision = { send: true } | { send: false; error: CloudError };

export class AuthBackoff {
  private failures = 0;
  private until = 0;
  private probing = false;
  private last?: CloudError;

  constructor(
    private readonly now: () => number = Date.now,
    private readonly firstMs = AUTH_BACKOFF_FIRST_MS,
    private readonly maxMs = AUTH_BACKOFF_MAX_MS,
  ) {}

  /** Before sending `operation`. */
  admit(operation: string): AuthDecision {
    if (this.failures === 0) return { send: true };
    const waitMs = this.until - this.now();
    if (waitMs <= 0 && !this.probing) {
      this.probing = true;
      return { send: true };
    }
    const last = this.last!;
    // The message names the end of the wait, not a countdown: it stays the same for the whole
    // wait, so status and Events change once per backoff, not at every reconcile.
    return {
      send: false,
      error: new CloudError({
        kind: 'auth',
        operation,
        httpStatus: last.httpStatus,
        code: last.code,
        cloudMessage: `not sent: the cloud refused the credentials ${this.failures} time(s) in a row (${last.code ?? `HTTP ${last.httpStatus ?? '?'}`}${last.cloudMessage ? `: ${last.cloudMessage}` : ''}); no new attempt before ${new Date(this.until).toISOString()} — fix the access key / secret key`,
        requestId: last.requestId,
        retryAfterMs: Math.max(waitMs, 0),
      }),
    };
  }

  /** An answer that passed authentication. */
  succeeded(): void {
    this.failures = 0;
    this.probing = false;
    this.last = undefined;
  }

  /**
   * An auth failure; returns the wait before the next probe, or 0 when this failure belongs to a
   * wait already started (a call that was in flight alongside): one log line per wait.
   */
  failed(err: CloudError): number {
    this.last = err;
    if (this.failures > 0 && !this.probing && this.until > this.now()) return 0;
    this.failures++;
    this.probing = false;
    const waitMs = Math.min(this.maxMs, this.firstMs * 2 ** (this.failures - 1));
    this.until = this.now() + waitMs;
    return waitMs;
  }

  /**
   * The credentials changed (a rotated Secret): the refusals were for the old key, so the new one
   * is tried at once instead of after the wait.
   */
  reset(): void {
    this.succeeded();
  }

  /** Any other outcome of a probe (timeout, 5xx): let the next call probe again. */
  settled(): void {
    this.probing = false;
  }

  get consecutiveFailures(): number {
    return this.failures;
  }
}
