// The allocation ledger: the one durable record of which host holds which block.
//
// Design (why not just status.podCIDR): status lives on each HostNetwork, so two writers (two
// replicas during a leader hand-over, or a restarted controller whose cache is behind) can each
// give the same free block to a different object and both writes succeed. The ledger is a single
// ConfigMap, written with its resourceVersion as a precondition: every allocation is a
// compare-and-swap on one object, so two writers can never both commit a decision made from the
// same state — the loser rereads and decides again. Decisions are group-committed: all requests
// that arrive while a write is in flight go out together in the next write, so 5,000 hosts
// created at once need a handful of writes, not 5,000.
//
// The allocator (allocator.ts) is rebuilt from the ledger before anything is handed out, and
// again after every conflict; status.podCIDR is written from the ledger's answer, and routes
// only after that.
import { CoreV1Api, type KubeConfig, type V1ConfigMap } from '@kubernetes/client-node';
import { BlockAllocator, type ClaimProblem } from './allocator.js';
import type { Logger } from './logger.js';

export interface LedgerSnapshot {
  records: Map<string, string>; // block → owner (HostNetwork name)
  version: string; // opaque; '' when the ledger does not exist yet
}

export class LedgerConflict extends Error {}

export interface LedgerStore {
  read(): Promise<LedgerSnapshot>;
  /** Writes the records if the stored version is still `version`; throws LedgerConflict otherwise. */
  write(records: Map<string, string>, version: string): Promise<string>;
  readonly description: string;
}

export type AssignRequest = {
  owner: string;
  /** spec.podCIDR: the block the user pinned. */
  pinned?: string;
  /** A block this owner is known to have held (status.podCIDR, or its owned route). */
  hint?: string;
  /** Only take the hint (recovery at start-up); never allocate a new block. */
  hintOnly?: boolean;
};

export type AssignResult = { block: string; changed: boolean; from?: string } | { problem: ClaimProblem } | { exhausted: true };

type Op =
  | { kind: 'assign'; req: AssignRequest; resolve: (r: AssignResult) => void; reject: (e: unknown) => void }
  | { kind: 'release'; owner: string; resolve: (released: string | undefined) => void; reject: (e: unknown) => void };

