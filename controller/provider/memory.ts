// An in-process cloud: route tables with the cloud's rules (unique destination, quota, local
// routes untouchable, atomic batches), NIC ports and security groups. For unit tests, for the
// core benchmark, and for `--cloud-provider=memory` (trying the controller without a cloud).
// The local VPC API emulator (test/emulator/) is the faithful one; this one is small and fast.
import { CloudError } from './errors.js';
import type { WriteFence } from './fence.js';
import type {
  CloudProvider,
  CloudRoute,
  IngressRuleSpec,
  RouteBatch,
  RouteTableInfo,
  SourceDestCheckMode,
  SourceDestCheckResult,
} from './provider.js';

const MEMORY_WRITES = new Set(['UpdateRouteTable', 'UpdatePort', 'CreateSecurityGroupRule']);

export interface MemoryCall {
  operation: string;
  table?: string;
  add?: number;
  mod?: number;
  del?: number;
  ok: boolean;
}

export class MemoryProvider implements CloudProvider {
  readonly name = 'memory';
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

  constructor(opts: { tables?: string[]; quota?: number; servers?: string[]; localRoutes?: string[] } = {}) {
    for (const id of opts.tables ?? ['rtb-1']) {
      const routes = new Map<string, CloudRoute>();
      for (const dest of opts.localRoutes ?? []) routes.set(dest, { destination: dest, type: 'local', nexthop: '', description: '' });
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
    if (!t) throw new CloudError({ kind: 'notFound', operation, httpStatus: 404, code: 'VPC.0003', cloudMessage: `route table ${id} not found` });
    return t;
  }

  async listRouteTables(): Promise<RouteTableInfo[]> {
    await this.call('ListRouteTables');
    return [...this.tables.keys()].map((id) => ({ id, name: id }));
  }

  async listRoutes(tableId: string): Promise<CloudRoute[]> {
    await this.call('ShowRouteTable', { table: tableId });
    return [...this.table(tableId, 'ShowRouteTable').values()].map((r) => ({ ...r }));
  }

  async applyRoutes(tableId: string, batch: RouteBatch): Promise<void> {
    const op = 'UpdateRouteTable';
    await this.call(op, { table: tableId, add: batch.add.length, mod: batch.mod.length, del: batch.del.length });
    const t = new Map(this.table(tableId, op));
    const refuse = (code: string, msg: string, kind: CloudError['kind'] = 'invalid'): never => {
      this.calls[this.calls.length - 1]!.ok = false;
      throw new CloudError({ kind, operation: op, httpStatus: 400, code, cloudMessage: msg });
    };
    for (const d of batch.del) {
      const r = t.get(d.destination);
      if (!r) refuse('VPC.2803', `route ${d.destination} does not exist`, 'notFound');
      if (r!.type === 'local') refuse('VPC.2804', `local route ${d.destination} cannot be deleted`);
      t.delete(d.destination);
    }
    for (const m of batch.mod) {
      const r = t.get(m.destination);
      if (!r) refuse('VPC.2803', `route ${m.destination} does not exist`, 'notFound');
      if (r!.type === 'local') refuse('VPC.2804', `local route ${m.destination} cannot be modified`);
      if (!this.servers.has(m.nexthop)) refuse('VPC.2806', `next hop ${m.nexthop} is not a server of the VPC`, 'notFound');
      t.set(m.destination, { ...m, type: 'ecs' });
    }
    for (const a of batch.add) {
      if (t.has(a.destination)) refuse('VPC.2812', `route destination ${a.destination} already exists`, 'conflict');
      if (!this.servers.has(a.nexthop)) refuse('VPC.2806', `next hop ${a.nexthop} is not a server of the VPC`, 'notFound');
      t.set(a.destination, { ...a, type: 'ecs' });
    }
    let count = 0;
    for (const r of t.values()) if (r.type !== 'local') count++;
    if (count > (this.quota.get(tableId) ?? 200)) refuse('VPC.2801', `the route table holds at most ${this.quota.get(tableId)} routes`, 'quota');
    this.tables.set(tableId, t);
  }

  async ensureSourceDestCheck(instanceId: string, mode: SourceDestCheckMode, block: string): Promise<SourceDestCheckResult> {
    await this.call('ListPorts');
    const port = this.ports.get(instanceId);
    if (!port) throw new CloudError({ kind: 'notFound', operation: 'ListPorts', cloudMessage: `no NIC port found for server ${instanceId}` });
    const want = mode === 'disable' ? '1.1.1.1/0' : block;
    const addresses = [...port.addresses];
    if (port.pairs.includes(want)) return { portId: port.id, changed: false, addresses };
    await this.call('UpdatePort');
    port.pairs = [...port.pairs, want];
    return { portId: port.id, changed: true, addresses };
  }

  async removeAddressPair(instanceId: string, pair: string): Promise<{ removed: boolean }> {
    await this.call('ListPorts');
    const port = this.ports.get(instanceId);
    if (!port?.pairs.includes(pair)) return { removed: false };
    await this.call('UpdatePort');
    port.pairs = port.pairs.filter((p) => p !== pair);
    return { removed: true };
  }

  async ensureIngressRule(rule: IngressRuleSpec): Promise<{ created: number }> {
    let created = 0;
    for (const p of rule.protocols) {
      await this.call('CreateSecurityGroupRule');
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
