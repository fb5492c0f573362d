// Helpers for the controller integration tests: HostNetwork CRUD against the real API server,
// the allocation ledger, Events, and the allocation invariant checker:
//   - the blocks in status.podCIDR of all HostNetworks are pairwise non-overlapping;
//   - each status.podCIDR is the block the ledger ConfigMap records for that HostNetwork;
//   - the ledger holds no block twice (no two entries overlap, no owner holds two blocks);
//   - with the emulator, once converged: one owned route per block, to the host's instanceID,
//     and no owned route for anything else.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi, setHeaderOptions, type CoreV1Event, type KubeConfig } from '@kubernetes/client-node';
import type { HostNetwork, HostNetworkSpec } from '../../controller/api/types.js';
import { SEED, type CallRecord, type Emulator } from '../emulator/server.js';
import type { ControllerProcess } from './controller.js';

export const HN = { group: 'hostnet.io', version: 'v1alpha1', plural: 'hostnetworks' } as const;
export const ECS1 = SEED.servers['ecs-1'].id;
export const ECS2 = SEED.servers['ecs-2'].id;
export const ECS3 = SEED.servers['ecs-3'].id;

const mergePatch = setHeaderOptions('Content-Type', 'application/merge-patch+json');

export function hostNetwork(name: string, spec: HostNetworkSpec): HostNetwork {
  return { apiVersion: 'hostnet.io/v1alpha1', kind: 'HostNetwork', metadata: { name }, spec };
}

export async function createHn(kc: KubeConfig, obj: HostNetwork): Promise<HostNetwork> {
  return (await kc.makeApiClient(CustomObjectsApi).createClusterCustomObject({ ...HN, body: obj })) as HostNetwork;
}

/** Creates all objects at once, at most `concurrency` requests in flight. */
export async function createMany(kc: KubeConfig, objs: HostNetwork[], concurrency = 32): Promise<void> {
  const api = kc.makeApiClient(CustomObjectsApi);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < objs.length) {
      const o = objs[next++]!;
      await api.createClusterCustomObject({ ...HN, body: o });
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, objs.length) }, worker));
}

export async function getHn(kc: KubeConfig, name: string): Promise<HostNetwork | undefined> {
  try {
    return (await kc.makeApiClient(CustomObjectsApi).getClusterCustomObject({ ...HN, name })) as HostNetwork;
  } catch (err) {
    if ((err as { code?: number }).code === 404) return undefined;
    throw err;
  }
}

export async function listHn(kc: KubeConfig): Promise<HostNetwork[]> {
  return ((await kc.makeApiClient(CustomObjectsApi).listClusterCustomObject(HN)) as { items: HostNetwork[] }).items;
}

export async function patchSpec(kc: KubeConfig, name: string, spec: Partial<HostNetworkSpec>): Promise<void> {
  await kc.makeApiClient(CustomObjectsApi).patchClusterCustomObject({ ...HN, name, body: { spec } }, mergePatch);
}

/** Removes status entirely (what a restore from a backup without status leaves behind). */
export async function stripStatus(kc: KubeConfig, name: string): Promise<HostNetwork> {
  return (await kc.makeApiClient(CustomObjectsApi).patchClusterCustomObjectStatus({ ...HN, name, body: { status: null } }, mergePatch)) as HostNetwork;
}

export async function deleteHn(kc: KubeConfig, name: string): Promise<void> {
  await kc.makeApiClient(CustomObjectsApi).deleteClusterCustomObject({ ...HN, name });
}

export function cond(hn: HostNetwork | undefined, type: string): { status: string; reason: string; message: string } | undefined {
  return hn?.status?.conditions?.find((c) => c.type === type);
}

export function isReady(hn: HostNetwork | undefined): boolean {
  return cond(hn, 'Ready')?.status === 'True' && hn?.status?.observedGeneration === hn?.metadata.generation;
}

