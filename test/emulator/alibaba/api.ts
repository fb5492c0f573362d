// The RPC actions the emulator serves, as the VPC (2016-04-28) and ECS (2014-05-26) APIs name
// them: each takes the decoded query parameters (lists flattened as `RouteEntries.N.Field`) and
// returns the response body in the API's PascalCase shape.

import { AliErrors } from './errors.js';
import { MAX_BATCH, type AliState, type CreateEntryInput, type DeleteEntryInput } from './state.js';
import type { Permission, RouteEntry } from './types.js';

export const VPC_VERSION = '2016-04-28';
export const ECS_VERSION = '2014-05-26';

export class Params {
  constructor(private readonly map: ReadonlyMap<string, string>) {}

  get(name: string): string | undefined {
    return this.map.get(name);
  }

  required(name: string): string {
    const v = this.map.get(name);
    if (v === undefined || v === '') throw AliErrors.missing(name);
    return v;
  }

  int(name: string, min: number, max: number): number | undefined {
    const v = this.map.get(name);
    if (v === undefined || v === '') return undefined;
    if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) throw AliErrors.invalid(name, `must be an integer ${min}-${max}`);
    return Number(v);
  }

  /** A flattened list `prefix.N.field` as objects (N from 1, contiguous, at most `max`). */
  list(prefix: string, max: number): Record<string, string>[] {
    const byIndex = new Map<number, Record<string, string>>();
    for (const [k, v] of this.map) {
      const m = new RegExp(`^${prefix.replace('.', '\\.')}\\.(\\d+)\\.(\\w+)$`).exec(k);
      if (!m) continue;
      const n = Number(m[1]);
      if (n < 1 || n > 1000) throw AliErrors.invalid(`${prefix}.${m[1]}`, 'bad index');
      byIndex.set(n, { ...(byIndex.get(n) ?? {}), [m[2]!]: v });
    }
    if (byIndex.size > max) throw AliErrors.tooMany(prefix, max);
    const out: Record<string, string>[] = [];
    for (let n = 1; n <= byIndex.size; n++) {
      const item = byIndex.get(n);
      if (!item) throw AliErrors.invalid(`${prefix}.${n}`, 'list indexes must start at 1 and be contiguous');
      out.push(item);
    }
    return out;
  }
}

export interface ActionContext {
  state: AliState;
  params: Params;
  requestId: string;
}

export interface Action {
  name: string;
  version: string;
  /** Reads use the read bucket of the per-AK throttle, everything else the write bucket. */
  write: boolean;
  run(ctx: ActionContext): Record<string, unknown>;
}

function checkRegion(ctx: ActionContext): void {
  const region = ctx.params.required('RegionId');
  if (region !== ctx.state.regionId) throw AliErrors.regionNotFound(region);
}

function entryView(e: RouteEntry): Record<string, unknown> {
  return {
    RouteEntryId: e.id,
    RouteTableId: e.tableId,
    DestinationCidrBlock: e.destination,
    Type: e.type,
    Status: e.status,
    RouteEntryName: e.name,
    Description: e.description,
    IpVersion: 'ipv4',
    GmtModified: e.gmtModified,
    Origin: e.type === 'System' ? 'SystemRoute' : 'CustomRoute',
    NextHops: { NextHop: [{ NextHopType: e.nextHopType, NextHopId: e.nextHopId, Enabled: 1, Weight: 0 }] },
  };
}

/** Page of a list by PageNumber/PageSize (the older paging of DescribeRouteTableList etc.). */
function page<T>(ctx: ActionContext, items: T[], maxSize: number): { items: T[]; PageNumber: number; PageSize: number; TotalCount: number } {
  const pageNumber = ctx.params.int('PageNumber', 1, 1_000_000) ?? 1;
  const pageSize = ctx.params.int('PageSize', 1, maxSize) ?? 10;
  return { items: items.slice((pageNumber - 1) * pageSize, pageNumber * pageSize), PageNumber: pageNumber, PageSize: pageSize, TotalCount: items.length };
}

/** NextToken is opaque to clients: here the base64url of the id of the next entry to return. */
function encodeToken(id: string): string {
  return Buffer.from(id, 'utf8').toString('base64url');
}

