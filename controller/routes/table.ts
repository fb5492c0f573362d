// One route table: the routes wanted in it (desired.ts), what the cloud last showed (observed.ts),
// the writer that brings the two together (writer.ts, as the provider writes: atomic batches,
// partial batches or one call per route) and what we know of its quota (quota.ts). This file
// only decides when to flush and what each host's route looks like from here. Every change
// wanted while a flush is in flight (or within the batch window) goes out with the next flush;
// flushes of a table never overlap.
import { CloudError } from '../provider/errors.js';
import type { CloudProvider, CloudRoute, RouteBatch, RouteSpec } from '../provider/provider.js';
import type { RouteTableState } from '../api/types.js';
import { DesiredRoutes } from './desired.js';
import { destinationsOf, diffRoutes } from './diff.js';
import { CloudGate, WriteBackoff } from './gate.js';
import { ObservedTable } from './observed.js';
import { QuotaPolicy } from './quota.js';
import { createRouteWriter, type RouteWriter, type WriteSink } from './writer.js';

export { CloudGate } from './gate.js';

export interface RouteOutcome {
  state: RouteTableState;
  /** Facts for the reconciler's message (the text a person reads is the reconciler's). */
  conflict?: CloudRoute;
  error?: CloudError;
  /** QuotaExceeded: routes in the table and the capacity known. */
  used?: number;
  capacity?: number;
  /** Pending: the cloud accepted the entry but does not forward on it yet (asynchronous clouds). */
  cloudPending?: boolean;
  /** Only for a route that should be gone and is not: which (the reconciler words the rest). */
  message?: string;
}

export interface DriftFinding {
  kind: 'missing' | 'changed' | 'orphaned';
  destination: string;
  owner?: string;
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
  /** The host a route belongs to (for routes nobody wants any more). */
  ownerOf?(route: CloudRoute): string | undefined;
  /** After a flush: the hosts whose routes it sent, or whose state it changed, to sync again. */
  onSettled?(owners: string[]): void;
  /** Asynchronous clouds: how soon a table with pending entries of ours is read again (default 1 s). */
  pendingPollMs?: number;
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
  private readonly observed = new ObservedTable();
  private readonly desired = new DesiredRoutes();
  private readonly quota: QuotaPolicy;
  private readonly writer: RouteWriter;
  private conflicts = new Map<string, CloudRoute>();
  /** Refused by the cloud for a reason that retrying will not fix; kept until the spec changes. */
  private readonly rejected = new Map<string, { spec: RouteSpec; error: CloudError }>();
  /** Retryable failure of the last attempt, per destination. */
  private readonly failed = new Map<string, CloudError>();
  /**
   * Why the last read of the table failed (e.g. the credentials refused, the auth backoff holding
   * calls): a host still waiting for its route is told that, instead of "waiting", until a read
   * succeeds again.
   */
  private readError: CloudError | undefined;
  private flushing = false;
  /** Owners touched by the flush in progress. */
  private touched = new Set<string>();
  /** Destinations the flush in progress adds or changes: in the cloud or not, we learn only after. */
  private sendingDestinations = new Set<string>();
  private next?: Deferred;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  /** Table reads made. */
  reads = 0;

  constructor(
    readonly id: string,
    private readonly provider: CloudProvider,
    private readonly opts: TableOptions,
  ) {
    this.quota = new QuotaPolicy(opts.capacity);
    this.writer = createRouteWriter(provider, id, new WriteBackoff(opts.gate), { onBatch: opts.onBatch, onRetry: opts.onRetry });
  }

  /** Write calls made. */
  get writes(): number {
    return this.writer.writes;
  }

  get loaded(): boolean {
    return this.observed.loaded;
  }

  get capacityKnown(): number {
    return this.quota.capacity;
  }

  /** Routes in the table that count against its quota (everything but system routes). */
  get used(): number {
    return this.observed.used;
  }

  get ownedCount(): number {
    let n = 0;
    for (const r of this.observed.all()) if (this.opts.isOwned(r)) n++;
    return n;
  }

  get desiredCount(): number {
    return this.desired.size;
  }

  routes(): CloudRoute[] {
    return this.observed.all();
  }

  debugState(): Record<string, unknown> {
    return {
      id: this.id,
      flushing: this.flushing,
      flushRequested: this.next !== undefined,
      timerArmed: this.timer !== undefined,
      desired: this.desired.size,
      routes: this.observed.size,
      failed: this.failed.size,
      rejected: this.rejected.size,
      waitingForRoom: this.quota.waiting.size,
      capacity: this.quota.capacity,
      writes: this.writes,
      reads: this.reads,
      stale: this.observed.stale,
    };
  }