/** Resolves when `count` HostNetworks exist and all are Ready; returns them. */
export async function waitAllReady(kc: KubeConfig, count: number, timeoutMs: number, what = `${count} HostNetworks Ready`): Promise<HostNetwork[]> {
  const deadline = Date.now() + timeoutMs;
  let last: HostNetwork[] = [];
  for (;;) {
    last = await listHn(kc).catch(() => last);
    if (last.length === count && last.every(isReady)) return last;
    if (Date.now() > deadline) {
      const notReady = last.filter((h) => !isReady(h)).slice(0, 5);
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}: ${last.length} exist, ${last.filter(isReady).length} Ready; e.g. ` +
          JSON.stringify(notReady.map((h) => ({ name: h.metadata.name, status: h.status }))),
      );
    }
    await sleep(200);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface LedgerView {
  exists: boolean;
  resourceVersion?: string;
  /** block → owner */
  records: Map<string, string>;
  /** The raw data keys, as stored. */
  data: Record<string, string>;
}

/**
 * Every shard of the ledger (ConfigMaps "hostnet-allocations-<id>-<a>-<b>", see
 * controller/ledger-format.ts) merged into one view; resourceVersion joins the shards' versions,
 * so it changes with any write.
 */
export async function readLedger(kc: KubeConfig, installationId = 'default', namespace = 'default'): Promise<LedgerView> {
  const prefix = `hostnet-allocations-${installationId}-`;
  const list = await kc.makeApiClient(CoreV1Api).listNamespacedConfigMap({ namespace, labelSelector: `hostnet.io/installation=${installationId},hostnet.io/ledger=shard` });
  const shards = list.items.filter((cm) => cm.metadata?.name?.startsWith(prefix)).sort((a, b) => (a.metadata!.name! < b.metadata!.name! ? -1 : 1));
  const data: Record<string, string> = {};
  for (const cm of shards) Object.assign(data, cm.data ?? {});
  const records = new Map(Object.entries(data).map(([k, v]) => [k.replace('_', '/'), v]));
  if (shards.length === 0) return { exists: false, records, data };
  return { exists: true, resourceVersion: shards.map((cm) => `${cm.metadata!.name}=${cm.metadata!.resourceVersion}`).join(','), records, data };
}

/** Deletes every shard of the ledger (what an operator's `kubectl delete configmap` would do). */
export async function deleteLedger(kc: KubeConfig, installationId = 'default', namespace = 'default'): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  const list = await core.listNamespacedConfigMap({ namespace, labelSelector: `hostnet.io/installation=${installationId}` });
  for (const cm of list.items) if (cm.metadata?.name?.startsWith('hostnet-allocations-')) await core.deleteNamespacedConfigMap({ name: cm.metadata.name, namespace });
}

/** core/v1 Events about one object (by uid, so earlier objects of the same name do not count). */
export async function eventsFor(kc: KubeConfig, hn: HostNetwork, namespace = 'default'): Promise<CoreV1Event[]> {
  const list = await kc.makeApiClient(CoreV1Api).listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${hn.metadata.name}` });
  return list.items.filter((e) => e.involvedObject.uid === hn.metadata.uid);
}

export interface OwnedRoute {
  destination: string;
  nexthop: string | null;
  owner: string;
}

export function tableRoutes(emu: Emulator, tableId: string = SEED.routeTableId): { destination: string; nexthop: string | null; type: string; description: string | null }[] {
  const t = emu.snapshot().route_tables.find((r) => r.id === tableId);
  assert.ok(t, `route table ${tableId} exists in the emulator`);
  return t.routes;
}

/** Routes carrying this installation's mark "hostnet:<id>:<name>". */
export function ownedRoutes(emu: Emulator, installationId = 'default', tableId: string = SEED.routeTableId): OwnedRoute[] {
  const prefix = `hostnet:${installationId}:`;
  return tableRoutes(emu, tableId)
    .filter((r) => r.type === 'ecs' && (r.description ?? '').startsWith(prefix))
    .map((r) => ({ destination: r.destination, nexthop: r.nexthop, owner: r.description!.slice(prefix.length) }));
}

// --- CIDR arithmetic, independent of controller/cidr.ts on purpose -------------------------------

function parseCidr(s: string): { base: number; size: number } {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(s);
  assert.ok(m, `${s} is a CIDR`);
  const ip = ((Number(m[1]) << 24) >>> 0) + (Number(m[2]) << 16) + (Number(m[3]) << 8) + Number(m[4]);
  const prefix = Number(m[5]);
  const size = 2 ** (32 - prefix);
  return { base: ip - (ip % size), size };
}

export function cidrsOverlap(a: string, b: string): boolean {
  const x = parseCidr(a);
  const y = parseCidr(b);
  return x.base < y.base + y.size && y.base < x.base + x.size;
}

export function cidrInside(inner: string, outer: string): boolean {
  const x = parseCidr(inner);
  const y = parseCidr(outer);
  return x.base >= y.base && x.base + x.size <= y.base + y.size;
}