const describeRouteEntryList: Action = {
  name: 'DescribeRouteEntryList',
  version: VPC_VERSION,
  write: false,
  run(ctx) {
    checkRegion(ctx);
    const p = ctx.params;
    const tableId = p.required('RouteTableId');
    // MaxResult 20-100, default 50 (docs).
    const max = p.int('MaxResult', 20, 100) ?? 50;
    const type = p.get('RouteEntryType');
    if (type !== undefined && !['System', 'Custom', 'BGP'].includes(type)) throw AliErrors.invalid('RouteEntryType', 'System, Custom or BGP');
    const filters: [string | undefined, (e: RouteEntry) => string][] = [
      [type, (e) => e.type],
      [p.get('DestinationCidrBlock'), (e) => e.destination],
      [p.get('RouteEntryName'), (e) => e.name],
      [p.get('RouteEntryId'), (e) => e.id],
      [p.get('NextHopId'), (e) => e.nextHopId],
      [p.get('NextHopType'), (e) => e.nextHopType],
    ];
    const all = ctx.state.tableEntries(tableId).filter((e) => filters.every(([want, of]) => want === undefined || want === '' || of(e) === want));
    let start = 0;
    const token = p.get('NextToken');
    if (token !== undefined && token !== '') {
      const id = Buffer.from(token, 'base64url').toString('utf8');
      start = all.findIndex((e) => e.id === id);
      // An entry deleted between pages makes its token stale: refused rather than guessed at.
      if (start < 0) throw AliErrors.invalid('NextToken', 'unknown or expired token');
    }
    const slice = all.slice(start, start + max);
    const next = all[start + max];
    return { RequestId: ctx.requestId, NextToken: next ? encodeToken(next.id) : '', RouteEntrys: { RouteEntry: slice.map(entryView) } };
  },
};

const createRouteEntries: Action = {
  name: 'CreateRouteEntries',
  version: VPC_VERSION,
  write: true,
  run(ctx) {
    checkRegion(ctx);
    const list: CreateEntryInput[] = ctx.params.list('RouteEntries', MAX_BATCH).map((r) => ({
      ...(r.RouteTableId !== undefined ? { routeTableId: r.RouteTableId } : {}),
      ...(r.DstCidrBlock !== undefined ? { dstCidrBlock: r.DstCidrBlock } : {}),
      ...(r.NextHop !== undefined ? { nextHop: r.NextHop } : {}),
      ...(r.NextHopType !== undefined ? { nextHopType: r.NextHopType } : {}),
      ...(r.Name !== undefined ? { name: r.Name } : {}),
      ...(r.Description !== undefined ? { description: r.Description } : {}),
    }));
    const { ids, failed } = ctx.state.createEntries(list);
    return { RequestId: ctx.requestId, SuccessCount: ids.length, FailedCount: failed.length, RouteEntryIds: ids, FailedRouteEntries: failed };
  },
};

const deleteRouteEntries: Action = {
  name: 'DeleteRouteEntries',
  version: VPC_VERSION,
  write: true,
  run(ctx) {
    checkRegion(ctx);
    const list: DeleteEntryInput[] = ctx.params.list('RouteEntries', MAX_BATCH).map((r) => ({
      ...(r.RouteEntryId !== undefined ? { routeEntryId: r.RouteEntryId } : {}),
      ...(r.RouteTableId !== undefined ? { routeTableId: r.RouteTableId } : {}),
      ...(r.DstCidrBlock !== undefined ? { dstCidrBlock: r.DstCidrBlock } : {}),
      ...(r.NextHop !== undefined ? { nextHop: r.NextHop } : {}),
    }));
    const { failed, deleted } = ctx.state.deleteEntries(list);
    return { RequestId: ctx.requestId, SuccessCount: deleted, FailedCount: failed.length, FailedRouteEntries: failed };
  },
};

