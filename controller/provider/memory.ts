// An in-process cloud: route tables with the cloud's rules (unique destination, quota, local
// routes untouchable, atomic batches or one call per route, a mark or none), NIC ports and security groups. For unit tests, for the
// core benchmark, and for `--cloud-provider=memory` (trying the controller without a cloud).
// The local VPC API emulator (test/emulator/) is the faithful one; this one is small and fast.
import { CloudError } from './errors.js';
import type { WriteFence } from './fence.js';
import { batchOf, changesOf, destinationOf } from '../routes/diff.js';
import { Operation } from './operations.js';
import type {
  CloudProvider,
  CloudRoute,
  IngressRuleSpec,
  OwnershipCapability,
  ProviderCapabilities,
  RouteBatch,
  RouteBatchResult,
  RouteChange,
  RouteSpec,
  RouteWriteCapability,
  RouteTableInfo,
  SourceDestCheckMode,
  SourceDestCheckResult,
} from './provider.js';

const MEMORY_WRITES = new Set<string>([Operation.applyRoutes, Operation.writeRoute, Operation.updateNic, Operation.createIngressRule]);

/** The memory cloud's own error codes (it is not any real cloud: these are its own words). */
export const MemoryCode = {
  tableNotFound: 'TableNotFound',
  routeNotFound: 'RouteNotFound',
  systemRoute: 'SystemRouteImmutable',
  nexthopNotFound: 'NexthopNotFound',
  routeExists: 'RouteExists',
  quota: 'RouteQuotaExceeded',
} as const;

export interface MemoryCall {
  operation: string;
  table?: string;
  add?: number;
  mod?: number;
  del?: number;
  ok: boolean;
}

export interface MemoryProviderOptions {
  tables?: string[];
  quota?: number;
  servers?: string[];
  /** System routes (the VPC's own subnets) in every table. */
  localRoutes?: string[];
  /** How it writes (default: atomic batches of any size, like Huawei). */
  routeWrites?: RouteWriteCapability;
  /** How ownership is known (default: a mark of at most 255 characters). */
  ownership?: OwnershipCapability;
  sourceDestCheck?: ProviderCapabilities['sourceDestCheck'];
  /**
   * Asynchronous entries: a written route is 'pending' until available() (or settleRoutes())
   * makes it available, as on a cloud whose entries go Pending → Available.
   */
  asyncRoutes?: boolean;
}

export class MemoryProvider implements CloudProvider {
  readonly name = 'memory';
  readonly capabilities: ProviderCapabilities;
  readonly tables = new Map<string, Map<string, CloudRoute>>();
  readonly quota = new Map<string, number>();
  readonly servers = new Set<string>();
  readonly ports = new Map<string, { id: string; pairs: string[]; addresses: string[] }>(); // by server id
  readonly rules = new Set<string>();
  readonly calls: MemoryCall[] = [];
  /** Errors to throw from the next calls (any operation, or the one named). */
  readonly failNext: { error: CloudError; operation?: string }[] = [];
  /** Artificial latency per call, to make concurrency visible in tests. */
  latencyMs = 0;
  /** Every write passes it before it changes anything (see fence.ts). */
  fence?: WriteFence;
  /** Per-route calls in flight, per table, and the most seen at once (for tests). */
  private readonly inFlight = new Map<string, number>();
  maxInFlight = 0;

  constructor(opts: MemoryProviderOptions = {}) {
    this.capabilities = {
      routeWrites: opts.routeWrites ?? { kind: 'atomic-batch', maxBatch: Number.POSITIVE_INFINITY },
      ownership: opts.ownership ?? { kind: 'mark', maxLength: 255 },
      sourceDestCheck: opts.sourceDestCheck ?? 'supported',
      asyncRoutes: opts.asyncRoutes ?? false,
    };
    for (const id of opts.tables ?? ['rtb-1']) {
      const routes = new Map<string, CloudRoute>();
      for (const dest of opts.localRoutes ?? []) routes.set(dest, { destination: dest, kind: 'system', nexthop: '', description: '' });
      this.tables.set(id, routes);
      this.quota.set(id, opts.quota ?? 200);
    }
    for (const s of opts.servers ?? []) this.addServer(s);
  }

  /** A server with one NIC port holding `addresses` (its fixed IPs); none by default. */
  addServer(id: string, addresses: string[] = []): void {
    this.servers.add(id);
    this.ports.set(id, { id: `port-${id}`, pairs: [], addresses: [...addresses] });
  }

