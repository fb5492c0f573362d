// Which route tables the provider programs, and what they hold, in a cloud-neutral shape.
//
// Tables are either configured by id, or every table of the VPC that carries the discovery tag:
// key DEFAULT_TABLE_TAG_KEY ("hostnet.io/routes") unless configured, and — when a value is
// given (phase B passes the installation id) — exactly that value, so two installations in one
// VPC can each tag their own tables. Route tables can be tagged; routes cannot (no description,
// no tags), so whether a route is ours is decided elsewhere from the ledger; this module only
// says which routes could be ours at all (`candidate`).
//
// DescribeRouteTables is paged (MaxResults + NextToken) as real AWS does; moto answers in one
// page, the test fault layer pages like AWS.
import { DescribeRouteTablesCommand, type DescribeRouteTablesCommandOutput, type EC2Client, type Filter, type Route, type RouteTable } from '@aws-sdk/client-ec2';
import { CloudError } from '../errors.js';
import { readSend } from './write.js';

export const DEFAULT_TABLE_TAG_KEY = 'hostnet.io/routes';
/** AWS accepts 5..100 for MaxResults. */
export const DESCRIBE_PAGE_SIZE = 100;

export type TableSelection =
  | { kind: 'ids'; vpcId?: string; tableIds: string[] }
  | { kind: 'tag'; vpcId: string; tagKey?: string; tagValue?: string };

export type RouteTarget =
  | { kind: 'eni'; id: string }
  | { kind: 'instance'; id: string }
  | { kind: 'local' }
  | { kind: 'gateway'; id: string }
  | { kind: 'other'; id?: string };

export interface RouteView {
  tableId: string;
  /** IPv4 CIDR, IPv6 CIDR or prefix list id, as AWS shows it. */
  destination: string;
  ipv4: boolean;
  target: RouteTarget;
  /** CreateRouteTable (the local route), CreateRoute (API-made, maybe ours), EnableVgwRoutePropagation. */
  origin: string;
  /** blackhole: the target (instance / ENI) is gone. */
  state: 'active' | 'blackhole';
  /**
   * Could be ours: made with CreateRoute, to an IPv4 destination, targeting an ENI or instance.
   * Local, propagated and gateway routes are never ours, whatever their destination.
   */
  candidate: boolean;
}

export interface RouteTableView {
  id: string;
  vpcId: string;
  tags: Record<string, string>;
  routes: RouteView[];
}

/** Maps one SDK route. Pure. */
export function toRouteView(tableId: string, r: Route): RouteView {
  const destination = r.DestinationCidrBlock ?? r.DestinationIpv6CidrBlock ?? r.DestinationPrefixListId ?? '';
  const ipv4 = r.DestinationCidrBlock !== undefined;
  let target: RouteTarget;
  if (r.GatewayId === 'local') target = { kind: 'local' };
  else if (r.NetworkInterfaceId) target = { kind: 'eni', id: r.NetworkInterfaceId };
  else if (r.InstanceId) target = { kind: 'instance', id: r.InstanceId };
  else if (r.GatewayId) target = { kind: 'gateway', id: r.GatewayId };
  else {
    const id = r.NatGatewayId ?? r.TransitGatewayId ?? r.VpcPeeringConnectionId ?? r.EgressOnlyInternetGatewayId ?? r.CarrierGatewayId ?? r.LocalGatewayId ?? r.CoreNetworkArn;
    target = id ? { kind: 'other', id } : { kind: 'other' };
  }
  const origin = r.Origin ?? 'unknown';
  const state = r.State === 'blackhole' ? 'blackhole' : 'active';
  const candidate = origin === 'CreateRoute' && ipv4 && (target.kind === 'eni' || target.kind === 'instance');
  return { tableId, destination, ipv4, target, origin, state, candidate };
}

export function toTableView(t: RouteTable): RouteTableView {
  const id = t.RouteTableId ?? '';
  const tags: Record<string, string> = {};
  for (const tag of t.Tags ?? []) if (tag.Key !== undefined) tags[tag.Key] = tag.Value ?? '';
  return { id, vpcId: t.VpcId ?? '', tags, routes: (t.Routes ?? []).map((r) => toRouteView(id, r)) };
}

/** The filters for a selection. Pure. */
export function selectionFilters(sel: TableSelection): Filter[] {
  if (sel.kind === 'ids') {
    return [{ Name: 'route-table-id', Values: sel.tableIds }, ...(sel.vpcId ? [{ Name: 'vpc-id', Values: [sel.vpcId] }] : [])];
  }
  const key = sel.tagKey ?? DEFAULT_TABLE_TAG_KEY;
  return [{ Name: 'vpc-id', Values: [sel.vpcId] }, sel.tagValue !== undefined ? { Name: `tag:${key}`, Values: [sel.tagValue] } : { Name: 'tag-key', Values: [key] }];
}

function describeSelection(sel: TableSelection): string {
  if (sel.kind === 'ids') return `route tables ${sel.tableIds.join(', ')}`;
  const key = sel.tagKey ?? DEFAULT_TABLE_TAG_KEY;
  return `route tables of ${sel.vpcId} tagged ${key}${sel.tagValue !== undefined ? `=${sel.tagValue}` : ''}`;
}

/**
 * Reads the selected tables, every page. Filters (not RouteTableIds) so that AWS pages the answer
 * and a missing id is reported here by name rather than as one opaque error for the whole call.
 * Errors: notFound naming the configured ids that do not exist, or the tag no table carries.
 */
export async function describeTables(client: EC2Client, sel: TableSelection): Promise<RouteTableView[]> {
  if (sel.kind === 'ids' && sel.tableIds.length === 0) throw new CloudError({ kind: 'invalid', operation: 'DescribeRouteTables', cloudMessage: 'no route table id configured' });
  const filters = selectionFilters(sel);
  const tables: RouteTableView[] = [];
  let nextToken: string | undefined;
  const seenTokens = new Set<string>();
  do {
    const out = await readSend<DescribeRouteTablesCommandOutput>('DescribeRouteTables', () => client.send(new DescribeRouteTablesCommand({ Filters: filters, MaxResults: DESCRIBE_PAGE_SIZE, ...(nextToken ? { NextToken: nextToken } : {}) })),
    );
    for (const t of out.RouteTables ?? []) tables.push(toTableView(t));
    nextToken = out.NextToken || undefined;
    if (nextToken !== undefined) {
      // A token seen before would loop forever: AWS never repeats one.
      if (seenTokens.has(nextToken)) throw new CloudError({ kind: 'transient', operation: 'DescribeRouteTables', cloudMessage: `the same NextToken came back twice (${nextToken})` });
      seenTokens.add(nextToken);
    }
  } while (nextToken !== undefined);
  if (sel.kind === 'ids') {
    const found = new Set(tables.map((t) => t.id));
    const missing = sel.tableIds.filter((id) => !found.has(id));
    if (missing.length > 0) {
      throw new CloudError({
        kind: 'notFound',
        operation: 'DescribeRouteTables',
        code: 'InvalidRouteTableID.NotFound',
        cloudMessage: `route table ${missing.join(', ')} does not exist${sel.vpcId ? ` in ${sel.vpcId}` : ''}`,
      });
    }
  } else if (tables.length === 0) {
    throw new CloudError({ kind: 'notFound', operation: 'DescribeRouteTables', cloudMessage: `no ${describeSelection(sel)}: tag the tables the controller should program` });
  }
  return tables;
}