  /** Wants the owner's route to be `spec` (replacing any earlier destination of the owner). */
  set(owner: string, spec: RouteSpec): void {
    const replaced = this.desired.set(owner, spec);
    if (replaced !== undefined) this.forgetDestination(replaced);
    const prev = this.rejected.get(spec.destination);
    if (prev && (prev.spec.nexthop !== spec.nexthop || prev.spec.description !== spec.description)) this.rejected.delete(spec.destination);
  }

  hasOwner(owner: string): boolean {
    return this.desired.hasOwner(owner);
  }

  unset(owner: string): void {
    const dest = this.desired.unset(owner);
    if (dest !== undefined) this.forgetDestination(dest);
  }

  private forgetDestination(dest: string): void {
    this.rejected.delete(dest);
    this.failed.delete(dest);
    this.quota.waiting.delete(dest);
  }

  outcome(owner: string): RouteOutcome {
    const dest = this.desired.destinationOf(owner);
    if (dest === undefined) {
      // Not wanted: done once no route of ours is left for the owner's old destination.
      return { state: 'Programmed' };
    }
    // The cloud refuses our credentials: nothing can be read or sent, whatever was known before.
    if (this.readError?.kind === 'auth') return { state: 'Error', error: this.readError };
    const conflict = this.conflicts.get(dest);
    if (conflict) {
      return { state: 'Conflict', conflict };
    }
    if (this.quota.waiting.has(dest)) {
      return { state: 'QuotaExceeded', used: this.used, capacity: this.quota.capacity };
    }
    const rejected = this.rejected.get(dest);
    if (rejected) return { state: 'Error', error: rejected.error };
    const failed = this.failed.get(dest);
    if (failed) return { state: 'Error', error: failed };
    const have = this.observed.get(dest);
    const want = this.desired.get(dest)!;
    if (have && this.opts.isOwned(have) && have.nexthop === want.nexthop && have.description === want.description) {
      // An asynchronous cloud forwards on an entry only once it is available.
      if (have.state === 'pending') return { state: 'Pending', cloudPending: true };
      // The target is gone (AWS blackhole): not forwarding until the replace goes through.
      if (have.state === 'blackhole') return { state: 'Pending' };
      return { state: 'Programmed' };
    }
    if (this.readError) return { state: 'Error', error: this.readError };
    return { state: 'Pending' };
  }

  /** Why a destination's change has not gone through (for a route that should be gone). */
  outcomeOfDestination(destination: string): RouteOutcome {
    const failed = this.failed.get(destination) ?? (this.observed.get(destination) ? undefined : this.readError);
    if (failed) return { state: 'Error', message: failed.message, error: failed };
    if (!this.observed.get(destination)) return { state: 'Pending', message: `table ${this.id} must be read again before route ${destination} counts as removed` };
    return { state: 'Pending', message: `route ${destination} still in table ${this.id}` };
  }

  /**
   * True when no route of ours for the destination is left (after the owner was unset). Only a
   * view we can trust says so: after an ambiguous failure (an add that timed out may have gone
   * through), while a write adding it is in flight, or before the first read, the route may be
   * there unseen, and letting its host go would leak it until the next full sync.
   */
  isGone(destination: string): boolean {
    if (this.desired.has(destination)) return true;
    if (!this.observed.loaded || this.observed.stale || this.sendingDestinations.has(destination)) return false;
    const have = this.observed.get(destination);
    return !have || !this.opts.isOwned(have);
  }

