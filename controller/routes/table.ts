// One VPC route table: what we want in it, what the cloud last said is in it, and the writer
// that brings the two together. Every change wanted for the table while a call is in flight (or
// within the batch window) goes out in ONE UpdateRouteTable call; calls to a table never overlap.
import type { CloudError } from '../provider/errors.js';
import { isCloudError } from '../provider/errors.js';
import { isFencedError } from '../provider/fence.js';
import type { CloudProvider, CloudRoute, RouteBatch, RouteSpec } from '../provider/provider.js';
import type { RouteTableState } from '../api/types.js';
import { applyBatch, batchSize, destinationsOf, diffRoutes, splitBatch } from './diff.js';

export interface RouteOutcome {
  state: RouteTableState;
  message?: string;
  error?: CloudError;
}

export interface DriftFinding {
  kind: 'missing' | 'changed' | 'orphaned';
  destination: string;
  owner?: string;
}

/** Shared by all tables of one cloud account: throttling is per access key, not per table. */
export class CloudGate {
  notBefore = 0;
  private closed = false;
  private readonly sleepers = new Map<NodeJS.Timeout, () => void>();
  async wait(): Promise<void> {
    const ms = this.notBefore - Date.now();
    if (ms <= 0 || this.closed) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.sleepers.delete(timer);
        resolve();
      }, ms);
      this.sleepers.set(timer, resolve);
    });
  }
  hold(ms: number): void {
    this.notBefore = Math.max(this.notBefore, Date.now() + ms);
  }
  /**
   * Stopping: no timer of the gate is left running and nobody waits any more. What a waiter
   * does next is refused by the closed write fence (see provider/fence.ts).
   */
  close(): void {
    this.closed = true;
    for (const [timer, wake] of this.sleepers) {
      clearTimeout(timer);
      wake();
    }
    this.sleepers.clear();
  }
}

export interface TableOptions {
  capacity: number;
  batchWindowMs: number;
  isOwned(route: CloudRoute): boolean;
  inPool(destination: string): boolean;
  /** See DiffInput.keep. */
  keep?(route: CloudRoute): boolean;
  gate: CloudGate;
  onBatch?(size: number): void;
  onRetry?(): void;
  /** Room appeared in a table that had hosts waiting for it. */
  onRoom?(owners: string[]): void;
  /** The host a route belongs to, from its mark (for routes nobody wants any more). */
  ownerOf?(route: CloudRoute): string | undefined;
  /** After a flush: the hosts whose routes it sent, or whose state it changed, to sync again. */
  onSettled?(owners: string[]): void;
}

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

export class RouteTable {
  private actual?: Map<string, CloudRoute>;
  private readonly desired = new Map<string, RouteSpec & { owner: string }>();
  private readonly destOf = new Map<string, string>(); // owner → destination
  private conflicts = new Map<string, CloudRoute>();
  /** Refused by the cloud for a reason that retrying will not fix; kept until the spec changes. */
  private readonly rejected = new Map<string, { spec: RouteSpec; error: CloudError }>();
  /** Retryable failure of the last attempt, per destination. */
  private readonly failed = new Map<string, CloudError>();
  private readonly waitingForRoom = new Set<string>();
  private capacity: number;
  private flushing = false;
  /** Owners touched by the flush in progress. */
  private touched = new Set<string>();
  private next?: Deferred;
  private timer?: NodeJS.Timeout;
  private consecutiveFailures = 0;
  private stopped = false;
  /** After an ambiguous failure (timeout, reset, 5xx) the write may have happened: re-read first. */
  private stale = false;
  /** UpdateRouteTable calls made; ShowRouteTable reads made. */
  writes = 0;
  reads = 0;

  constructor(
    readonly id: string,
    private readonly provider: CloudProvider,
    private readonly opts: TableOptions,
  ) {
    this.capacity = opts.capacity;
  }

  get loaded(): boolean {
    return this.actual !== undefined;
  }