export interface InvariantOptions {
  installationId?: string;
  /** Also check the owned routes in this emulator's table (only meaningful with `converged`). */
  emulator?: Emulator;
  tableId?: string;
  /**
   * Everything has settled: every HostNetwork has a block, the ledger holds exactly the existing
   * HostNetworks, and (with an emulator) each block has exactly one owned route to its host.
   */
  converged?: boolean;
  /** The owned routes of another cloud's emulator (instead of `emulator`), same check. */
  routes?: OwnedRoute[];
  /**
   * Clouds without a route mark (AWS): the table's routes inside the pool, next hop as the
   * instance id. Checked like the emulator's owned routes (only meaningful with `converged`).
   */
  poolRoutes?: { destination: string; nexthop: string }[];
}

export interface InvariantReport {
  hosts: number;
  withBlock: number;
  ledgerEntries: number;
  ownedRoutes?: number;
}

export interface AllocationView {
  hosts: HostNetwork[];
  ledger: LedgerView;
  /** This installation's routes in the table; checked only with `converged`. */
  routes?: OwnedRoute[];
  /** Clouds without a route mark (AWS): the table's routes inside the pool; checked like `routes`. */
  poolRoutes?: { destination: string; nexthop: string }[];
}

export interface AllocationCheckOptions {
  converged?: boolean;
  /**
   * Hosts whose pinned spec.podCIDR another host holds (a person's mistake, or a pin that lost
   * the race against an allocation) must not get a block: converged, they hold none, say
   * CIDRAllocated=False/CIDRInUse and have no route, and they are not counted as unsettled.
   */
  pinConflictsExpected?: boolean;
}

/** A host whose spec pins a block that another host holds in its status. */
export function pinConflicts(hosts: HostNetwork[]): Map<string, string> {
  const holders = hosts.filter((h) => h.status?.podCIDR);
  const out = new Map<string, string>();
  for (const h of hosts) {
    const pin = h.spec.podCIDR;
    if (!pin || h.status?.podCIDR === pin) continue;
    const holder = holders.find((o) => o.metadata.name !== h.metadata.name && cidrsOverlap(o.status!.podCIDR!, pin));
    if (holder) out.set(h.metadata.name, holder.metadata.name);
  }
  return out;
}

/**
 * Every violation of the allocation invariant in one view of the cluster (pure): blocks held
 * twice in status or in the ledger, status that the ledger does not back, and, converged,
 * unallocated hosts, leaked ledger records and owned routes that do not match the blocks.
 */
