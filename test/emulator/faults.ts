// Fault injection: the failures a controller must survive, on demand. Set through
// POST /_admin/faults or Emulator.faults. Faults act on calls that passed authentication and
// throttling (they stand for trouble behind the gateway), so "fail the next 2 calls" counts only
// calls that would otherwise have reached the VPC service.

export interface FailSpec {
  /** How many matching calls to fail (default 1). */
  count?: number;
  status: number;
  code?: string;
  message?: string;
  /** Operation name (e.g. UpdateRouteTable) or "*" / absent for any. */
  operation?: string;
}

export interface TimeoutSpec {
  count?: number;
  operation?: string;
  /** Hold for this long, then answer normally; absent: hold until the client gives up. */
  ms?: number;
  /** Apply the call to the state before holding: the write happened, the client never hears. */
  apply?: boolean;
}

export interface ResetSpec {
  count?: number;
  operation?: string;
  /** Apply the call to the state before destroying the connection. */
  apply?: boolean;
}

/**
 * A 2xx answer that a client must not believe. Our own guesses at what goes wrong between the
 * VPC service and a client (a proxy's error page, a body cut short, a gateway answering {}),
 * not documented behaviour of Huawei Cloud:
 *  - invalidJson: 200 with a text/HTML body under a JSON content type;
 *  - empty: 200 with no body;
 *  - wrongShape: 200 with valid JSON that lacks the operation's object ({"result":"ok"});
 *  - truncated: 200 with the real answer cut in half (Content-Length matching the cut);
 *  - oversized: 200 with the real answer padded to `bytes` (default 50 MB) with extra routes.
 */
export type BadBodyKind = 'invalidJson' | 'empty' | 'wrongShape' | 'truncated' | 'oversized';
export const BAD_BODY_KINDS: readonly BadBodyKind[] = ['invalidJson', 'empty', 'wrongShape', 'truncated', 'oversized'];

export interface BadBodySpec {
  count?: number;
  operation?: string;
  body: BadBodyKind;
  /** Apply the call to the state first (default true: the cloud did it, the answer is garbled). */
  apply?: boolean;
  /** For oversized: the body's size in bytes (default 50,000,000). */
  bytes?: number;
}

/** Per operation (or "*") probability 0..1 of failing a call; `status` (default 500) and `code` apply to all. */
export type ErrorRateSpec = { status?: number; code?: string } & { [operation: string]: number | string | undefined };

export interface FaultSpec {
  latencyMs?: number;
  jitterMs?: number;
  errorRate?: ErrorRateSpec;
  /** Appended to the queue of pending one-shot failures. */
  failNext?: FailSpec | FailSpec[];
  timeoutNext?: TimeoutSpec | TimeoutSpec[];
  resetNext?: ResetSpec | ResetSpec[];
  badBodyNext?: BadBodySpec | BadBodySpec[];
}

export type FaultAction =
  | { kind: 'none' }
  | { kind: 'fail'; status: number; code?: string; message?: string; source: 'failNext' | 'errorRate' }
  | { kind: 'timeout'; ms?: number; apply: boolean }
  | { kind: 'reset'; apply: boolean }
  | { kind: 'badBody'; body: BadBodyKind; apply: boolean; bytes: number };

interface Pending<T> {
  spec: T;
  left: number;
}

function asList<T>(value: T | T[] | undefined): T[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

function matches(operation: string, wanted: string | undefined): boolean {
  return wanted === undefined || wanted === '*' || wanted === operation;
}

function checkCount(count: number | undefined): number {
  const n = count ?? 1;
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`count must be a positive integer, got ${String(count)}`);
  return n;
}

export class FaultControl {
  private latencyOverride?: number;
  private jitterOverride?: number;
  private errorRate?: ErrorRateSpec;
  private fails: Pending<FailSpec>[] = [];
  private timeouts: Pending<TimeoutSpec>[] = [];
  private resets: Pending<ResetSpec>[] = [];
  private badBodies: Pending<BadBodySpec>[] = [];

  /**
   * @param baseLatency latency and jitter from the emulator options, restored by clear().
   * @param random source of randomness for jitter and error rates (injectable for tests).
   */
  constructor(
    private readonly baseLatency: { latencyMs: number; jitterMs: number },
    private readonly random: () => number = Math.random,
  ) {}