const modifyRouteEntry: Action = {
  name: 'ModifyRouteEntry',
  version: VPC_VERSION,
  write: true,
  run(ctx) {
    checkRegion(ctx);
    const p = ctx.params;
    const pick = (name: string): string | undefined => p.get(name);
    ctx.state.modifyEntry({
      ...(pick('RouteEntryId') !== undefined ? { routeEntryId: pick('RouteEntryId')! } : {}),
      ...(pick('RouteTableId') !== undefined ? { routeTableId: pick('RouteTableId')! } : {}),
      ...(pick('DestinationCidrBlock') !== undefined ? { destinationCidrBlock: pick('DestinationCidrBlock')! } : {}),
      ...(pick('RouteEntryName') !== undefined ? { routeEntryName: pick('RouteEntryName')! } : {}),
      ...(pick('Description') !== undefined ? { description: pick('Description')! } : {}),
      ...(pick('NewNextHopId') !== undefined ? { newNextHopId: pick('NewNextHopId')! } : {}),
      ...(pick('NewNextHopType') !== undefined ? { newNextHopType: pick('NewNextHopType')! } : {}),
    });
    return { RequestId: ctx.requestId };
  },
};

const describeRouteTableList: Action = {
  name: 'DescribeRouteTableList',
  version: VPC_VERSION,
  write: false,
  run(ctx) {
    checkRegion(ctx);
    const vpcId = ctx.params.get('VpcId');
    const routeTableId = ctx.params.get('RouteTableId');
    const tables = ctx.state.listTables({ ...(vpcId ? { vpcId } : {}), ...(routeTableId ? { routeTableId } : {}) });
    const { items, ...paging } = page(ctx, tables, 50);
    return {
      RequestId: ctx.requestId,
      ...paging,
      RouterTableList: {
        RouterTableListType: items.map((t) => ({
          RouteTableId: t.id,
          RouteTableName: t.name,
          RouteTableType: t.type,
          VpcId: t.vpcId,
          RouterId: `vrt-${t.vpcId.replace(/^vpc-/, '')}`,
          RouterType: 'VRouter',
          Status: 'Available',
          VSwitchIds: { VSwitchId: t.vswitchIds },
        })),
      },
    };
  },
};

const describeVSwitches: Action = {
  name: 'DescribeVSwitches',
  version: VPC_VERSION,
  write: false,
  run(ctx) {
    checkRegion(ctx);
    const vpcId = ctx.params.get('VpcId');
    const vswitchId = ctx.params.get('VSwitchId');
    const { items, ...paging } = page(ctx, ctx.state.listVSwitches({ ...(vpcId ? { vpcId } : {}), ...(vswitchId ? { vswitchId } : {}) }), 50);
    return {
      RequestId: ctx.requestId,
      ...paging,
      VSwitches: { VSwitch: items.map((s) => ({ VSwitchId: s.id, VpcId: s.vpcId, CidrBlock: s.cidr, ZoneId: s.zoneId, VSwitchName: s.name, Status: 'Available' })) },
    };
  },
};

const describeInstances: Action = {
  name: 'DescribeInstances',
  version: ECS_VERSION,
  write: false,
  run(ctx) {
    checkRegion(ctx);
    const rawIds = ctx.params.get('InstanceIds');
    let ids: string[] | undefined;
    if (rawIds !== undefined && rawIds !== '') {
      // InstanceIds is a JSON array in a string, at most 100 ids (docs).
      try {
        const parsed: unknown = JSON.parse(rawIds);
        if (!Array.isArray(parsed) || !parsed.every((x) => typeof x === 'string')) throw new Error('not a list');
        ids = parsed as string[];
      } catch {
        throw AliErrors.invalid('InstanceIds', 'must be a JSON array of instance ids');
      }
      if (ids.length > 100) throw AliErrors.tooMany('InstanceIds', 100);
    }
    const vpcId = ctx.params.get('VpcId');
    const { items, ...paging } = page(ctx, ctx.state.listInstances({ ...(ids ? { ids } : {}), ...(vpcId ? { vpcId } : {}) }), 100);
    return {
      RequestId: ctx.requestId,
      ...paging,
      Instances: {
        Instance: items.map((i) => ({
          InstanceId: i.id,
          InstanceName: i.name,
          Status: 'Running',
          RegionId: ctx.state.regionId,
          VpcAttributes: { VpcId: i.vpcId, VSwitchId: i.vswitchId, PrivateIpAddress: { IpAddress: [i.ip] } },
        })),
      },
    };
  },
};

const PROTOCOLS = ['TCP', 'UDP', 'ICMP', 'GRE', 'ALL'];