export function allocationProblems(view: AllocationView, opts: AllocationCheckOptions = {}): string[] {
  const { hosts, ledger } = view;
  const problems: string[] = [];

  // 1. status blocks pairwise disjoint
  const withBlock = hosts.filter((h) => h.status?.podCIDR);
  const sorted = withBlock.map((h) => ({ name: h.metadata.name, block: h.status!.podCIDR!, p: parseCidr(h.status!.podCIDR!) })).sort((a, b) => a.p.base - b.p.base);
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1]!;
    const b = sorted[i]!;
    if (b.p.base < a.p.base + a.p.size) problems.push(`status blocks overlap: ${a.name} ${a.block} and ${b.name} ${b.block}`);
  }

  // 2. ledger: no block twice, no owner twice
  const owners = new Map<string, string[]>();
  for (const [block, owner] of ledger.records) owners.set(owner, [...(owners.get(owner) ?? []), block]);
  for (const [owner, blocks] of owners) if (blocks.length > 1) problems.push(`ledger gives ${owner} several blocks: ${blocks.join(', ')}`);
  const lsorted = [...ledger.records.keys()].map((b) => ({ b, p: parseCidr(b) })).sort((x, y) => x.p.base - y.p.base);
  for (let i = 1; i < lsorted.length; i++) {
    const a = lsorted[i - 1]!;
    const b = lsorted[i]!;
    if (b.p.base < a.p.base + a.p.size) problems.push(`ledger blocks overlap: ${a.b} (${ledger.records.get(a.b)}) and ${b.b} (${ledger.records.get(b.b)})`);
  }

  // 3. status agrees with the ledger
  for (const h of withBlock) {
    const rec = ledger.records.get(h.status!.podCIDR!);
    if (rec !== h.metadata.name) problems.push(`${h.metadata.name} has status.podCIDR ${h.status!.podCIDR} but the ledger records ${rec === undefined ? 'nothing' : rec} for that block`);
  }

  if (opts.converged) {
    const conflicts = opts.pinConflictsExpected ? pinConflicts(hosts) : new Map<string, string>();
    for (const h of hosts) {
      const holder = conflicts.get(h.metadata.name);
      if (holder === undefined) {
        if (!h.status?.podCIDR) problems.push(`${h.metadata.name} has no status.podCIDR`);
        continue;
      }
      const c = cond(h, 'CIDRAllocated');
      if (c?.status !== 'False' || c.reason !== 'CIDRInUse') {
        problems.push(`${h.metadata.name} pins ${h.spec.podCIDR}, held by ${holder}, but says CIDRAllocated=${c?.status}/${c?.reason} (want False/CIDRInUse)`);
      }
    }
    const names = new Set(hosts.map((h) => h.metadata.name));
    for (const [block, owner] of ledger.records) if (!names.has(owner)) problems.push(`ledger entry ${block} → ${owner}: no such HostNetwork (leaked block)`);
    if (ledger.records.size !== withBlock.length) problems.push(`ledger has ${ledger.records.size} entries, ${withBlock.length} HostNetworks hold a block`);
    if (view.routes) {
      const byDest = new Map<string, OwnedRoute[]>();
      for (const r of view.routes) byDest.set(r.destination, [...(byDest.get(r.destination) ?? []), r]);
      for (const h of withBlock) {
        const rs = byDest.get(h.status!.podCIDR!) ?? [];
        if (rs.length !== 1) problems.push(`${h.metadata.name} ${h.status!.podCIDR}: ${rs.length} owned routes`);
        else if (rs[0]!.nexthop !== h.spec.instanceID || rs[0]!.owner !== h.metadata.name) {
          problems.push(`${h.metadata.name} ${h.status!.podCIDR}: route goes to ${rs[0]!.nexthop} marked ${rs[0]!.owner}, want ${h.spec.instanceID}`);
        }
        byDest.delete(h.status!.podCIDR!);
      }
      for (const [dest, rs] of byDest) problems.push(`owned route ${dest} (${rs.map((r) => r.owner).join(',')}) belongs to no HostNetwork's block`);
    }
    if (view.poolRoutes) {
      const byDest = new Map<string, string[]>();
      for (const r of view.poolRoutes) byDest.set(r.destination, [...(byDest.get(r.destination) ?? []), r.nexthop]);
      for (const h of withBlock) {
        const hops = byDest.get(h.status!.podCIDR!) ?? [];
        if (hops.length !== 1) problems.push(`${h.metadata.name} ${h.status!.podCIDR}: ${hops.length} routes in the pool`);
        else if (hops[0] !== h.spec.instanceID) problems.push(`${h.metadata.name} ${h.status!.podCIDR}: route goes to ${hops[0]}, want ${h.spec.instanceID}`);
        byDest.delete(h.status!.podCIDR!);
      }
      for (const [dest, hops] of byDest) problems.push(`route ${dest} (to ${hops.join(',')}) in the pool belongs to no HostNetwork's block`);
    }
  }
  return problems;
}

/** Throws one AssertionError listing every violation found. */
export async function checkInvariant(kc: KubeConfig, opts: InvariantOptions = {}): Promise<InvariantReport> {
  const hosts = await listHn(kc);
  const ledger = await readLedger(kc, opts.installationId ?? 'default');
  const routes = !opts.converged ? undefined : (opts.routes ?? (opts.emulator ? ownedRoutes(opts.emulator, opts.installationId ?? 'default', opts.tableId ?? SEED.routeTableId) : undefined));
  const poolRoutes = opts.converged ? opts.poolRoutes : undefined;
  const problems = allocationProblems({ hosts, ledger, ...(routes ? { routes } : {}), ...(poolRoutes ? { poolRoutes } : {}) }, { converged: opts.converged ?? false });
  assert.deepEqual(problems, [], `allocation invariant violated (${problems.length}):\n  ${problems.slice(0, 30).join('\n  ')}`);
  const withBlock = hosts.filter((h) => h.status?.podCIDR).length;
  const routeCount = routes?.length ?? poolRoutes?.length;
  return { hosts: hosts.length, withBlock, ledgerEntries: ledger.records.size, ...(routeCount !== undefined ? { ownedRoutes: routeCount } : {}) };
}

export interface RouteRecord {
  destination: string;
  type: string;
  nexthop: string | null;
  description: string | null;
}

/**
 * Routes someone else put in the table (a snapshot taken when they were added) against the
 * table now: each must still be there, unchanged (pure).
 */