  get capacityKnown(): number {
    return this.capacity;
  }

  /** Routes in the table that count against its quota (everything but local routes). */
  get used(): number {
    let n = 0;
    for (const r of this.actual?.values() ?? []) if (r.type !== 'local') n++;
    return n;
  }

  get ownedCount(): number {
    let n = 0;
    for (const r of this.actual?.values() ?? []) if (this.opts.isOwned(r)) n++;
    return n;
  }

  get desiredCount(): number {
    return this.desired.size;
  }

  routes(): CloudRoute[] {
    return [...(this.actual?.values() ?? [])];
  }

  debugState(): Record<string, unknown> {
    return {
      id: this.id,
      flushing: this.flushing,
      flushRequested: this.next !== undefined,
      timerArmed: this.timer !== undefined,
      desired: this.desired.size,
      routes: this.actual?.size,
      failed: this.failed.size,
      rejected: this.rejected.size,
      waitingForRoom: this.waitingForRoom.size,
      capacity: this.capacity,
      writes: this.writes,
      reads: this.reads,
      stale: this.stale,
    };
  }

  /** Wants the owner's route to be `spec` (replacing any earlier destination of the owner). */
  set(owner: string, spec: RouteSpec): void {
    const old = this.destOf.get(owner);
    if (old !== undefined && old !== spec.destination) this.unset(owner);
    const prev = this.rejected.get(spec.destination);
    if (prev && (prev.spec.nexthop !== spec.nexthop || prev.spec.description !== spec.description)) this.rejected.delete(spec.destination);
    this.desired.set(spec.destination, { ...spec, owner });
    this.destOf.set(owner, spec.destination);
  }

  hasOwner(owner: string): boolean {
    return this.destOf.has(owner);
  }

  unset(owner: string): void {
    const dest = this.destOf.get(owner);
    if (dest === undefined) return;
    this.destOf.delete(owner);
    if (this.desired.get(dest)?.owner === owner) {
      this.desired.delete(dest);
      this.rejected.delete(dest);
      this.failed.delete(dest);
      this.waitingForRoom.delete(dest);
    }
  }

  outcome(owner: string): RouteOutcome {
    const dest = this.destOf.get(owner);
    if (dest === undefined) {
      // Not wanted: done once no route of ours is left for the owner's old destination.
      return { state: 'Programmed' };
    }
    const conflict = this.conflicts.get(dest);
    if (conflict) {
      return { state: 'Conflict', message: `route table ${this.id} already has a route for ${dest} that is not ours (type ${conflict.type}, next hop ${conflict.nexthop || '-'}${conflict.description ? `, description "${conflict.description}"` : ''}); remove it or pin another podCIDR` };
    }
    if (this.waitingForRoom.has(dest)) {
      return { state: 'QuotaExceeded', message: `route table ${this.id} is full (${this.used} of ${this.capacity} routes); the route is added as soon as there is room (raise the quota or add a route table)` };
    }
    const rejected = this.rejected.get(dest);
    if (rejected) return { state: 'Error', message: rejected.error.message, error: rejected.error };
    const failed = this.failed.get(dest);
    if (failed) return { state: 'Error', message: failed.message, error: failed };
    const have = this.actual?.get(dest);
    const want = this.desired.get(dest)!;
    if (have && this.opts.isOwned(have) && have.nexthop === want.nexthop && have.description === want.description) return { state: 'Programmed' };
    return { state: 'Pending', message: `waiting for route table ${this.id}` };
  }

  /** Why a destination's change has not gone through (for a route that should be gone). */
  outcomeOfDestination(destination: string): RouteOutcome {
    const failed = this.failed.get(destination);
    if (failed) return { state: 'Error', message: failed.message, error: failed };
    return { state: 'Pending', message: `route ${destination} still in table ${this.id}` };
  }