/** One permission as AuthorizeSecurityGroup takes it, validated and normalised (docs' rules). */
function permission(raw: Record<string, string>, where: string): Omit<Permission, 'direction' | 'createTime'> {
  const protocol = (raw.IpProtocol ?? '').toUpperCase();
  if (!PROTOCOLS.includes(protocol)) throw AliErrors.invalid(`${where}IpProtocol`, `one of ${PROTOCOLS.join(', ')}`);
  const range = raw.PortRange ?? '';
  const m = /^(-?\d+)\/(-?\d+)$/.exec(range);
  if (!m) throw AliErrors.invalid(`${where}PortRange`, 'start/end, e.g. 22/22 or -1/-1');
  const [lo, hi] = [Number(m[1]), Number(m[2])];
  if (protocol === 'TCP' || protocol === 'UDP') {
    if (lo < 1 || hi > 65535 || lo > hi) throw AliErrors.invalid(`${where}PortRange`, 'ports 1-65535, start <= end');
  } else if (lo !== -1 || hi !== -1) {
    throw AliErrors.invalid(`${where}PortRange`, `${protocol} takes -1/-1`);
  }
  const source = raw.SourceCidrIp ?? '';
  if (source === '') throw AliErrors.missing(`${where}SourceCidrIp`);
  const policy = (raw.Policy ?? 'accept').toLowerCase();
  if (policy !== 'accept' && policy !== 'drop') throw AliErrors.invalid(`${where}Policy`, 'accept or drop');
  const priority = raw.Priority ?? '1';
  if (!/^\d+$/.test(priority) || Number(priority) < 1 || Number(priority) > 100) throw AliErrors.invalid(`${where}Priority`, '1-100');
  return { ipProtocol: protocol, portRange: range, sourceCidrIp: source, policy, priority, description: raw.Description ?? '' };
}

const authorizeSecurityGroup: Action = {
  name: 'AuthorizeSecurityGroup',
  version: ECS_VERSION,
  write: true,
  run(ctx) {
    checkRegion(ctx);
    const groupId = ctx.params.required('SecurityGroupId');
    const listed = ctx.params.list('Permissions', 100);
    const legacy: Record<string, string> = {};
    for (const k of ['IpProtocol', 'PortRange', 'SourceCidrIp', 'Policy', 'Priority', 'Description']) {
      const v = ctx.params.get(k);
      if (v !== undefined) legacy[k] = v;
    }
    const perms = listed.map((r, i) => permission(r, `Permissions.${i + 1}.`));
    if (Object.keys(legacy).length > 0) perms.push(permission(legacy, ''));
    if (perms.length === 0) throw AliErrors.missing('Permissions');
    ctx.state.authorize(groupId, perms);
    return { RequestId: ctx.requestId };
  },
};

const describeSecurityGroupAttribute: Action = {
  name: 'DescribeSecurityGroupAttribute',
  version: ECS_VERSION,
  write: false,
  run(ctx) {
    checkRegion(ctx);
    const groupId = ctx.params.required('SecurityGroupId');
    const g = ctx.state.securityGroup(groupId);
    return {
      RequestId: ctx.requestId,
      SecurityGroupId: g.id,
      SecurityGroupName: g.name,
      VpcId: g.vpcId,
      RegionId: ctx.state.regionId,
      Permissions: {
        Permission: ctx.state.groupPermissions(groupId).map((p) => ({
          IpProtocol: p.ipProtocol,
          PortRange: p.portRange,
          SourceCidrIp: p.sourceCidrIp,
          Policy: p.policy === 'accept' ? 'Accept' : 'Drop',
          Priority: p.priority,
          Direction: p.direction,
          Description: p.description,
          CreateTime: p.createTime,
        })),
      },
    };
  },
};

export const ACTIONS: readonly Action[] = [
  describeRouteEntryList,
  createRouteEntries,
  deleteRouteEntries,
  modifyRouteEntry,
  describeRouteTableList,
  describeVSwitches,
  describeInstances,
  authorizeSecurityGroup,
  describeSecurityGroupAttribute,
];

export function findAction(name: string | undefined, version: string | undefined): Action | undefined {
  return ACTIONS.find((a) => a.name === name && a.version === version);
}
