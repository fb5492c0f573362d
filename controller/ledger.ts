// The allocation ledger: the one durable record of which host holds which block.
//
// Design (why not just status.podCIDR): status lives on each HostNetwork, so two writers (two
// replicas during a leader hand-over, or a restarted controller whose cache is behind) can each
// give the same free block to a different object and both writes succeed. The ledger is stored
// in shards (ledger-store.ts, format in ledger-format.ts), each written with its resourceVersion
// as a precondition: every allocation is a compare-and-swap, so two writers can never both commit
// a decision made from the same state — the loser rereads and decides again. Decisions are
// group-committed: all requests that arrive while a write is in flight go out together in the
// next write, so 5,000 hosts created at once need a handful of writes, not 5,000.
//
// The recorded truth wins: when the flags (--pool-cidr, --block-size) cannot honour a stored
// record, the ledger keeps every record as it is, keeps answering existing holders with their
// blocks, and refuses new allocations until the flags fit again (never rewriting a record).
//
// A ledger changed behind our back (a shard deleted, a record rewritten) is noticed when a
// compare-and-swap fails or a reread differs from what we last stored; before the next decision
// it is rebuilt from evidence (ledger-evidence.ts), and every disagreement is reported.
import { formatCidr } from './cidr.js';
import { BlockAllocator, type ClaimProblem } from './allocator.js';
import { rebuildFromEvidence, type HostEvidence, type Inconsistency } from './ledger-evidence.js';
import { LEDGER_FORMAT, SHARD_LIMIT_BYTES, describeMeta, shardBytes, type LedgerMeta } from './ledger-format.js';
import { LedgerConflict, type LedgerSnapshot, type LedgerStore } from './ledger-store.js';
import type { Logger } from './logger.js';

export { ConfigMapLedgerStore, LedgerConflict, MemoryLedgerStore, type LedgerShard, type LedgerSnapshot, type LedgerStore } from './ledger-store.js';

export type AssignRequest = {
  owner: string;
  /** spec.podCIDR: the block the user pinned. */
  pinned?: string;
  /** A block this owner is known to have held (status.podCIDR, or its owned route). */
  hint?: string;
  /** Only take the hint (recovery at start-up); never allocate a new block. */
  hintOnly?: boolean;
};

export type AssignResult =
  | { block: string; changed: boolean; from?: string }
  | { problem: ClaimProblem }
  | { exhausted: true }
  /** The stored records do not fit the flags: nothing new is allocated (message names both). */
  | { refused: string }
  /** The block's ledger shard has no room for one more record. */
  | { ledgerFull: string };

export interface LedgerHooks {
  /** Every live HostNetwork with its status.podCIDR and owned route (informer + route tables). */
  evidence?: () => Map<string, HostEvidence>;
  /** Called once per rebuild with the disagreements it found (after they were written). */
  onInconsistencies?: (list: Inconsistency[]) => void;
}

/** Stored records the current flags cannot honour. */
export interface PoolMismatch {
  records: { block: string; owner: string; problem: string }[];
  /** One line naming the flags and the conflicting records. */
  message: string;
}

type Op =
  | { kind: 'assign'; req: AssignRequest; resolve: (r: AssignResult) => void; reject: (e: unknown) => void }
  | { kind: 'release'; owner: string; resolve: (released: string | undefined) => void; reject: (e: unknown) => void }
  | { kind: 'check'; reread: boolean; rebuild: boolean; resolve: (found: Inconsistency[]) => void; reject: (e: unknown) => void };

interface ShardState {
  /** What we want stored (our decisions included). */
  records: Map<string, string>;
  /** What we last read or wrote: a reread that differs from it was made by someone else. */
  stored: Map<string, string>;
  version: string;
  meta?: LedgerMeta;
  /** Bytes of `records` as the API server counts them (keys plus values). */
  bytes: number;
}

const MAX_ATTEMPTS = 20;
const recordBytes = (block: string, owner: string): number => block.length + owner.length;

export class Ledger {
  private shards = new Map<string, ShardState>();
  private readonly dirty = new Set<string>();
  private byOwner = new Map<string, string>();
  private pending: Op[] = [];
  private committing = false;
  private loaded = false;
  private everLoaded = false;
  private mismatch?: PoolMismatch;
  /** Set when the store changed behind our back; holds what we had stored before. */
  private rebuildNeeded?: { remembered: Map<string, string>; why: string };
  /** Writes made, conflicts met: for tests, logs and the benchmark. */
  writes = 0;
  conflicts = 0;
  /** Disagreements found by rebuilds so far (for the metric). */
  inconsistencies = 0;