  /** asyncRoutes: every pending entry becomes available (the cloud finished programming it). */
  settleRoutes(): void {
    for (const t of this.tables.values()) for (const [d, r] of t) if (r.state === 'pending') t.set(d, { ...r, state: 'available' });
  }

  private async call(operation: string, extra: Omit<MemoryCall, 'operation' | 'ok'> = {}): Promise<void> {
    if (this.latencyMs > 0) await new Promise((r) => setTimeout(r, this.latencyMs));
    // The change itself happens synchronously after this returns: checking here fences it.
    if (MEMORY_WRITES.has(operation)) this.fence?.check(operation);
    const i = this.failNext.findIndex((f) => f.operation === undefined || f.operation === operation);
    if (i >= 0) {
      const [f] = this.failNext.splice(i, 1);
      this.calls.push({ operation, ...extra, ok: false });
      throw f!.error;
    }
    this.calls.push({ operation, ...extra, ok: true });
  }

  private table(id: string, operation: string): Map<string, CloudRoute> {
    const t = this.tables.get(id);
    if (!t) throw new CloudError({ kind: 'notFound', operation, httpStatus: 404, code: MemoryCode.tableNotFound, cloudMessage: `route table ${id} not found` });
    return t;
  }

  async listRouteTables(): Promise<RouteTableInfo[]> {
    await this.call(Operation.listRouteTables);
    return [...this.tables.keys()].map((id) => ({ id, name: id }));
  }

  async listRoutes(tableId: string): Promise<CloudRoute[]> {
    await this.call(Operation.listRoutes, { table: tableId });
    return [...this.table(tableId, Operation.listRoutes).values()].map((r) => ({ ...r }));
  }

  /** The route as this cloud stores it: with a mark only where ownership is by mark. */
  private stored(spec: RouteSpec): CloudRoute {
    const description = this.capabilities.ownership.kind === 'mark' ? spec.description : '';
    return { destination: spec.destination, kind: 'host', nexthop: spec.nexthop, description, ...(this.capabilities.asyncRoutes ? { state: 'pending' as const } : {}) };
  }

  /** Applies changes to a copy of the table; throws (changing nothing) on the first refusal. */
  private change(tableId: string, op: string, batch: RouteBatch): void {
    const t = new Map(this.table(tableId, op));
    const refuse = (code: string, msg: string, kind: CloudError['kind'] = 'invalid'): never => {
      this.calls[this.calls.length - 1]!.ok = false;
      throw new CloudError({ kind, operation: op, httpStatus: 400, code, cloudMessage: msg });
    };
    for (const d of batch.del) {
      const r = t.get(d.destination);
      if (!r) refuse(MemoryCode.routeNotFound, `route ${d.destination} does not exist`, 'notFound');
      if (r!.kind === 'system') refuse(MemoryCode.systemRoute, `system route ${d.destination} cannot be deleted`);
      t.delete(d.destination);
    }
    for (const m of batch.mod) {
      const r = t.get(m.destination);
      if (!r) refuse(MemoryCode.routeNotFound, `route ${m.destination} does not exist`, 'notFound');
      if (r!.kind === 'system') refuse(MemoryCode.systemRoute, `system route ${m.destination} cannot be modified`);
      if (!this.servers.has(m.nexthop)) refuse(MemoryCode.nexthopNotFound, `next hop ${m.nexthop} is not a server of the VPC`, 'notFound');
      t.set(m.destination, this.stored(m));
    }
    for (const a of batch.add) {
      if (t.has(a.destination)) refuse(MemoryCode.routeExists, `route destination ${a.destination} already exists`, 'conflict');
      if (!this.servers.has(a.nexthop)) refuse(MemoryCode.nexthopNotFound, `next hop ${a.nexthop} is not a server of the VPC`, 'notFound');
      t.set(a.destination, this.stored(a));
    }
    let count = 0;
    for (const r of t.values()) if (r.kind !== 'system') count++;
    if (count > (this.quota.get(tableId) ?? 200)) refuse(MemoryCode.quota, `the route table holds at most ${this.quota.get(tableId)} routes`, 'quota');
    this.tables.set(tableId, t);
  }