  /**
   * Re-reads the table and reports what changed behind our back since our last view: a route
   * of ours that went missing or was changed, or one left behind that nobody wants.
   */
  async refresh(): Promise<DriftFinding[]> {
    await this.opts.gate.wait();
    let routes: Awaited<ReturnType<CloudProvider['listRoutes']>>;
    try {
      routes = await this.provider.listRoutes(this.id);
    } catch (err) {
      if (err instanceof CloudError) {
        this.readError = err;
        // The hosts still waiting on this table learn why (their next pass records the error).
        for (const [dest, want] of this.desired.map) {
          const have = this.observed.get(dest);
          if (!have || have.nexthop !== want.nexthop || have.description !== want.description) this.touchDest(dest);
        }
      }
      throw err;
    }
    this.readError = undefined;
    this.reads++;
    const before = this.observed.replace(routes);
    this.rejected.clear();
    this.quota.reopen(this.used);
    const findings: DriftFinding[] = [];
    if (!before) return findings;
    for (const [dest, want] of this.desired.map) {
      const had = before.get(dest);
      const has = this.observed.get(dest);
      const hadOurs = had && this.opts.isOwned(had) && had.nexthop === want.nexthop;
      if (!hadOurs) continue;
      if (!has) findings.push({ kind: 'missing', destination: dest, owner: want.owner });
      else if (this.opts.isOwned(has) && (has.nexthop !== want.nexthop || has.description !== want.description)) findings.push({ kind: 'changed', destination: dest, owner: want.owner });
    }
    for (const [dest, has] of this.observed.entries()) {
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

  private arm(delayMs = this.opts.batchWindowMs): void {
    if (this.timer || this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.run();
    }, delayMs);
  }

  /** Wanted destinations whose entry of ours the cloud still shows as pending. */
  private pendingDestinations(): Set<string> {
    const out = new Set<string>();
    for (const [dest] of this.desired.map) if (this.observed.get(dest)?.state === 'pending') out.add(dest);
    return out;
  }

  private async run(): Promise<void> {
    const done = this.next;
    this.next = undefined;
    this.flushing = true;
    this.touched = new Set();
    const conflictsBefore = new Set(this.conflicts.keys());
    const waitingBefore = new Set(this.quota.waiting);
    const pendingBefore = this.pendingDestinations();
    try {
      await this.flushNow();
    } catch {
      // Per-destination outcomes carry the error; a failed read is retried by the next flush.
    } finally {
      for (const d of this.conflicts.keys()) if (!conflictsBefore.has(d)) this.touchDest(d);
      for (const d of this.quota.waiting) if (!waitingBefore.has(d)) this.touchDest(d);
      const pending = this.pendingDestinations();
      for (const d of pendingBefore) if (!pending.has(d)) this.touchDest(d);
      this.flushing = false;
      done?.resolve();
      if (this.touched.size > 0) this.opts.onSettled?.([...this.touched]);
      if (this.next) this.arm();
      else if (pending.size > 0 && !this.stopped) {
        // Entries the cloud is still programming: read the table again a moment later.
        this.observed.stale = true;
        this.next = deferred();
        this.arm(this.opts.pendingPollMs ?? 1000);
      }
    }
  }

  private async flushNow(): Promise<void> {
    if (!this.observed.loaded || this.observed.stale) await this.refresh();
    const { batch, conflicts, inPlace } = diffRoutes({
      desired: this.desired.map,
      actual: this.observed.all(),
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
    // The writer keeps adds beyond the table's room waiting; the rest goes out.
    const hadWaiting = this.quota.waiting.size > 0;
    this.quota.waiting.clear();
    this.sendingDestinations = new Set([...batch.add, ...batch.mod].map((r) => r.destination));
    try {
      await this.writer.send(batch, this.sink);
    } finally {
      this.sendingDestinations = new Set();
    }
    if (hadWaiting && batch.del.length > 0 && this.quota.waiting.size > 0) {
      this.opts.onRoom?.([...this.quota.waiting].map((d) => this.desired.get(d)?.owner).filter((o): o is string => !!o));
    }
  }

  private touchDest(dest: string): void {
    const have = this.observed.get(dest);
    const owner = this.desired.get(dest)?.owner ?? (have ? this.opts.ownerOf?.(have) : undefined);
    if (owner) this.touched.add(owner);
  }

  /** What each write result does to this table's state. */
  private readonly sink: WriteSink = {
    fit: (batch) => this.quota.fit(batch, this.used),
    sending: (batch) => {
      for (const d of destinationsOf(batch)) this.touchDest(d);
    },
    applied: (batch: RouteBatch) => {
      this.observed.applied(batch, this.provider.capabilities.asyncRoutes);
      for (const d of destinationsOf(batch)) this.failed.delete(d);
    },
    retryable: (batch, err) => {
      // Throttling means the call was refused; anything else may have been applied.
      if (err.kind !== 'throttled') this.observed.stale = true;
      for (const d of destinationsOf(batch)) this.failed.set(d, err);
    },
    refused: (dest, batch, err) => {
      if (err.kind === 'quota' && batch.add.some((a) => a.destination === dest)) {
        // The cloud's quota is lower than we thought: learn it, and wait for room.
        this.quota.learnFull(dest, this.used);
        return;
      }
      const want = this.desired.get(dest);
      if (want) this.rejected.set(dest, { spec: want, error: err });
      else this.failed.set(dest, err);
    },
  };
}
