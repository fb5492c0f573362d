// The VPC model behind the emulated API: vSwitches, instances, route tables and their entries,
// security-group permissions. Entries are asynchronous as in the cloud: a write leaves them
// Pending / Modifying / Deleting until `entryDelayMs` has passed on the emulator's clock, and
// the VPC runs one route task at a time (a second batch meanwhile is a TaskConflict). Status is
// settled lazily from the clock, so a test that pins the clock controls the state machine.
// Rules are the API reference's (CreateRouteEntries "take note of the following items"); where
// the reference is silent the choice is marked "guess".

import { randomBytes } from 'node:crypto';
import { cidrContainsIp, cidrsOverlap, formatCidr, parseCidr, parseIpv4, type Cidr } from '../cidr.js';
import { AliError, AliErrors } from './errors.js';
import type { AliStateInit, AliStateSnapshot, EntryInit, InstanceInit, Permission, RouteEntry, RouteTableInit, VSwitchInit } from './types.js';

/** 100.64.0.0/10: reserved for cloud services; no custom entry may point into it (docs). */
export const RESERVED_CIDR: Cidr = parseCidr('100.64.0.0/10')!;
export const MAX_BATCH = 50;

export interface CreateEntryInput {
  routeTableId?: string;
  dstCidrBlock?: string;
  nextHop?: string;
  nextHopType?: string;
  name?: string;
  description?: string;
}

export interface FailedEntry {
  DstCidrBlock: string;
  NextHop: string;
  FailedCode: string;
  FailedMessage: string;
}

export interface DeleteEntryInput {
  routeEntryId?: string;
  routeTableId?: string;
  dstCidrBlock?: string;
  nextHop?: string;
}

export interface ModifyInput {
  routeEntryId?: string;
  routeTableId?: string;
  destinationCidrBlock?: string;
  routeEntryName?: string;
  description?: string;
  newNextHopId?: string;
  newNextHopType?: string;
}

function clone<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

function newId(prefix: string): string {
  return `${prefix}-${randomBytes(10).toString('hex').slice(0, 20)}`;
}

/**
 * A destination as the API takes it: a CIDR, or a bare IPv4 address (read as /32, docs). The
 * host bits must be zero (guess: the reference does not say what 10.0.0.1/24 gets; refusing it
 * is the strict choice).
 */
export function parseDestination(text: string): Cidr | undefined {
  if (parseIpv4(text) !== undefined) return parseCidr(`${text}/32`);
  return parseCidr(text, true);
}