  async applyRoutes(tableId: string, batch: RouteBatch): Promise<void | RouteBatchResult> {
    const w = this.capabilities.routeWrites;
    if (w.kind === 'per-route') throw new Error('memory provider: applyRoutes called on a per-route provider');
    const size = batch.add.length + batch.mod.length + batch.del.length;
    if (size > w.maxBatch) throw new Error(`memory provider: a batch of ${size} exceeds maxBatch ${w.maxBatch}`);
    const op = Operation.applyRoutes;
    await this.call(op, { table: tableId, add: batch.add.length, mod: batch.mod.length, del: batch.del.length });
    if (w.kind === 'atomic-batch') return this.change(tableId, op, batch);
    // A partial batch: each change on its own; the refused ones are listed, the rest applied.
    const failed: RouteBatchResult['failed'] = [];
    for (const c of changesOf(batch)) {
      try {
        this.change(tableId, op, batchOf(c));
      } catch (err) {
        if (!(err instanceof CloudError)) throw err;
        failed.push({ destination: destinationOf(c), error: err });
      }
    }
    this.calls[this.calls.length - 1]!.ok = failed.length === 0;
    return { failed };
  }

  async writeRoute(tableId: string, change: RouteChange): Promise<void> {
    const w = this.capabilities.routeWrites;
    if (w.kind !== 'per-route') throw new Error('memory provider: writeRoute called on an atomic-batch provider');
    const n = (this.inFlight.get(tableId) ?? 0) + 1;
    this.inFlight.set(tableId, n);
    this.maxInFlight = Math.max(this.maxInFlight, n);
    try {
      if (n > w.concurrency) throw new Error(`memory provider: ${n} calls in flight on ${tableId}, concurrency is ${w.concurrency}`);
      const op = Operation.writeRoute;
      const batch: RouteBatch =
        change.op === 'create' ? { add: [change.route], mod: [], del: [] } : change.op === 'replace' ? { add: [], mod: [change.route], del: [] } : { add: [], mod: [], del: [{ destination: change.destination }] };
      await this.call(op, { table: tableId, add: batch.add.length, mod: batch.mod.length, del: batch.del.length });
      this.change(tableId, op, batch);
    } finally {
      this.inFlight.set(tableId, (this.inFlight.get(tableId) ?? 1) - 1);
    }
  }

  /** The memory NIC's pairs: 0.0.0.0/0 stands for "check off" (its own convention). */
  sourceDestCheckRecord(mode: SourceDestCheckMode, block: string): string {
    return mode === 'disable' ? MEMORY_CHECK_OFF : block;
  }

  async ensureSourceDestCheck(instanceId: string, mode: SourceDestCheckMode, block: string): Promise<SourceDestCheckResult> {
    if (this.capabilities.sourceDestCheck === 'not-applicable') throw new Error('memory provider: ensureSourceDestCheck on a cloud without the check');
    await this.call(Operation.readNic);
    const port = this.ports.get(instanceId);
    if (!port) throw new CloudError({ kind: 'notFound', operation: Operation.readNic, cloudMessage: `no NIC port found for server ${instanceId}` });
    const want = this.sourceDestCheckRecord(mode, block);
    const addresses = [...port.addresses];
    if (port.pairs.includes(want)) return { portId: port.id, changed: false, addresses };
    await this.call(Operation.updateNic);
    port.pairs = [...port.pairs, want];
    return { portId: port.id, changed: true, addresses };
  }

  async removeSourceDestCheck(instanceId: string, record: string): Promise<{ removed: boolean }> {
    await this.call(Operation.readNic);
    const port = this.ports.get(instanceId);
    if (!port?.pairs.includes(record)) return { removed: false };
    await this.call(Operation.updateNic);
    port.pairs = port.pairs.filter((p) => p !== record);
    return { removed: true };
  }

  async ensureIngressRule(rule: IngressRuleSpec): Promise<{ created: number }> {
    let created = 0;
    for (const p of rule.protocols) {
      await this.call(Operation.createIngressRule);
      const key = `${rule.securityGroupId}|${p}|${rule.remoteIpPrefix}`;
      if (!this.rules.has(key)) {
        this.rules.add(key);
        created++;
      }
    }
    return { created };
  }

  count(operation: string): number {
    return this.calls.filter((c) => c.operation === operation).length;
  }
}

/** What the memory cloud puts on a NIC to switch its check off entirely. */
export const MEMORY_CHECK_OFF = '0.0.0.0/0';