  /** Merges a spec: given latency/jitter/errorRate replace the current ones, one-shot faults queue up. */
  set(spec: FaultSpec): void {
    // Validate everything first so a bad spec changes nothing.
    const nonNegative = (name: string, v: number | undefined): void => {
      if (v !== undefined && (!Number.isFinite(v) || v < 0)) throw new RangeError(`${name} must be a non-negative number`);
    };
    nonNegative('latencyMs', spec.latencyMs);
    nonNegative('jitterMs', spec.jitterMs);
    if (spec.errorRate) {
      for (const [key, value] of Object.entries(spec.errorRate)) {
        if (key === 'status' || key === 'code') continue;
        if (typeof value !== 'number' || value < 0 || value > 1) throw new RangeError(`errorRate.${key} must be a number 0..1`);
      }
      const status = spec.errorRate.status;
      if (status !== undefined && (!Number.isInteger(status) || status < 400 || status > 599)) throw new RangeError('errorRate.status must be 4xx or 5xx');
    }
    const fails = asList(spec.failNext).map((f) => {
      if (!Number.isInteger(f.status) || f.status < 400 || f.status > 599) throw new RangeError('failNext.status must be 4xx or 5xx');
      return { spec: f, left: checkCount(f.count) };
    });
    const timeouts = asList(spec.timeoutNext).map((t) => {
      nonNegative('timeoutNext.ms', t.ms);
      return { spec: t, left: checkCount(t.count) };
    });
    const resets = asList(spec.resetNext).map((r) => ({ spec: r, left: checkCount(r.count) }));
    const badBodies = asList(spec.badBodyNext).map((b) => {
      if (!BAD_BODY_KINDS.includes(b.body)) throw new RangeError(`badBodyNext.body must be one of ${BAD_BODY_KINDS.join(', ')}`);
      if (b.bytes !== undefined && (!Number.isInteger(b.bytes) || b.bytes < 1 || b.bytes > 500_000_000)) throw new RangeError('badBodyNext.bytes must be an integer 1..500000000');
      return { spec: b, left: checkCount(b.count) };
    });
    if (spec.latencyMs !== undefined) this.latencyOverride = spec.latencyMs;
    if (spec.jitterMs !== undefined) this.jitterOverride = spec.jitterMs;
    if (spec.errorRate !== undefined) this.errorRate = { ...spec.errorRate };
    this.fails.push(...fails);
    this.timeouts.push(...timeouts);
    this.resets.push(...resets);
    this.badBodies.push(...badBodies);
  }

  clear(): void {
    this.latencyOverride = undefined;
    this.jitterOverride = undefined;
    this.errorRate = undefined;
    this.fails = [];
    this.timeouts = [];
    this.resets = [];
    this.badBodies = [];
  }

  /** What is in force, for GET /_admin/faults. */
  current(): {
    latencyMs: number;
    jitterMs: number;
    errorRate?: ErrorRateSpec;
    failNext: (FailSpec & { left: number })[];
    timeoutNext: (TimeoutSpec & { left: number })[];
    resetNext: (ResetSpec & { left: number })[];
    badBodyNext: (BadBodySpec & { left: number })[];
  } {
    return {
      latencyMs: this.latencyOverride ?? this.baseLatency.latencyMs,
      jitterMs: this.jitterOverride ?? this.baseLatency.jitterMs,
      ...(this.errorRate ? { errorRate: { ...this.errorRate } } : {}),
      failNext: this.fails.map((p) => ({ ...p.spec, left: p.left })),
      timeoutNext: this.timeouts.map((p) => ({ ...p.spec, left: p.left })),
      resetNext: this.resets.map((p) => ({ ...p.spec, left: p.left })),
      badBodyNext: this.badBodies.map((p) => ({ ...p.spec, left: p.left })),
    };
  }

  /** The delay to add to the next API call: latency plus uniform jitter in [0, jitter). */
  nextDelayMs(): number {
    const latency = this.latencyOverride ?? this.baseLatency.latencyMs;
    const jitter = this.jitterOverride ?? this.baseLatency.jitterMs;
    return latency + (jitter > 0 ? this.random() * jitter : 0);
  }

  /** Decides (and consumes) the fault for one call. Precedence: reset, timeout, failNext, badBody, errorRate. */
  decide(operation: string): FaultAction {
    const take = <T extends { operation?: string }>(queue: Pending<T>[]): T | undefined => {
      const i = queue.findIndex((p) => matches(operation, p.spec.operation));
      if (i < 0) return undefined;
      const pending = queue[i]!;
      pending.left -= 1;
      if (pending.left <= 0) queue.splice(i, 1);
      return pending.spec;
    };
    const reset = take(this.resets);
    if (reset) return { kind: 'reset', apply: reset.apply ?? false };
    const timeout = take(this.timeouts);
    if (timeout) return { kind: 'timeout', apply: timeout.apply ?? false, ...(timeout.ms !== undefined ? { ms: timeout.ms } : {}) };
    const fail = take(this.fails);
    if (fail) {
      return {
        kind: 'fail',
        status: fail.status,
        source: 'failNext',
        ...(fail.code !== undefined ? { code: fail.code } : {}),
        ...(fail.message !== undefined ? { message: fail.message } : {}),
      };
    }
    const bad = take(this.badBodies);
    if (bad) return { kind: 'badBody', body: bad.body, apply: bad.apply ?? true, bytes: bad.bytes ?? 50_000_000 };
    if (this.errorRate) {
      const rate = this.errorRate[operation] ?? this.errorRate['*'];
      if (typeof rate === 'number' && rate > 0 && this.random() < rate) {
        return {
          kind: 'fail',
          status: this.errorRate.status ?? 500,
          source: 'errorRate',
          ...(this.errorRate.code !== undefined ? { code: this.errorRate.code } : {}),
        };
      }
    }
    return { kind: 'none' };
  }
}