/** Name/Description rules of the API reference: 1-128 characters, not starting with http:// or https://. */
function checkText(field: string, value: string | undefined, max: number): void {
  if (value === undefined || value === '') return;
  if (value.length > max) throw AliErrors.invalid(field, `longer than ${max} characters`);
  if (/^https?:\/\//.test(value)) throw AliErrors.invalid(field, 'must not start with http:// or https://');
}

export class AliState {
  regionId = '';
  private accounts = new Map<string, { secret: string; disabled: boolean; deny: Set<string>; securityToken?: string }>();
  private vpcs = new Map<string, { id: string; name: string; cidr: string }>();
  private vswitches = new Map<string, Required<VSwitchInit>>();
  private instances = new Map<string, Required<InstanceInit> & { vpcId: string }>();
  private tables = new Map<string, Required<Omit<RouteTableInit, 'entries'>>>();
  private securityGroups = new Map<string, { id: string; vpcId: string; name: string }>();
  private entries = new Map<string, RouteEntry>();
  private permissions = new Map<string, Permission[]>();
  /** Per VPC: the clock (ms) until which a route task is running. */
  private busyUntil = new Map<string, number>();
  quota = 200;

  constructor(
    private readonly init: AliStateInit,
    private readonly nowMs: () => number,
    /** How long an entry stays Pending/Modifying/Deleting, and the VPC busy, after a write. */
    public entryDelayMs: number,
  ) {
    this.load(init);
  }

  reset(): void {
    this.load(this.init);
  }

  private load(init: AliStateInit): void {
    this.regionId = init.regionId;
    this.accounts = new Map(init.accounts.map((a) => [a.accessKeyId, { secret: a.accessKeySecret, disabled: a.disabled ?? false, deny: new Set(a.deny ?? []), ...(a.securityToken !== undefined ? { securityToken: a.securityToken } : {}) }]));
    this.vpcs = new Map();
    for (const v of init.vpcs) {
      if (!parseCidr(v.cidr)) throw new Error(`VPC ${v.id}: bad CIDR ${v.cidr}`);
      this.vpcs.set(v.id, { id: v.id, name: v.name ?? v.id, cidr: v.cidr });
    }
    this.vswitches = new Map();
    for (const s of init.vswitches) {
      const vpc = this.vpcs.get(s.vpcId);
      const cidr = parseCidr(s.cidr);
      if (!vpc) throw new Error(`vSwitch ${s.id}: unknown VPC ${s.vpcId}`);
      if (!cidr || !cidrsOverlap(parseCidr(vpc.cidr)!, cidr)) throw new Error(`vSwitch ${s.id}: CIDR ${s.cidr} not inside VPC ${vpc.id}`);
      this.vswitches.set(s.id, { id: s.id, vpcId: s.vpcId, cidr: s.cidr, zoneId: s.zoneId ?? `${init.regionId}a`, name: s.name ?? s.id });
    }
    this.instances = new Map();
    for (const i of init.instances) this.addInstance(i);
    this.tables = new Map();
    this.entries = new Map();
    for (const t of init.routeTables) {
      if (!this.vpcs.has(t.vpcId)) throw new Error(`route table ${t.id}: unknown VPC ${t.vpcId}`);
      this.tables.set(t.id, { id: t.id, vpcId: t.vpcId, name: t.name ?? t.id, type: t.type ?? 'Custom' });
    }
    this.securityGroups = new Map((init.securityGroups ?? []).map((g) => [g.id, { id: g.id, vpcId: g.vpcId, name: g.name ?? g.id }]));
    this.permissions = new Map();
    this.busyUntil = new Map();
    this.quota = init.customEntriesPerTable ?? 200;
    for (const t of init.routeTables) for (const e of t.entries ?? []) this.adminAddEntry(t.id, e, false);
  }

  // ---------------------------------------------------------------- accounts

  account(accessKeyId: string): { secret: string; disabled: boolean; deny: ReadonlySet<string>; securityToken?: string } | undefined {
    return this.accounts.get(accessKeyId);
  }

  setAccountDisabled(accessKeyId: string, disabled: boolean): void {
    const a = this.accounts.get(accessKeyId);
    if (!a) throw AliErrors.accessKeyNotFound();
    a.disabled = disabled;
  }

  // ---------------------------------------------------------------- clock

  private now(): number {
    return this.nowMs();
  }

  /** Applies every transition whose time has come (Pending → Available, Deleting → gone). */
  settle(): void {
    const now = this.now();
    for (const [id, e] of this.entries) {
      if (e.status === 'Available' || e.settlesAt > now) continue;
      if (e.status === 'Deleting') this.entries.delete(id);
      else e.status = 'Available';
    }
  }

  private vpcBusy(vpcId: string): boolean {
    return (this.busyUntil.get(vpcId) ?? 0) > this.now();
  }

  private startTask(vpcId: string): number {
    const until = this.now() + this.entryDelayMs;
    if (this.entryDelayMs > 0) this.busyUntil.set(vpcId, Math.max(until, this.busyUntil.get(vpcId) ?? 0));
    return until;
  }

  // ---------------------------------------------------------------- topology

  addInstance(i: InstanceInit): Required<InstanceInit> & { vpcId: string } {
    const vsw = this.vswitches.get(i.vswitchId);
    if (!vsw) throw AliErrors.invalid('VSwitchId', `vSwitch ${i.vswitchId} does not exist`);
    const ip = parseIpv4(i.ip);
    if (ip === undefined || !cidrContainsIp(parseCidr(vsw.cidr)!, ip)) throw AliErrors.invalid('PrivateIpAddress', `${i.ip} is not in vSwitch ${vsw.id} (${vsw.cidr})`);
    if (this.instances.has(i.id)) throw AliErrors.invalid('InstanceId', `${i.id} exists`);
    const inst = { id: i.id, vswitchId: i.vswitchId, ip: i.ip, name: i.name ?? i.id, vpcId: vsw.vpcId };
    this.instances.set(i.id, inst);
    return inst;
  }

  /** Releases an instance; entries pointing at it stay (as in the cloud, guess). */
  removeInstance(id: string): void {
    if (!this.instances.delete(id)) throw new AliError(404, 'InvalidInstanceId.NotFound', `The specified instance ${id} does not exist.`);
  }

  listVSwitches(filter: { vpcId?: string; vswitchId?: string }): Required<VSwitchInit>[] {
    return [...this.vswitches.values()].filter((s) => (filter.vpcId === undefined || s.vpcId === filter.vpcId) && (filter.vswitchId === undefined || s.id === filter.vswitchId));
  }

  listInstances(filter: { ids?: string[]; vpcId?: string }): (Required<InstanceInit> & { vpcId: string })[] {
    return [...this.instances.values()].filter((i) => (filter.ids === undefined || filter.ids.includes(i.id)) && (filter.vpcId === undefined || i.vpcId === filter.vpcId));
  }

  listTables(filter: { vpcId?: string; routeTableId?: string }): (Required<Omit<RouteTableInit, 'entries'>> & { vswitchIds: string[] })[] {
    return [...this.tables.values()]
      .filter((t) => (filter.vpcId === undefined || t.vpcId === filter.vpcId) && (filter.routeTableId === undefined || t.id === filter.routeTableId))
      .map((t) => ({ ...t, vswitchIds: t.type === 'System' ? this.listVSwitches({ vpcId: t.vpcId }).map((s) => s.id) : [] }));
  }

  // ---------------------------------------------------------------- entries

  private table(id: string): Required<Omit<RouteTableInit, 'entries'>> {
    const t = this.tables.get(id);
    if (!t) throw AliErrors.tableNotFound(id);
    return t;
  }

  /** The system entries a table shows: one per vSwitch of its VPC, and the cloud-service range. */
  private systemEntries(tableId: string): RouteEntry[] {
    const t = this.table(tableId);
    const stamp = '2026-01-01T00:00:00Z'; // system entries exist from the VPC's creation
    const system = (destination: string, nextHopType: string, idPart: string): RouteEntry => ({
      id: `rte-system-${idPart}`,
      tableId,
      destination,
      type: 'System',
      nextHopType,
      nextHopId: '',
      name: '',
      description: '',
      status: 'Available',
      settlesAt: 0,
      gmtModified: stamp,
    });
    return [...this.listVSwitches({ vpcId: t.vpcId }).map((s) => system(s.cidr, 'local', s.id)), system(formatCidr(RESERVED_CIDR), 'service', 'cloud-service')];
  }

  /** Every entry of a table, system ones first, custom ones in creation order. */
  tableEntries(tableId: string): RouteEntry[] {
    this.settle();
    return [...this.systemEntries(tableId), ...[...this.entries.values()].filter((e) => e.tableId === tableId)];
  }

  customCount(tableId: string): number {
    return [...this.entries.values()].filter((e) => e.tableId === tableId).length;
  }

  /** The reason a new custom entry would be refused, or undefined. `pending` are destinations accepted earlier in the same batch. */
  private entryError(tableId: string, destination: string, nextHop: string, nextHopType: string, pending: Map<string, Cidr[]>, force: boolean): AliError | undefined {
    const t = this.tables.get(tableId);
    if (!t) return AliErrors.tableNotFound(tableId);
    const cidr = parseDestination(destination);
    if (!cidr) return AliErrors.cidrMalformed(destination);
    if (force) return undefined;
    if (cidrsOverlap(cidr, RESERVED_CIDR)) return AliErrors.reservedCidr(destination);
    for (const s of this.listVSwitches({ vpcId: t.vpcId })) if (cidrsOverlap(cidr, parseCidr(s.cidr)!)) return AliErrors.overlapsVSwitch(destination, s.id);
    const canonical = formatCidr(cidr);
    const taken = [...this.entries.values()].some((e) => e.tableId === tableId && e.destination === canonical);
    if (taken || (pending.get(tableId) ?? []).some((c) => formatCidr(c) === canonical)) return AliErrors.duplicate(canonical);
    if (nextHopType !== 'Instance') return AliErrors.nextHopType(nextHopType);
    const inst = this.instances.get(nextHop);
    if (!inst || inst.vpcId !== t.vpcId) return AliErrors.nextHopNotFound(nextHop);
    if (this.customCount(tableId) + (pending.get(tableId)?.length ?? 0) >= this.quota) return AliErrors.quota(this.quota);
    return undefined;
  }

  /**
   * CreateRouteEntries. Request-level problems (more than 50 entries, a VPC already running a
   * task) fail the call; entry-level ones are reported per entry in FailedRouteEntries while the
   * others are created (docs: the response's FailedRouteEntries/SuccessCount; which checks are
   * per entry is our guess). Only a batch that created something starts a task (guess).
   */
  createEntries(list: CreateEntryInput[]): { ids: string[]; failed: FailedEntry[] } {
    this.settle();
    if (list.length === 0) throw AliErrors.missing('RouteEntries');
    if (list.length > MAX_BATCH) throw AliErrors.tooMany('RouteEntries', MAX_BATCH);
    for (const [i, e] of list.entries()) {
      if (!e.routeTableId) throw AliErrors.missing(`RouteEntries.${i + 1}.RouteTableId`);
      if (!e.dstCidrBlock) throw AliErrors.missing(`RouteEntries.${i + 1}.DstCidrBlock`);
      if (!e.nextHop) throw AliErrors.missing(`RouteEntries.${i + 1}.NextHop`);
      if (!e.nextHopType) throw AliErrors.missing(`RouteEntries.${i + 1}.NextHopType`);
      checkText(`RouteEntries.${i + 1}.Name`, e.name, 128);
      checkText(`RouteEntries.${i + 1}.Description`, e.description, 256);
    }
    const vpcIds = new Set(list.map((e) => this.tables.get(e.routeTableId!)?.vpcId).filter((v): v is string => v !== undefined));
    for (const vpcId of vpcIds) if (this.vpcBusy(vpcId)) throw AliErrors.taskConflict();
    const accepted = new Map<string, Cidr[]>();
    const failed: FailedEntry[] = [];
    const toCreate: { e: CreateEntryInput; cidr: Cidr }[] = [];
    for (const e of list) {
      const err = this.entryError(e.routeTableId!, e.dstCidrBlock!, e.nextHop!, e.nextHopType!, accepted, false);
      if (err) {
        failed.push({ DstCidrBlock: e.dstCidrBlock!, NextHop: e.nextHop!, FailedCode: err.code, FailedMessage: err.message });
        continue;
      }
      const cidr = parseDestination(e.dstCidrBlock!)!;
      accepted.set(e.routeTableId!, [...(accepted.get(e.routeTableId!) ?? []), cidr]);
      toCreate.push({ e, cidr });
    }
    const until = new Map<string, number>();
    for (const vpcId of new Set(toCreate.map(({ e }) => this.tables.get(e.routeTableId!)!.vpcId))) until.set(vpcId, this.startTask(vpcId));
    const ids = toCreate.map(({ e, cidr }) => {
      const entry = this.insert(e.routeTableId!, formatCidr(cidr), e.nextHop!, e.name ?? '', e.description ?? '');
      entry.status = this.entryDelayMs > 0 ? 'Pending' : 'Available';
      entry.settlesAt = until.get(this.tables.get(e.routeTableId!)!.vpcId)!;
      return entry.id;
    });
    return { ids, failed };
  }

  private insert(tableId: string, destination: string, nextHop: string, name: string, description: string): RouteEntry {
    const entry: RouteEntry = {
      id: newId('rte'),
      tableId,
      destination,
      type: 'Custom',
      nextHopType: 'Instance',
      nextHopId: nextHop,
      name,
      description,
      status: 'Available',
      settlesAt: 0,
      gmtModified: new Date(this.now()).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    };
    this.entries.set(entry.id, entry);
    return entry;
  }

  private findEntry(ref: { routeEntryId?: string; routeTableId?: string; destination?: string; nextHop?: string }): RouteEntry | undefined {
    if (ref.routeEntryId) return this.entries.get(ref.routeEntryId);
    const cidr = ref.destination !== undefined ? parseDestination(ref.destination) : undefined;
    if (!ref.routeTableId || !cidr) return undefined;
    const canonical = formatCidr(cidr);
    return [...this.entries.values()].find((e) => e.tableId === ref.routeTableId && e.destination === canonical && (ref.nextHop === undefined || e.nextHopId === ref.nextHop));
  }

  private isSystemDestination(tableId: string | undefined, destination: string | undefined): boolean {
    if (!tableId || destination === undefined || !this.tables.has(tableId)) return false;
    return this.systemEntries(tableId).some((e) => e.destination === destination);
  }

  /**
   * DeleteRouteEntries: by RouteEntryId, or RouteTableId + DstCidrBlock (+ NextHop). Only an
   * Available entry can be deleted (docs); the rest is reported per entry (guess, mirroring
   * CreateRouteEntries).
   */
  deleteEntries(list: DeleteEntryInput[]): { failed: (FailedEntry & { RouteEntryId: string })[]; deleted: number } {
    this.settle();
    if (list.length === 0) throw AliErrors.missing('RouteEntries');
    if (list.length > MAX_BATCH) throw AliErrors.tooMany('RouteEntries', MAX_BATCH);
    for (const [i, d] of list.entries()) {
      if (!d.routeEntryId && !(d.routeTableId && d.dstCidrBlock)) throw AliErrors.missing(`RouteEntries.${i + 1}.RouteEntryId`);
    }
    const found = list.map((d) => this.findEntry({ ...d, ...(d.dstCidrBlock !== undefined ? { destination: d.dstCidrBlock } : {}) }));
    const vpcIds = new Set(found.filter((e): e is RouteEntry => e !== undefined).map((e) => this.tables.get(e.tableId)!.vpcId));
    for (const vpcId of vpcIds) if (this.vpcBusy(vpcId)) throw AliErrors.taskConflict();
    const failed: (FailedEntry & { RouteEntryId: string })[] = [];
    const doomed: RouteEntry[] = [];
    list.forEach((d, i) => {
      const e = found[i];
      const fail = (err: AliError): void => {
        failed.push({ RouteEntryId: d.routeEntryId ?? '', DstCidrBlock: d.dstCidrBlock ?? e?.destination ?? '', NextHop: d.nextHop ?? e?.nextHopId ?? '', FailedCode: err.code, FailedMessage: err.message });
      };
      if (!e) return fail(this.isSystemDestination(d.routeTableId, d.dstCidrBlock) ? AliErrors.systemEntry() : AliErrors.entryNotFound());
      if (e.status !== 'Available' || doomed.includes(e)) return fail(AliErrors.incorrectStatus(e.status));
      doomed.push(e);
    });
    const until = new Map<string, number>();
    for (const vpcId of new Set(doomed.map((e) => this.tables.get(e.tableId)!.vpcId))) until.set(vpcId, this.startTask(vpcId));
    for (const e of doomed) {
      if (this.entryDelayMs === 0) {
        this.entries.delete(e.id);
        continue;
      }
      e.status = 'Deleting';
      e.settlesAt = until.get(this.tables.get(e.tableId)!.vpcId)!;
    }
    return { failed, deleted: doomed.length };
  }

  /**
   * ModifyRouteEntry: name and description change at once; NewNextHopId changes the next hop in
   * place (docs) and is a route task: the entry is Modifying and the VPC busy for the delay
   * (guess: the reference documents the parameter, not its timing).
   */
  modifyEntry(m: ModifyInput): void {
    this.settle();
    if (!m.routeEntryId && !(m.routeTableId && m.destinationCidrBlock)) throw AliErrors.missing('RouteEntryId');
    checkText('RouteEntryName', m.routeEntryName, 128);
    checkText('Description', m.description, 256);
    const e = this.findEntry({ ...m, ...(m.destinationCidrBlock !== undefined ? { destination: m.destinationCidrBlock } : {}) });
    if (!e) throw this.isSystemDestination(m.routeTableId, m.destinationCidrBlock) ? AliErrors.systemEntry() : AliErrors.entryNotFound();
    const vpcId = this.tables.get(e.tableId)!.vpcId;
    const hopChange = m.newNextHopId !== undefined && m.newNextHopId !== '';
    if (hopChange && this.vpcBusy(vpcId)) throw AliErrors.taskConflict();
    if (e.status !== 'Available') throw AliErrors.incorrectStatus(e.status);
    if (hopChange) {
      const type = m.newNextHopType ?? 'Instance';
      if (type !== 'Instance') throw AliErrors.nextHopType(type);
      const inst = this.instances.get(m.newNextHopId!);
      if (!inst || inst.vpcId !== vpcId) throw AliErrors.nextHopNotFound(m.newNextHopId!);
    }
    if (m.routeEntryName !== undefined) e.name = m.routeEntryName;
    if (m.description !== undefined) e.description = m.description;
    if (hopChange) {
      e.nextHopId = m.newNextHopId!;
      e.nextHopType = 'Instance';
      e.settlesAt = this.startTask(vpcId);
      if (this.entryDelayMs > 0) e.status = 'Modifying';
    }
    e.gmtModified = new Date(this.now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }

  // ---------------------------------------------------------------- out-of-band edits

  /** A person's edit in the console: immediately Available, no task; `force` skips the rules. */
  adminAddEntry(tableId: string, e: EntryInit, force: boolean): RouteEntry {
    this.settle();
    const err = this.entryError(tableId, e.destination, e.nextHop, 'Instance', new Map(), force);
    if (err) throw err;
    return clone(this.insert(tableId, formatCidr(parseDestination(e.destination)!), e.nextHop, e.name ?? '', e.description ?? ''));
  }

  adminModifyEntry(tableId: string, destination: string, patch: { nextHop?: string; name?: string; description?: string }): RouteEntry {
    this.settle();
    const e = this.findEntry({ routeTableId: tableId, destination });
    if (!e) throw AliErrors.entryNotFound();
    if (patch.nextHop !== undefined) e.nextHopId = patch.nextHop;
    if (patch.name !== undefined) e.name = patch.name;
    if (patch.description !== undefined) e.description = patch.description;
    return clone(e);
  }

  adminDeleteEntry(tableId: string, destination: string): void {
    this.settle();
    const e = this.findEntry({ routeTableId: tableId, destination });
    if (!e) throw AliErrors.entryNotFound();
    this.entries.delete(e.id);
  }

  setQuota(n: number): void {
    if (!Number.isInteger(n) || n < 0) throw new RangeError('customEntriesPerTable must be a non-negative integer');
    this.quota = n;
  }

  setEntryDelay(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError('entryDelayMs must be a non-negative number');
    this.entryDelayMs = ms;
  }

  // ---------------------------------------------------------------- security groups

  securityGroup(id: string): { id: string; vpcId: string; name: string } {
    const g = this.securityGroups.get(id);
    if (!g) throw AliErrors.securityGroupNotFound(id);
    return g;
  }

  groupPermissions(id: string): Permission[] {
    this.securityGroup(id);
    return clone(this.permissions.get(id) ?? []);
  }

  /**
   * AuthorizeSecurityGroup: adds each permission unless an equal one (protocol, ports, source,
   * policy, priority) exists; a repeat is a success that changes nothing. Guess: the reference
   * describes the rule fields, not what a repeat returns; the idempotent answer is the one a
   * reconciler needs and what the console shows (one rule).
   */
  authorize(groupId: string, perms: Omit<Permission, 'direction' | 'createTime'>[]): number {
    this.securityGroup(groupId);
    const list = this.permissions.get(groupId) ?? [];
    let added = 0;
    for (const p of perms) {
      const same = list.some((q) => q.ipProtocol === p.ipProtocol && q.portRange === p.portRange && q.sourceCidrIp === p.sourceCidrIp && q.policy === p.policy && q.priority === p.priority);
      if (same) continue;
      list.push({ ...p, direction: 'ingress', createTime: new Date(this.now()).toISOString().replace(/\.\d{3}Z$/, 'Z') });
      added++;
    }
    this.permissions.set(groupId, list);
    return added;
  }

  // ---------------------------------------------------------------- snapshot

  snapshot(): AliStateSnapshot {
    this.settle();
    return {
      regionId: this.regionId,
      accounts: [...this.accounts].map(([accessKeyId, a]) => ({ accessKeyId, accessKeySecret: '(hidden)', disabled: a.disabled, deny: [...a.deny], ...(a.securityToken !== undefined ? { securityToken: '(hidden)' } : {}) })),
      vpcs: [...this.vpcs.values()],
      vswitches: [...this.vswitches.values()],
      instances: [...this.instances.values()].map(({ vpcId: _vpc, ...i }) => i),
      routeTables: [...this.tables.values()],
      securityGroups: [...this.securityGroups.values()],
      customEntriesPerTable: this.quota,
      entries: clone([...this.entries.values()]),
      permissions: Object.fromEntries([...this.permissions].map(([k, v]) => [k, clone(v)])),
    };
  }
}