  /**
   * @param fence true while answers from memory are safe: this replica is the only writer (it
   *   renewed its lease within the renew deadline, so no other replica can have taken over).
   *   Without a fence every answer that needs no write is checked against the store first.
   */
  constructor(
    private readonly store: LedgerStore,
    readonly allocator: BlockAllocator,
    private readonly log: Logger,
    private readonly fence?: () => boolean,
    private readonly hooks: LedgerHooks = {},
  ) {}

  /**
   * Reads the durable records (migrating a format 1 ledger into shards first) and rebuilds the
   * allocator from them. Call before the first assign.
   */
  async load(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const snap = await this.store.read();
      if (snap.legacy) {
        try {
          await this.migrate(snap);
        } catch (err) {
          if (!(err instanceof LedgerConflict) || attempt >= MAX_ATTEMPTS) throw err;
        }
        continue;
      }
      this.applySnapshot(snap);
      this.loaded = true;
      this.everLoaded = true;
      return;
    }
  }

  /**
   * Format 1 → shards, never losing a record: every record of the single ConfigMap is written
   * into its shard (compare-and-swap), and only then is the old ConfigMap emptied (compare-and-
   * swap on the version we copied from; if a writer changed it meanwhile, we start again). A
   * crash in between leaves both, and the next start merges them again.
   */
  private async migrate(snap: LedgerSnapshot): Promise<void> {
    const legacy = snap.legacy!;
    const records = [...legacy.records];
    const fits = records.every(([block]) => this.allocator.fits(block));
    const prefixes = new Set(records.map(([b]) => b.split('/')[1]));
    const meta: LedgerMeta = fits ? this.currentMeta() : { format: LEDGER_FORMAT, pool: '', blockSize: prefixes.size === 1 ? Number([...prefixes][0]) : undefined };
    const byShard = new Map<string, Map<string, string>>();
    for (const [block, owner] of records) {
      const key = this.store.shardOf(block);
      if (!byShard.has(key)) byShard.set(key, new Map(snap.shards.get(key)?.records ?? []));
      // The format 1 ledger was written last when it still holds records: its word wins.
      byShard.get(key)!.set(block, owner);
    }
    await Promise.all([...byShard].map(([key, recs]) => this.store.writeShard(key, recs, snap.shards.get(key)?.meta ?? meta, snap.shards.get(key)?.version ?? '')));
    await this.store.retireLegacy(legacy.version);
    this.log.info('allocation ledger migrated to the sharded format', { records: records.length, shards: byShard.size, format: LEDGER_FORMAT, ledger: this.store.description });
  }

  private currentMeta(): LedgerMeta {
    return { format: LEDGER_FORMAT, pool: formatCidr(this.allocator.pool), blockSize: this.allocator.blockPrefix };
  }

  private allRecords(which: 'records' | 'stored' = 'records'): Map<string, string> {
    const out = new Map<string, string>();
    for (const s of this.shards.values()) for (const [b, o] of s[which]) out.set(b, o);
    return out;
  }

  private applySnapshot(snap: LedgerSnapshot): void {
    // After a failed read or write `loaded` is false, but what we last stored is still known and
    // is still the yardstick for changes made by others.
    const before = this.everLoaded ? this.allRecords('stored') : undefined;
    this.shards = new Map();
    this.dirty.clear();
    for (const [key, s] of snap.shards) this.shards.set(key, { records: new Map(s.records), stored: new Map(s.records), version: s.version, meta: s.meta, bytes: shardBytes(s.records) });
    const all = this.allRecords();
    this.classify(all);
    if (before) {
      // Records we had stored that are gone or name someone else now: not our doing.
      const changed = [...before].filter(([block, owner]) => all.get(block) !== owner);
      if (changed.length > 0) {
        const why = `${changed.length} stored record(s) changed or vanished behind the controller's back (${changed
          .slice(0, 5)
          .map(([b, o]) => `${b} of ${o} → ${all.get(b) ?? 'gone'}`)
          .join(', ')}${changed.length > 5 ? ', …' : ''})`;
        this.log.warn('allocation ledger changed outside the controller; rebuilding it from status and routes before the next allocation', { ledger: this.store.description, detail: why });
        // Keep the older memory if a rebuild is already waiting: it is the better evidence.
        this.rebuildNeeded ??= { remembered: before, why };
      }
    }
  }

  /** Rebuilds the allocator and the owner index from records; notices records the flags cannot honour. */
  private classify(all: Map<string, string>): void {
    const rejected = this.allocator.rebuild(all);
    this.byOwner = new Map();
    if (rejected.length > 0) {
      // Recorded truth wins: every holder keeps its recorded block, nothing is rewritten.
      for (const [block, owner] of all) if (!this.byOwner.has(owner)) this.byOwner.set(owner, block);
      const recordedAs = new Set([...this.shards.values()].filter((s) => s.records.size > 0 && s.meta).map((s) => describeMeta(s.meta!)));
      const shown = rejected.slice(0, 5).map((r) => `${r.block} (${r.owner})`).join(', ');
      const message =
        `--pool-cidr=${formatCidr(this.allocator.pool)} --block-size=${this.allocator.blockPrefix} cannot honour ${rejected.length} recorded allocation(s): ${shown}${rejected.length > 5 ? ` and ${rejected.length - 5} more` : ''}` +
        ` (recorded with ${[...recordedAs].join('; ') || 'unknown flags'}); refusing new allocations, existing hosts keep their blocks and routes; start with flags whose pool contains every recorded block at its size`;
      if (this.mismatch?.message !== message) this.log.error(message, { conflictingRecords: rejected.length, ledger: this.store.description });
      this.mismatch = { records: rejected, message };
      return;
    }
    if (this.mismatch) this.log.info('the flags honour every recorded allocation again; allocating', { ledger: this.store.description });
    this.mismatch = undefined;
    for (const [block, owner] of all) {
      const other = this.byOwner.get(owner);
      if (other === undefined) {
        this.byOwner.set(owner, block);
        continue;
      }
      // One owner, two records (a move whose two shard writes did not both land): keep the
      // first, free the other in the next write.
      this.allocator.release(block, owner);
      this.deleteRecord(block);
    }
  }

  private setRecord(block: string, owner: string): void {
    const key = this.store.shardOf(block);
    let s = this.shards.get(key);
    if (!s) this.shards.set(key, (s = { records: new Map(), stored: new Map(), version: '', bytes: 0 }));
    const prev = s.records.get(block);
    s.bytes += recordBytes(block, owner) - (prev === undefined ? 0 : recordBytes(block, prev));
    s.records.set(block, owner);
    this.dirty.add(key);
  }

  private deleteRecord(block: string): void {
    const key = this.store.shardOf(block);
    const s = this.shards.get(key);
    const prev = s?.records.get(block);
    if (s && prev !== undefined) {
      s.records.delete(block);
      s.bytes -= recordBytes(block, prev);
      this.dirty.add(key);
    }
  }

  /** When set, new allocations are refused (see PoolMismatch). */
  get poolMismatch(): PoolMismatch | undefined {
    return this.mismatch;
  }

  /** Sizes for the metrics: records, shards, and the largest shard's share of the object limit. */
  stats(): { records: number; shards: number; largestShardBytes: number; fillRatio: number } {
    let records = 0;
    let largest = 0;
    for (const s of this.shards.values()) {
      records += s.records.size;
      largest = Math.max(largest, s.bytes);
    }
    return { records, shards: this.shards.size, largestShardBytes: largest, fillRatio: largest / SHARD_LIMIT_BYTES };
  }

  debugState(): Record<string, unknown> {
    return { committing: this.committing, pending: this.pending.length, writes: this.writes, conflicts: this.conflicts, owners: this.byOwner.size, shards: this.shards.size, mismatch: this.mismatch?.records.length ?? 0 };
  }

  blockOf(owner: string): string | undefined {
    return this.byOwner.get(owner);
  }

  /** The owner the ledger records the block for (ownership by ledger: see routes/ownership.ts). */
  ownerOfBlock(block: string): string | undefined {
    for (const [owner, b] of this.byOwner) if (b === block) return owner;
    return undefined;
  }

  owners(): Map<string, string> {
    return new Map(this.byOwner);
  }

  assign(req: AssignRequest): Promise<AssignResult> {
    return new Promise((resolve, reject) => this.enqueue({ kind: 'assign', req, resolve, reject }));
  }

  /** Releases whatever block the owner holds; resolves with it (undefined if none). */
  release(owner: string): Promise<string | undefined> {
    return new Promise((resolve, reject) => this.enqueue({ kind: 'release', owner, resolve, reject }));
  }

  /**
   * Weighs the stored records against the evidence (status, routes) and writes the result before
   * anything else is decided: at start-up (rebuild=true, nobody knows what happened while we
   * were down) and at every full sync (reread=true: notices a ledger edited or deleted).
   * Resolves with the disagreements found.
   */
  check(opts: { reread?: boolean; rebuild?: boolean } = {}): Promise<Inconsistency[]> {
    return new Promise((resolve, reject) => this.enqueue({ kind: 'check', reread: opts.reread ?? false, rebuild: opts.rebuild ?? false, resolve, reject }));
  }

  private enqueue(op: Op): void {
    this.pending.push(op);
    if (!this.committing) void this.commitLoop();
  }

  private async commitLoop(): Promise<void> {
    this.committing = true;
    try {
      while (this.pending.length > 0) {
        if (!this.loaded) await this.load();
        const batch = this.pending;
        this.pending = [];
        await this.commit(batch);
      }
    } catch (err) {
      this.loaded = false;
      for (const op of this.pending.splice(0)) op.reject(err);
    } finally {
      this.committing = false;
    }
  }

  private versionKey(shards: Iterable<[string, { version: string }]>): string {
    return [...shards]
      .filter(([, s]) => s.version !== '')
      .map(([k, s]) => `${k}=${s.version}`)
      .sort()
      .join(',');
  }

  private async commit(batch: Op[]): Promise<void> {
    const checks = batch.filter((op) => op.kind === 'check');
    if (checks.some((c) => c.reread)) {
      const snap = await this.readOrFail(batch);
      if (!snap) return;
      if (this.versionKey(snap.shards) !== this.versionKey(this.shards)) this.applySnapshot(snap);
    }
    if (checks.some((c) => c.rebuild)) this.rebuildNeeded ??= { remembered: new Map(), why: 'start-up check' };
    for (let attempt = 1; ; attempt++) {
      const found = this.rebuildNeeded && !this.mismatch ? this.rebuild() : [];
      // Decide every op against the current state; remember how to answer each.
      const answers: (() => void)[] = [];
      for (const op of batch) {
        if (op.kind === 'assign') {
          const res = this.decide(op.req);
          answers.push(() => op.resolve(res));
        } else if (op.kind === 'release') {
          const block = this.byOwner.get(op.owner);
          if (block !== undefined) {
            this.allocator.release(block, op.owner);
            this.byOwner.delete(op.owner);
            this.deleteRecord(block);
          }
          answers.push(() => op.resolve(block));
        } else {
          answers.push(() => op.resolve(found));
        }
      }
      if (this.dirty.size === 0) {
        // Nothing to write, so no compare-and-swap protects these answers: unless the lease
        // fences other writers out, make sure nobody changed the store meanwhile.
        if (!(this.fence?.() ?? false)) {
          const snap = await this.readOrFail(batch);
          if (!snap) return;
          if (this.versionKey(snap.shards) !== this.versionKey(this.shards)) {
            this.applySnapshot(snap);
            continue;
          }
        }
        this.finishRebuild(found);
        answers.forEach((a) => a());
        return;
      }
      try {
        await this.writeDirty();
        this.finishRebuild(found);
        answers.forEach((a) => a());
        return;
      } catch (err) {
        // Whatever we decided is void: go back to what is stored and decide again.
        const snap = await this.readOrFail(batch);
        if (!snap) return;
        this.applySnapshot(snap);
        if (!(err instanceof LedgerConflict)) {
          for (const op of batch) op.reject(err);
          return;
        }
        this.conflicts++;
        this.log.info('allocation ledger changed under us; deciding again', { attempt, ledger: this.store.description, detail: err.message });
        if (attempt >= MAX_ATTEMPTS) {
          for (const op of batch) op.reject(new Error(`allocation ledger ${this.store.description}: still conflicting after ${attempt} attempts`));
          return;
        }
      }
    }
  }

  /** Writes every changed shard, each with its own compare-and-swap; the first failure is thrown. */
  private async writeDirty(): Promise<void> {
    const keys = [...this.dirty];
    const results = await Promise.allSettled(
      keys.map(async (key) => {
        const s = this.shards.get(key)!;
        // Under a pool mismatch a write only ever removes records: keep the shard's description.
        const meta = this.mismatch ? (s.meta ?? { format: LEDGER_FORMAT, pool: '', blockSize: undefined }) : this.currentMeta();
        const records = new Map(s.records);
        const version = await this.store.writeShard(key, records, meta, s.version);
        s.version = version;
        s.stored = records;
        s.meta = meta;
        this.dirty.delete(key);
      }),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    this.writes++;
    // A release may have removed the last record the flags could not honour.
    if (this.mismatch) this.classify(this.allRecords());
  }

  /** Replaces the in-memory records with what the evidence says (written with the next batch). */
  private rebuild(): Inconsistency[] {
    const evidence = this.hooks.evidence?.();
    if (!evidence) return [];
    const stored = this.allRecords();
    const { records, inconsistencies } = rebuildFromEvidence({
      stored,
      hosts: evidence,
      remembered: this.rebuildNeeded!.remembered,
      honourable: (b) => this.allocator.fits(b),
    });
    for (const [block, owner] of stored) if (records.get(block) !== owner) this.deleteRecord(block);
    for (const [block, owner] of records) if (stored.get(block) !== owner) this.setRecord(block, owner);
    this.classify(this.allRecords());
    return inconsistencies;
  }

  private finishRebuild(found: Inconsistency[]): void {
    if (!this.rebuildNeeded || this.mismatch) return;
    const { why } = this.rebuildNeeded;
    this.rebuildNeeded = undefined;
    if (found.length === 0) return;
    this.inconsistencies += found.length;
    for (const i of found.slice(0, 20)) this.log.warn('allocation ledger inconsistency', { block: i.block, hostnetwork: i.claimant, keptBy: i.keptBy, detail: i.message, cause: why });
    if (found.length > 20) this.log.warn('allocation ledger inconsistencies not logged one by one', { more: found.length - 20 });
    this.hooks.onInconsistencies?.(found);
  }

  /** Reads the store; on failure rejects the batch and forgets the in-memory view. */
  private async readOrFail(batch: Op[]): Promise<LedgerSnapshot | undefined> {
    try {
      return await this.store.read();
    } catch (err) {
      this.loaded = false;
      for (const op of batch) op.reject(err);
      return undefined;
    }
  }

  /** One allocation decision against the in-memory state (mutates it on success). */
  private decide(req: AssignRequest): AssignResult {
    const held = this.byOwner.get(req.owner);
    if (this.mismatch) {
      if (held !== undefined && (req.pinned === undefined || req.pinned === held)) return { block: held, changed: false };
      return { refused: this.mismatch.message };
    }
    const full = (block: string): AssignResult | undefined => {
      const s = this.shards.get(this.store.shardOf(block));
      if ((s?.bytes ?? 0) + recordBytes(block, req.owner) <= SHARD_LIMIT_BYTES) return undefined;
      // Refuse this one record rather than fail the whole shard's write (releases included).
      return { ledgerFull: `allocation ledger shard of ${block} is full (${SHARD_LIMIT_BYTES} bytes, the API server's object limit); use shorter HostNetwork names or larger blocks` };
    };
    const take = (block: string): AssignResult => {
      const tooBig = held !== block ? full(block) : undefined;
      if (tooBig) return tooBig;
      if (held !== undefined && held !== block) {
        this.allocator.release(held, req.owner);
        this.deleteRecord(held);
      }
      this.allocator.claim(block, req.owner);
      this.byOwner.set(req.owner, block);
      if (held !== block) this.setRecord(block, req.owner);
      return { block, changed: held !== block, from: held };
    };
    if (req.pinned !== undefined) {
      if (held === req.pinned) return { block: held, changed: false };
      const problem = this.allocator.check(req.pinned, req.owner);
      return problem ? { problem } : take(req.pinned);
    }
    if (held !== undefined) return { block: held, changed: false };
    if (req.hint !== undefined) {
      const problem = this.allocator.check(req.hint, req.owner);
      if (problem === undefined) return take(req.hint);
      if (req.hintOnly) return { problem };
    }
    if (req.hintOnly) return { exhausted: true };
    const block = this.allocator.allocate(req.owner);
    if (block === undefined) return { exhausted: true };
    const tooBig = full(block);
    if (tooBig) {
      this.allocator.release(block, req.owner);
      return tooBig;
    }
    this.byOwner.set(req.owner, block);
    this.setRecord(block, req.owner);
    return { block, changed: true };
  }
}