  /** True when no marked route for the destination is left (after the owner was unset). */
  isGone(destination: string): boolean {
    const have = this.actual?.get(destination);
    return !have || !this.opts.isOwned(have) || this.desired.has(destination);
  }

  /**
   * Re-reads the table and reports what changed behind our back since our last view: a route
   * of ours that went missing or was changed, or one left behind that nobody wants.
   */
  async refresh(): Promise<DriftFinding[]> {
    await this.opts.gate.wait();
    const before = this.actual;
    const routes = await this.provider.listRoutes(this.id);
    this.reads++;
    this.actual = new Map(routes.map((r) => [r.destination, r]));
    this.stale = false;
    // A fresh view: let refused changes and full-table waits be tried once more (if the quota was
    // raised, the cloud takes them; if not, its refusal teaches us the quota again).
    this.rejected.clear();
    if (this.waitingForRoom.size > 0) this.capacity = Math.max(this.capacity, this.used + this.waitingForRoom.size);
    const findings: DriftFinding[] = [];
    if (!before) return findings;
    for (const [dest, want] of this.desired) {
      const had = before.get(dest);
      const has = this.actual.get(dest);
      const hadOurs = had && this.opts.isOwned(had) && had.nexthop === want.nexthop;
      if (!hadOurs) continue;
      if (!has) findings.push({ kind: 'missing', destination: dest, owner: want.owner });
      else if (this.opts.isOwned(has) && (has.nexthop !== want.nexthop || has.description !== want.description)) findings.push({ kind: 'changed', destination: dest, owner: want.owner });
    }
    for (const [dest, has] of this.actual) {
      if (!this.desired.has(dest) && this.opts.isOwned(has) && this.opts.inPool(dest) && !this.opts.keep?.(has)) findings.push({ kind: 'orphaned', destination: dest });
    }
    return findings;
  }

  /** Resolves after a flush that started after this call has finished (at once once stopped). */
  flush(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (!this.next) {
      this.next = deferred();
      if (!this.flushing) this.arm();
    }
    return this.next.promise;
  }