export function foreignRouteProblems(foreign: Iterable<RouteRecord>, table: RouteRecord[]): string[] {
  const now = new Map(table.map((r) => [r.destination, r]));
  const problems: string[] = [];
  for (const want of foreign) {
    const got = now.get(want.destination);
    if (!got) problems.push(`foreign route ${want.destination} → ${want.nexthop} (${want.description ?? 'no description'}) was deleted`);
    else if (got.type !== want.type || got.nexthop !== want.nexthop || (got.description ?? '') !== (want.description ?? '')) {
      problems.push(`foreign route ${want.destination} was modified: was ${JSON.stringify(want)}, now ${JSON.stringify(got)}`);
    }
  }
  return problems;
}

/**
 * Owned routes whose host is gone (pure). A HostNetwork keeps its finalizer until its routes are
 * deleted, so once the object is gone (`gone`: name → when it was first seen gone) no route of
 * it may be left. `tolerated` names owners whose routes may lag (routes planted behind the
 * controller's back for hosts that never existed: only a full sync can find those).
 */
export function leftoverRouteProblems(routes: OwnedRoute[], live: ReadonlySet<string>, gone: ReadonlyMap<string, number>, tolerated: ReadonlySet<string> = new Set()): string[] {
  const problems: string[] = [];
  for (const r of routes) {
    if (live.has(r.owner) || tolerated.has(r.owner)) continue;
    const since = gone.get(r.owner);
    if (since === undefined) problems.push(`owned route ${r.destination} → ${r.nexthop} marked for ${r.owner}, a host that never existed`);
    else problems.push(`owned route ${r.destination} → ${r.nexthop} left for ${r.owner}, whose HostNetwork is gone (seen gone at ${new Date(since).toISOString()})`);
  }
  return problems;
}

/** The emulator's write operations (everything that changes its state). */
export const CLOUD_WRITES: ReadonlySet<string> = new Set(['UpdateRouteTable', 'UpdatePort', 'NeutronUpdatePort', 'CreateSecurityGroupRule', 'NeutronCreateSecurityGroupRule']);

/**
 * No two writers at once (pure): each replica process signs with an AK of its own, so the cloud
 * writes of one AK span [first arrival, last arrival]; two such spans overlapping means a replica
 * wrote while another one already led (or still did). Calls are compared by arrival time.
 */
export function concurrentWriterProblems(calls: readonly CallRecord[], nameOf: (ak: string) => string = (ak) => ak): string[] {
  const spans = new Map<string, { first: CallRecord; last: CallRecord }>();
  for (const c of calls) {
    if (!c.ak || !CLOUD_WRITES.has(c.operation)) continue;
    const s = spans.get(c.ak);
    if (!s) spans.set(c.ak, { first: c, last: c });
    else {
      if (c.time < s.first.time) s.first = c;
      if (c.time >= s.last.time) s.last = c;
    }
  }
  const list = [...spans.entries()].sort((a, b) => (a[1].first.time < b[1].first.time ? -1 : 1));
  const problems: string[] = [];
  for (let i = 1; i < list.length; i++) {
    const [akB, b] = list[i]!;
    for (let j = 0; j < i; j++) {
      const [akA, a] = list[j]!;
      if (a.last.time > b.first.time) {
        problems.push(
          `${nameOf(akA)} wrote (${a.last.operation} at ${a.last.time}, call #${a.last.seq}) after ${nameOf(akB)} had begun writing (${b.first.operation} at ${b.first.time}, call #${b.first.seq})`,
        );
      }
    }
  }
  return problems;
}

/** Parsed JSON log lines of a controller process. */
export function logLines(ctl: ControllerProcess): { level?: string; message?: string; timestamp?: string; [k: string]: unknown }[] {
  const out = [];
  for (const line of ctl.logs().split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as { level?: string; message?: string; timestamp?: string });
    } catch {
      // a partial line
    }
  }
  return out;
}

/** hostnet_leader of a replica; 0 when it does not answer (dead or exiting). */
export async function leaderGauge(ctl: ControllerProcess): Promise<number> {
  if (ctl.proc.exitCode !== null || ctl.proc.signalCode !== null) return 0;
  return (await ctl.metric('hostnet_leader').catch(() => 0)) ?? 0;
}

/** On a failed test: the tail of each controller's log, to see what it was doing. */
export function dumpLogs(ctls: (ControllerProcess | undefined)[], chars = 4000): void {
  for (const [i, c] of ctls.entries()) {
    if (!c) continue;
    const file = join(tmpdir(), `hostnet-controller-${process.pid}-${Date.now()}-${i}.log`);
    writeFileSync(file, c.logs());
    console.log(`--- controller #${i} (pid ${c.proc.pid}) log tail; whole log in ${file} ---\n${c.logs().slice(-chars)}`);
  }
}
