// The write fence: the one gate every cloud write (route batch, NIC update, security-group rule)
// passes right before its request goes out. A write starts only while the fence is open — this
// replica leads and renewed its lease within the renew deadline (see kube/leader.ts) — so a
// leader cut off from the API server stops writing before a successor may start. A write that
// started before the fence closed may complete; no new one starts. Closing the fence for good
// (graceful stop, lost leadership) also ends every wait for a rate-limiter token.
//
// Providers call run() around the request itself (after their rate-limiter wait, which may be
// long), not around the whole provider method: a check at the method's entry would let a write
// wait seconds for a token and then go out after the lease had gone.

/** A cloud write this replica refused to start because it may no longer be the only writer. */
export class FencedError extends Error {
  constructor(
    readonly operation: string,
    readonly why: string,
  ) {
    super(`${operation} not sent: ${why}`);
    this.name = 'FencedError';
  }
}

export function isFencedError(err: unknown): err is FencedError {
  return err instanceof FencedError;
}

export interface WriteFenceHooks {
  /** A refusal; called once per closed period (not per refused write), so logs stay short. */
  onFirstRefusal?(operation: string, why: string): void;
  /** Every refusal, e.g. for a counter. */
  onRefused?(operation: string): void;
}

export class WriteFence {
  private allows: () => boolean = () => true;
  private closedFor?: string;
  private refusedSinceOpen = false;
  private inFlight = 0;
  private idle: (() => void)[] = [];
  private readonly abort = new AbortController();

  constructor(private readonly hooks: WriteFenceHooks = {}) {}

  /** Writes may start only while `allows()` is true (asked at every write). */
  guard(allows: () => boolean): void {
    this.allows = allows;
  }

  /** Closes the fence for good: no write starts any more and rate-limiter waits end. */
  close(why: string): void {
    if (this.closedFor !== undefined) return;
    this.closedFor = why;
    this.abort.abort(new FencedError('cloud call', why));
  }

  get closed(): boolean {
    return this.closedFor !== undefined;
  }

  /** Aborted when the fence closes for good: pass it to waits that must end then. */
  get signal(): AbortSignal {
    return this.abort.signal;
  }

  /** Writes whose request is out and not answered yet. */
  get writesInFlight(): number {
    return this.inFlight;
  }

  /** Throws FencedError unless a write may start now. */
  check(operation: string): void {
    const why = this.closedFor ?? (this.allows() ? undefined : 'this replica has not renewed its leader lease within the renew deadline');
    if (why === undefined) {
      this.refusedSinceOpen = false;
      return;
    }
    this.hooks.onRefused?.(operation);
    if (!this.refusedSinceOpen) {
      this.refusedSinceOpen = true;
      this.hooks.onFirstRefusal?.(operation, why);
    }
    throw new FencedError(operation, why);
  }

  /** Runs one write if the fence is open now, counting it as in flight until it settles. */
  async run<T>(operation: string, send: () => Promise<T>): Promise<T> {
    this.check(operation);
    this.inFlight++;
    try {
      return await send();
    } finally {
      this.inFlight--;
      if (this.inFlight === 0) for (const wake of this.idle.splice(0)) wake();
    }
  }

  /** Resolves once no write is in flight, or after `ms`; returns the writes still in flight. */
  async drain(ms: number): Promise<number> {
    if (this.inFlight > 0) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.idle.push(resolve);
        timer = setTimeout(resolve, ms);
      });
      clearTimeout(timer);
    }
    return this.inFlight;
  }
}