  /**
   * Stopping: no batch timer is left armed and none is armed again; whoever waits for a flush
   * that will not happen is released. A batch already sent finishes (the write fence decides
   * what may still go out).
   */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.next?.resolve();
    this.next = undefined;
  }

  private arm(): void {
    if (this.timer || this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.run();
    }, this.opts.batchWindowMs);
  }

  private async run(): Promise<void> {
    const done = this.next;
    this.next = undefined;
    this.flushing = true;
    this.touched = new Set();
    const conflictsBefore = new Set(this.conflicts.keys());
    const waitingBefore = new Set(this.waitingForRoom);
    try {
      await this.flushNow();
    } catch {
      // Per-destination outcomes carry the error; a failed read is retried by the next flush.
    } finally {
      for (const d of this.conflicts.keys()) if (!conflictsBefore.has(d)) this.touchDest(d);
      for (const d of this.waitingForRoom) if (!waitingBefore.has(d)) this.touchDest(d);
      this.flushing = false;
      done?.resolve();
      if (this.touched.size > 0) this.opts.onSettled?.([...this.touched]);
      if (this.next) this.arm();
    }
  }

  private async flushNow(): Promise<void> {
    if (!this.actual || this.stale) await this.refresh();
    const { batch, conflicts, inPlace } = diffRoutes({
      desired: this.desired,
      actual: this.actual!.values(),
      isOwned: this.opts.isOwned,
      inPool: this.opts.inPool,
      keep: this.opts.keep,
      skip: new Set(this.rejected.keys()),
    });
    this.conflicts = conflicts;
    // Right in the table now (e.g. a write that timed out had gone through): nothing failed.
    for (const d of inPlace) this.failed.delete(d);
    // A failed delete whose route is gone anyway (removed by hand, or kept for a host that came
    // back) has nothing left to retry: forget it, or the map grows with every host that went.
    const deleting = new Set(batch.del.map((d) => d.destination));
    for (const d of [...this.failed.keys()]) if (!this.desired.has(d) && !deleting.has(d)) this.failed.delete(d);
    // send() keeps adds beyond the table's room waiting; the rest goes out in one call.
    const hadWaiting = this.waitingForRoom.size > 0;
    this.waitingForRoom.clear();
    await this.send(batch);
    if (hadWaiting && batch.del.length > 0 && this.waitingForRoom.size > 0) {
      this.opts.onRoom?.([...this.waitingForRoom].map((d) => this.desired.get(d)?.owner).filter((o): o is string => !!o));
    }
  }

  private touchDest(dest: string): void {
    const have = this.actual?.get(dest);
    const owner = this.desired.get(dest)?.owner ?? (have ? this.opts.ownerOf?.(have) : undefined);
    if (owner) this.touched.add(owner);
  }

  /**
   * Sends a batch; on a final refusal splits it to find the changes the cloud refuses. Returns
   * false when a retryable failure stopped it: what was not sent waits for the next flush, which
   * re-reads the table first when the failure left it uncertain.
   */
  private async send(batch: RouteBatch): Promise<boolean> {
    // Adds that no longer fit (the quota may have been learned a moment ago) wait for room.
    const room = Math.max(0, this.capacity - this.used + batch.del.length);
    if (batch.add.length > room) for (const a of batch.add.splice(room)) this.waitingForRoom.add(a.destination);
    if (batchSize(batch) === 0) return true;
    for (const d of destinationsOf(batch)) this.touchDest(d);
    await this.opts.gate.wait();
    if (this.consecutiveFailures > 0) this.opts.onRetry?.();
    try {
      await this.provider.applyRoutes(this.id, batch);
      this.writes++;
      this.consecutiveFailures = 0;
      this.opts.onBatch?.(batchSize(batch));
      applyBatch(this.actual!, batch);
      for (const d of destinationsOf(batch)) this.failed.delete(d);
      return true;
    } catch (err) {
      // Refused by the write fence (this replica is stopping or lost its lease): never sent.
      if (isFencedError(err)) throw err;
      this.writes++;
      if (!isCloudError(err)) throw err;
      if (err.retryable) {
        this.retryLater(batch, err);
        return false;
      }
      const dests = destinationsOf(batch);
      if (dests.length > 1) {
        const [a, b] = splitBatch(batch);
        if (!(await this.send(a))) {
          this.retryLater(b, this.failed.get(destinationsOf(a)[0] ?? '') ?? err);
          return false;
        }
        return this.send(b);
      }
      const dest = dests[0]!;
      if (err.kind === 'quota' && batch.add.length === 1) {
        // The cloud's quota is lower than we thought: learn it, and wait for room.
        this.capacity = this.used;
        this.waitingForRoom.add(dest);
        return true;
      }
      const want = this.desired.get(dest);
      if (want) this.rejected.set(dest, { spec: want, error: err });
      else this.failed.set(dest, err);
      return true;
    }
  }

  /** A retryable failure: hold further calls, and report the batch's changes as failed. */
  private retryLater(batch: RouteBatch, err: CloudError): void {
    this.consecutiveFailures++;
    // Throttling means the call was refused; anything else may have been applied.
    if (err.kind !== 'throttled') this.stale = true;
    // Throttling is per access key, so the gate holds every table's calls. The cloud advises a
    // retry after 2-5 s; backing off further only delays convergence once the burst is over.
    const n = Math.min(this.consecutiveFailures - 1, 4);
    const base = err.kind === 'throttled' ? Math.min(10_000, 2000 * 2 ** n) : Math.min(5000, 1000 * 2 ** n);
    const hold = Math.max(err.minRetryDelayMs, base) * (1 + Math.random() * 0.25);
    this.opts.gate.hold(hold);
    for (const d of destinationsOf(batch)) this.failed.set(d, err);
  }

}