export class Ledger {
  private version = '';
  private byOwner = new Map<string, string>();
  private pending: Op[] = [];
  private committing = false;
  private loaded = false;
  /** Writes made, conflicts met: for tests, logs and the benchmark. */
  writes = 0;
  conflicts = 0;

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
  ) {}

  /** Rebuilds the allocator from the durable records. Call before the first assign. */
  async load(): Promise<void> {
    const snap = await this.store.read();
    this.applySnapshot(snap);
    this.loaded = true;
  }



  private applySnapshot(snap: LedgerSnapshot): void {
    const rejected = this.allocator.rebuild(snap.records);
    for (const r of rejected) this.log.warn('ledger record ignored', { block: r.block, hostnetwork: r.owner, problem: r.problem });
    this.byOwner = new Map();
    for (const [block, owner] of snap.records) if (!rejected.some((r) => r.block === block)) this.byOwner.set(owner, block);
    this.version = snap.version;
  }

  debugState(): Record<string, unknown> {
    return { committing: this.committing, pending: this.pending.length, writes: this.writes, conflicts: this.conflicts, owners: this.byOwner.size };
  }

  blockOf(owner: string): string | undefined {
    return this.byOwner.get(owner);
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

  private async commit(batch: Op[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      // Decide every op against the current state; remember how to answer each.
      const answers: (() => void)[] = [];
      let dirty = false;
      for (const op of batch) {
        if (op.kind === 'assign') {
          const res = this.decide(op.req);
          if ('block' in res && res.changed) dirty = true;
          answers.push(() => op.resolve(res));
        } else {
          const block = this.byOwner.get(op.owner);
          if (block !== undefined) {
            this.allocator.release(block, op.owner);
            this.byOwner.delete(op.owner);
            dirty = true;
          }
          answers.push(() => op.resolve(block));
        }
      }
      if (!dirty) {
        // Nothing to write, so no compare-and-swap protects these answers: unless the lease
        // fences other writers out, make sure nobody changed the store meanwhile.
        if (!(this.fence?.() ?? false)) {
          const snap = await this.readOrFail(batch);
          if (!snap) return;
          if (snap.version !== this.version) {
            this.applySnapshot(snap);
            continue;
          }
        }
        answers.forEach((a) => a());
        return;
      }
      const records = new Map<string, string>();
      for (const [owner, block] of this.byOwner) records.set(block, owner);
      try {
        this.version = await this.store.write(records, this.version);
        this.writes++;
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
        this.log.info('allocation ledger changed under us; deciding again', { attempt, ledger: this.store.description });
        if (attempt >= 20) {
          for (const op of batch) op.reject(new Error(`allocation ledger ${this.store.description}: still conflicting after ${attempt} attempts`));
          return;
        }
      }
    }
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
    const take = (block: string): AssignResult => {
      if (held !== undefined && held !== block) this.allocator.release(held, req.owner);
      this.allocator.claim(block, req.owner);
      this.byOwner.set(req.owner, block);
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
    this.byOwner.set(req.owner, block);
    return { block, changed: true };
  }
}

/** The ledger in a ConfigMap: data keys are blocks ("10.0.2.0_24"), values are HostNetwork names. */
export class ConfigMapLedgerStore implements LedgerStore {
  private readonly api: CoreV1Api;
  readonly description: string;

  constructor(
    kc: KubeConfig,
    private readonly namespace: string,
    private readonly name: string,
    private readonly installationId: string,
  ) {
    this.api = kc.makeApiClient(CoreV1Api);
    this.description = `configmap ${namespace}/${name}`;
  }

  async read(): Promise<LedgerSnapshot> {
    try {
      const cm = await this.api.readNamespacedConfigMap({ name: this.name, namespace: this.namespace });
      const records = new Map<string, string>();
      for (const [key, owner] of Object.entries(cm.data ?? {})) records.set(key.replace('_', '/'), owner);
      return { records, version: cm.metadata?.resourceVersion ?? '' };
    } catch (err) {
      if ((err as { code?: number }).code === 404) return { records: new Map(), version: '' };
      throw err;
    }
  }

  async write(records: Map<string, string>, version: string): Promise<string> {
    const data: Record<string, string> = {};
    // No sorting: the API server stores map keys in order anyway, and at thousands of records a
    // locale-aware sort per write was a large share of the controller's CPU.
    for (const [block, owner] of records) data[block.replace('/', '_')] = owner;
    const body: V1ConfigMap = {
      metadata: {
        name: this.name,
        namespace: this.namespace,
        labels: { 'app.kubernetes.io/name': 'hostnet-controller', 'hostnet.io/installation': this.installationId },
        annotations: { 'hostnet.io/purpose': 'Container block allocations of hostnet-controller. Do not edit.' },
      },
      data,
    };
    try {
      if (version === '') {
        const created = await this.api.createNamespacedConfigMap({ namespace: this.namespace, body });
        return created.metadata?.resourceVersion ?? '';
      }
      body.metadata!.resourceVersion = version;
      const replaced = await this.api.replaceNamespacedConfigMap({ name: this.name, namespace: this.namespace, body });
      return replaced.metadata?.resourceVersion ?? '';
    } catch (err) {
      const code = (err as { code?: number }).code;
      // 409: somebody wrote first (or created it first); the caller rereads and decides again.
      if (code === 409) throw new LedgerConflict(`${this.description} changed concurrently`);
      throw err;
    }
  }
}

/** The ledger in memory, for unit tests; can inject conflicts. */
export class MemoryLedgerStore implements LedgerStore {
  records = new Map<string, string>();
  version = 0;
  readonly description = 'memory';
  /** Called before each write; may change `records`/`version` to simulate another writer. */
  beforeWrite?: () => void;

  async read(): Promise<LedgerSnapshot> {
    return { records: new Map(this.records), version: this.version === 0 ? '' : String(this.version) };
  }

  async write(records: Map<string, string>, version: string): Promise<string> {
    this.beforeWrite?.();
    const current = this.version === 0 ? '' : String(this.version);
    if (version !== current) throw new LedgerConflict('memory ledger changed');
    this.records = new Map(records);
    this.version++;
    return String(this.version);
  }
}
