// The emulated VPC: route tables, servers and their NIC ports, security groups. Pure model and
// validation, no I/O: every rule the cloud enforces on the calls this project makes is checked
// here, and violations throw VpcError (errors.ts) for the HTTP layer to render. Mutations are
// all-or-nothing: a route-table delta is validated against a working copy and only swapped in
// when every entry passed, as Huawei applies an update atomically.

import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { cidrContainsIp, cidrsOverlap, parseCidr, parseIpv4, type Cidr } from './cidr.js';
import { Errors } from './errors.js';
import type {
  AddressPair,
  Port,
  Quota,
  Route,
  RouteInit,
  RouteTable,
  SecurityGroup,
  Server,
  SgRule,
  SgRuleInit,
  SubnetInit,
  VpcInit,
  VpcStateInit,
  VpcStateSnapshot,
} from './types.js';

export const DEFAULT_ROUTE_QUOTA = 200;
/** Huawei's default is 1 (only the default table) until a quota ticket; 5 lets tests create tables. */
export const DEFAULT_ROUTE_TABLE_QUOTA = 5;
/** POST /v1/{project_id}/routetables takes at most this many routes (VPC.2800). */
export const MAX_ROUTES_ON_CREATE = 5;
export const MAX_DESCRIPTION = 255;
/** Route types the v1 API accepts in add/mod. `local` is the system's own and never accepted. */
export const ROUTE_TYPES = ['ecs', 'eni', 'vip', 'nat', 'peering', 'vpn', 'dc', 'cc', 'egw', 'er', 'subeni'] as const;

/** One route of an add/mod/del list as the client sent it (fields unchecked). */
export interface RouteInput {
  type?: string;
  destination?: string;
  nexthop?: string;
  description?: string;
}

export interface RouteDelta {
  add?: RouteInput[];
  mod?: RouteInput[];
  del?: RouteInput[];
}

export interface RouteTableFilter {
  id?: string;
  vpc_id?: string;
  subnet_id?: string;
  limit?: number;
  marker?: string;
}

export interface PortFilter {
  id?: string;
  name?: string;
  device_id?: string;
  network_id?: string;
  /** "ip_address=192.168.0.2" and/or "subnet_id=..." as the v1/Neutron APIs take it. */
  fixed_ips?: string[];
  limit?: number;
  marker?: string;
}

export interface SgRuleInput extends SgRuleInit {
  security_group_id?: string;
}

export interface SgRuleFilter {
  security_group_id?: string;
  remote_ip_prefix?: string;
  direction?: string;
  protocol?: string;
  limit?: number;
  marker?: string;
}

export interface AddServerInput {
  name: string;
  ip: string;
  id?: string;
  /** Default: the first subnet whose CIDR holds the IP. */
  subnet_id?: string;
  port_id?: string;
}

function clone<T>(value: T): T {
  return structuredClone(value);
}

/** "2026-11-22T01:38:28", the timestamp format of the VPC v1 API. */
export function apiTime(date: Date): string {
  return date.toISOString().slice(0, 19);
}

function randomMac(): string {
  const b = randomBytes(3);
  return `fa:16:3e:${[...b].map((x) => x.toString(16).padStart(2, '0')).join(':')}`;
}

/** Derives a stable UUID-shaped ID from another, so state files need not spell out every ID. */
function deriveId(from: string, salt: string): string {
  const h = createHash('sha256').update(`${salt}:${from}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function checkDescription(description: unknown): string {
  if (description === undefined || description === null) return '';
  if (typeof description !== 'string') throw Errors.invalidParam('description must be a string.');
  if (description.length > MAX_DESCRIPTION) throw Errors.invalidParam(`description must be at most ${MAX_DESCRIPTION} characters.`);
  if (/[<>]/.test(description)) throw Errors.invalidParam('description must not contain "<" or ">".');
  return description;
}

function normalizePorts(protocol: string | null, rule: SgRuleInit): string | null {
  const limit = protocol === 'icmp' || protocol === 'icmpv6' ? 255 : 65535;
  const low = protocol === 'icmp' || protocol === 'icmpv6' ? 0 : 1;
  const checkPort = (n: number): void => {
    if (!Number.isInteger(n) || n < low || n > limit) throw Errors.invalidParam(`port ${n} is out of range ${low}-${limit}.`);
  };
  if (rule.multiport !== undefined && rule.multiport !== null && rule.multiport !== '') {
    const parts = rule.multiport.split(',').map((p) => p.trim());
    for (const part of parts) {
      const m = /^(\d+)(?:-(\d+))?$/.exec(part);
      if (!m) throw Errors.invalidParam(`multiport ${JSON.stringify(rule.multiport)} is invalid.`);
      const a = Number(m[1]);
      const b = m[2] === undefined ? a : Number(m[2]);
      checkPort(a);
      checkPort(b);
      if (a > b) throw Errors.invalidParam(`multiport range ${part} is reversed.`);
    }
    if (protocol === null) throw Errors.invalidParam('ports need a protocol.');
    return parts.map((p) => p.replace(/^(\d+)-\1$/, '$1')).join(',');
  }
  const min = rule.port_range_min ?? null;
  const max = rule.port_range_max ?? null;
  if (min === null && max === null) return null;
  if (protocol === null) throw Errors.invalidParam('port_range_min/port_range_max need a protocol.');
  if (protocol === 'icmp' || protocol === 'icmpv6') {
    // For ICMP the two fields are type and code, not a range.
    if (min !== null) checkPort(min);
    if (max !== null) checkPort(max);
    if (min === null) throw Errors.invalidParam('an ICMP code (port_range_max) needs an ICMP type (port_range_min).');
    return max === null ? `${min}` : `${min}-${max}`;
  }
  if (min === null || max === null) throw Errors.invalidParam('port_range_min and port_range_max must be given together.');
  checkPort(min);
  checkPort(max);
  if (min > max) throw Errors.invalidParam('port_range_min must not be greater than port_range_max.');
  return min === max ? `${min}` : `${min}-${max}`;
}

/** The v1/Neutron view of a normalized port list: one range or nothing. */
export function portRange(ports: string | null): { port_range_min: number | null; port_range_max: number | null } {
  if (ports === null) return { port_range_min: null, port_range_max: null };
  const m = /^(\d+)(?:-(\d+))?$/.exec(ports);
  if (!m) return { port_range_min: null, port_range_max: null };
  const min = Number(m[1]);
  return { port_range_min: min, port_range_max: m[2] === undefined ? min : Number(m[2]) };
}

function paginate<T extends { id: string }>(items: T[], limit?: number, marker?: string): T[] {
  let start = 0;
  if (marker !== undefined) {
    const i = items.findIndex((x) => x.id === marker);
    if (i < 0) throw Errors.invalidParam(`marker ${marker} is not a valid ID.`);
    start = i + 1;
  }
  const end = limit === undefined ? items.length : start + limit;
  return items.slice(start, end);
}

interface Subnet extends Required<SubnetInit> {
  cidrParsed: Cidr;
}

export class VpcState {
  projectId = '';
  readonly credentials = new Map<string, string>();
  vpcs: VpcInit[] = [];
  subnets: Subnet[] = [];
  servers: Server[] = [];
  ports: Port[] = [];
  routeTables: RouteTable[] = [];
  securityGroups: SecurityGroup[] = [];
  quota: Quota = { routes_per_table: DEFAULT_ROUTE_QUOTA, route_tables_per_vpc: DEFAULT_ROUTE_TABLE_QUOTA };

  private readonly init: VpcStateInit;

  /**
   * @param init the account to emulate; validated, throws Error on a broken reference.
   * @param now clock for created_at/updated_at.
   * @param routeQuota overrides init.quota.routes_per_table.
   */
  constructor(
    init: VpcStateInit,
    private readonly now: () => Date = () => new Date(),
    private readonly routeQuotaOverride?: number,
  ) {
    this.init = clone(init);
    this.reset();
  }

  /** Back to the initial state (the init given to the constructor). */
  reset(): void {
    const init = clone(this.init);
    const at = apiTime(this.now());
    this.projectId = init.project_id;
    this.credentials.clear();
    for (const c of init.credentials) this.credentials.set(c.ak, c.sk);
    this.vpcs = init.vpcs.map((v) => {
      if (!parseCidr(v.cidr)) throw new Error(`vpc ${v.id}: invalid cidr ${v.cidr}`);
      return { id: v.id, name: v.name, cidr: v.cidr };
    });
    this.subnets = init.subnets.map((s) => {
      const cidrParsed = parseCidr(s.cidr);
      if (!cidrParsed) throw new Error(`subnet ${s.id}: invalid cidr ${s.cidr}`);
      if (!this.vpcs.some((v) => v.id === s.vpc_id)) throw new Error(`subnet ${s.id}: unknown vpc ${s.vpc_id}`);
      return { ...s, neutron_subnet_id: s.neutron_subnet_id ?? deriveId(s.id, 'neutron-subnet'), cidrParsed };
    });
    this.securityGroups = [];
    for (const g of init.security_groups) {
      this.securityGroups.push({ id: g.id, name: g.name, vpc_id: g.vpc_id ?? null, description: g.description ?? '', rules: [] });
    }
    for (const g of init.security_groups) for (const r of g.rules ?? []) this.createSgRule({ ...r, security_group_id: g.id }, 'v3');
    this.servers = [];
    this.ports = [];
    for (const s of init.servers) {
      this.addServer({ name: s.name, ip: s.ip, id: s.id, subnet_id: s.subnet_id, ...(s.port_id ? { port_id: s.port_id } : {}) });
      const port = this.ports[this.ports.length - 1]!;
      if (s.mac_address) port.mac_address = s.mac_address;
      if (s.security_groups) port.security_groups = [...s.security_groups];
      if (s.allowed_address_pairs) port.allowed_address_pairs = clone(s.allowed_address_pairs);
    }
    this.quota = {
      routes_per_table: this.routeQuotaOverride ?? init.quota?.routes_per_table ?? DEFAULT_ROUTE_QUOTA,
      route_tables_per_vpc: init.quota?.route_tables_per_vpc ?? DEFAULT_ROUTE_TABLE_QUOTA,
    };
    this.routeTables = [];
    for (const t of init.route_tables) {
      const vpc = this.vpcs.find((v) => v.id === t.vpc_id);
      if (!vpc) throw new Error(`route table ${t.id}: unknown vpc ${t.vpc_id}`);
      const routes: Route[] = (t.routes ?? []).map((r: RouteInit) => ({
        type: r.type,
        destination: r.destination,
        nexthop: r.type === 'local' ? (r.nexthop ?? null) : (r.nexthop ?? ''),
        description: r.type === 'local' ? (r.description ?? null) : (r.description ?? ''),
      }));
      if (!routes.some((r) => r.type === 'local')) routes.unshift(this.localRoute(vpc.cidr));
      this.routeTables.push({
        id: t.id,
        name: t.name,
        vpc_id: t.vpc_id,
        default: t.default ?? false,
        description: t.description ?? '',
        subnets: t.subnets ? [...t.subnets] : [],
        routes,
        created_at: at,
        updated_at: at,
      });
    }
    // A default table without an explicit subnet list serves every subnet no other table claims.
    for (const t of init.route_tables) {
      if (!t.default || t.subnets) continue;
      const claimed = new Set(this.routeTables.flatMap((x) => x.subnets));
      const table = this.routeTables.find((x) => x.id === t.id)!;
      table.subnets = this.subnets.filter((s) => s.vpc_id === t.vpc_id && !claimed.has(s.id)).map((s) => s.id);
    }
  }

  private localRoute(cidr: string): Route {
    return { type: 'local', destination: cidr, nexthop: null, description: null };
  }

  private stamp(): string {
    return apiTime(this.now());
  }

  setRouteQuota(routesPerTable: number): void {
    if (!Number.isInteger(routesPerTable) || routesPerTable < 0) throw Errors.invalidParam('routesPerTable must be a non-negative integer.');
    this.quota.routes_per_table = routesPerTable;
  }

  setRouteTableQuota(routeTablesPerVpc: number): void {
    if (!Number.isInteger(routeTablesPerVpc) || routeTablesPerVpc < 1) throw Errors.invalidParam('routeTablesPerVpc must be a positive integer.');
    this.quota.route_tables_per_vpc = routeTablesPerVpc;
  }

  // ---------------------------------------------------------------- route tables

  listRouteTables(filter: RouteTableFilter = {}): RouteTable[] {
    const matching = this.routeTables.filter(
      (t) =>
        (filter.id === undefined || t.id === filter.id) &&
        (filter.vpc_id === undefined || t.vpc_id === filter.vpc_id) &&
        (filter.subnet_id === undefined || t.subnets.includes(filter.subnet_id)),
    );
    return paginate(matching, filter.limit, filter.marker).map(clone);
  }

  getRouteTable(id: string): RouteTable {
    const t = this.routeTables.find((x) => x.id === id);
    if (!t) throw Errors.routeTableNotFound(id);
    return t;
  }

  showRouteTable(id: string): RouteTable {
    return clone(this.getRouteTable(id));
  }

  /**
   * Applies a delta (plus an optional rename) atomically. Validation order per entry:
   * request shape, destination syntax, system-route overlap, existence, next hop; then the quota
   * on the result. A destination may appear only once across add, mod and del of one call.
   */
  updateRouteTable(id: string, delta: RouteDelta, changes: { name?: string; description?: string } = {}): RouteTable {
    const table = this.getRouteTable(id);
    const routes = clone(table.routes);
    const seen = new Set<string>();
    const once = (destination: string): void => {
      if (seen.has(destination)) throw Errors.duplicateDestination(destination);
      seen.add(destination);
    };
    for (const input of delta.del ?? []) {
      const destination = this.checkDestinationSyntax(input);
      once(destination);
      const i = routes.findIndex((r) => r.destination === destination);
      if (i < 0) throw Errors.routeNotExist(destination, id);
      if (routes[i]!.type === 'local') throw Errors.systemRouteImmutable(destination);
      routes.splice(i, 1);
    }
    for (const input of delta.mod ?? []) {
      const destination = this.checkDestinationSyntax(input);
      once(destination);
      const existing = routes.find((r) => r.destination === destination);
      if (!existing) throw Errors.routeNotExist(destination, id);
      if (existing.type === 'local') throw Errors.systemRouteImmutable(destination);
      const type = input.type ?? existing.type;
      const nexthop = input.nexthop ?? existing.nexthop ?? '';
      this.checkType(type);
      this.checkNexthop(table.vpc_id, type, nexthop);
      existing.type = type;
      existing.nexthop = nexthop;
      // An omitted description keeps the current one: mod is a patch of the given fields.
      if (input.description !== undefined) existing.description = checkDescription(input.description);
    }
    for (const input of delta.add ?? []) {
      const route = this.checkNewRoute(table, routes, input);
      once(route.destination);
      routes.push(route);
    }
    const count = routes.filter((r) => r.type !== 'local').length;
    if ((delta.add?.length ?? 0) > 0 && count > this.quota.routes_per_table) {
      throw Errors.routeQuota(id, this.quota.routes_per_table, count);
    }
    const name = changes.name;
    if (name !== undefined && (name.length > 64 || name === '')) throw Errors.invalidParam('name must be 1-64 characters.');
    const description = changes.description === undefined ? undefined : checkDescription(changes.description);
    // Everything validated: commit.
    table.routes = routes;
    if (name !== undefined) table.name = name;
    if (description !== undefined) table.description = description;
    table.updated_at = this.stamp();
    return clone(table);
  }

  createRouteTable(input: { name?: string; vpc_id?: string; description?: string; routes?: RouteInput[] }): RouteTable {
    if (typeof input.name !== 'string' || input.name === '' || input.name.length > 64) throw Errors.invalidParam('name must be 1-64 characters.');
    if (typeof input.vpc_id !== 'string') throw Errors.invalidParam('vpc_id is required.');
    const vpc = this.vpcs.find((v) => v.id === input.vpc_id);
    if (!vpc) throw Errors.notFound('VPC', input.vpc_id);
    const description = checkDescription(input.description);
    const inputs = input.routes ?? [];
    if (inputs.length > MAX_ROUTES_ON_CREATE) throw Errors.tooManyRoutesOnCreate();
    const tables = this.routeTables.filter((t) => t.vpc_id === vpc.id).length;
    if (tables >= this.quota.route_tables_per_vpc) throw Errors.routeTableQuota(vpc.id, this.quota.route_tables_per_vpc);
    const at = this.stamp();
    const table: RouteTable = {
      id: randomUUID(),
      name: input.name,
      vpc_id: vpc.id,
      default: false,
      description,
      subnets: [],
      routes: [this.localRoute(vpc.cidr)],
      created_at: at,
      updated_at: at,
    };
    for (const r of inputs) {
      const route = this.checkNewRoute(table, table.routes, r);
      table.routes.push(route);
    }
    if (table.routes.length - 1 > this.quota.routes_per_table) {
      throw Errors.routeQuota(table.id, this.quota.routes_per_table, table.routes.length - 1);
    }
    this.routeTables.push(table);
    return clone(table);
  }

  private checkDestinationSyntax(input: RouteInput): string {
    const destination = input.destination;
    if (typeof destination !== 'string' || destination === '') throw Errors.invalidParam('destination is required.');
    if (!parseCidr(destination)) throw Errors.invalidDestination(destination);
    return destination;
  }

  private checkType(type: string): void {
    if (!(ROUTE_TYPES as readonly string[]).includes(type)) {
      throw Errors.invalidParam(`type ${JSON.stringify(type)} is not supported; expected one of ${ROUTE_TYPES.join(', ')}.`);
    }
  }

  /** Validates one route to be added to `routes` (the working copy of `table`). */
  private checkNewRoute(table: RouteTable, routes: Route[], input: RouteInput): Route {
    if (typeof input.type !== 'string' || input.type === '') throw Errors.invalidParam('type is required.');
    const destination = this.checkDestinationSyntax(input);
    this.checkType(input.type);
    this.checkOverlap(table, routes, destination);
    if (routes.some((r) => r.destination === destination)) throw Errors.duplicateDestination(destination);
    const nexthop = input.nexthop;
    if (typeof nexthop !== 'string' || nexthop === '') throw Errors.invalidParam('nexthop is required.');
    this.checkNexthop(table.vpc_id, input.type, nexthop);
    return { type: input.type, destination, nexthop, description: checkDescription(input.description) };
  }

  /** A destination may not overlap a subnet of the VPC or a local route; 0.0.0.0/0 is the exception. */
  private checkOverlap(table: RouteTable, routes: Route[], destination: string): void {
    if (destination === '0.0.0.0/0') return;
    const dest = parseCidr(destination)!;
    for (const r of routes) {
      if (r.type !== 'local') continue;
      const local = parseCidr(r.destination, false);
      if (local && cidrsOverlap(dest, local)) throw Errors.overlapsSystemRoute(destination, r.destination);
    }
    for (const s of this.subnets) {
      if (s.vpc_id === table.vpc_id && cidrsOverlap(dest, s.cidrParsed)) throw Errors.overlapsSystemRoute(destination, s.cidr);
    }
  }

  private checkNexthop(vpcId: string, type: string, nexthop: string): void {
    if (nexthop === '') throw Errors.invalidParam('nexthop is required.');
    switch (type) {
      case 'ecs': {
        const server = this.servers.find((s) => s.id === nexthop);
        if (!server) throw Errors.invalidNexthop(type, nexthop, 'no such server (type ecs takes a server ID, not an IP)');
        if (server.vpc_id !== vpcId) throw Errors.invalidNexthop(type, nexthop, `the server is not in VPC ${vpcId}`);
        return;
      }
      case 'eni':
      case 'subeni': {
        const port = this.ports.find((p) => p.id === nexthop);
        if (!port || this.subnets.find((s) => s.id === port.network_id)?.vpc_id !== vpcId) {
          throw Errors.invalidNexthop(type, nexthop, `no such network interface in VPC ${vpcId}`);
        }
        return;
      }
      case 'vip': {
        const ip = parseIpv4(nexthop);
        const inVpc = ip !== undefined && this.subnets.some((s) => s.vpc_id === vpcId && cidrContainsIp(s.cidrParsed, ip));
        if (!inVpc) throw Errors.invalidNexthop(type, nexthop, `a virtual IP must be an address of a subnet of VPC ${vpcId}`);
        return;
      }
      default:
        // nat, peering, vpn, dc, cc, egw, er: instance IDs of services the emulator does not model.
        return;
    }
  }

  // ---------------------------------------------------------------- servers and ports

  addServer(input: AddServerInput): Server {
    if (typeof input.name !== 'string' || input.name === '') throw Errors.invalidParam('name is required.');
    const ip = typeof input.ip === 'string' ? parseIpv4(input.ip) : undefined;
    if (ip === undefined) throw Errors.invalidParam(`ip ${JSON.stringify(input.ip)} is not an IPv4 address.`);
    const subnet =
      input.subnet_id !== undefined
        ? this.subnets.find((s) => s.id === input.subnet_id)
        : this.subnets.find((s) => cidrContainsIp(s.cidrParsed, ip));
    if (!subnet) throw Errors.invalidParam(`no subnet ${input.subnet_id ?? `holding ${input.ip}`}.`);
    if (!cidrContainsIp(subnet.cidrParsed, ip)) throw Errors.invalidParam(`ip ${input.ip} is not in subnet ${subnet.cidr}.`);
    if (input.ip === subnet.gateway_ip) throw Errors.invalidParam(`ip ${input.ip} is the gateway of subnet ${subnet.cidr}.`);
    if (this.ports.some((p) => p.fixed_ips.some((f) => f.ip_address === input.ip))) throw Errors.invalidParam(`ip ${input.ip} is already in use.`);
    const id = input.id ?? randomUUID();
    if (this.servers.some((s) => s.id === id)) throw Errors.invalidParam(`server ${id} already exists.`);
    const portId = input.port_id ?? deriveId(id, 'port');
    const at = this.stamp();
    const server: Server = { id, name: input.name, vpc_id: subnet.vpc_id, subnet_id: subnet.id, ip: input.ip, port_id: portId };
    const sg = this.securityGroups.find((g) => g.vpc_id === subnet.vpc_id || g.vpc_id === null);
    this.servers.push(server);
    this.ports.push({
      id: portId,
      name: '',
      network_id: subnet.id,
      device_id: id,
      device_owner: 'compute:az1',
      mac_address: randomMac(),
      fixed_ips: [{ subnet_id: subnet.neutron_subnet_id, ip_address: input.ip }],
      security_groups: sg ? [sg.id] : [],
      allowed_address_pairs: [],
      status: 'ACTIVE',
      admin_state_up: true,
      created_at: at,
      updated_at: at,
    });
    return clone(server);
  }

  /** Deletes a server and its port. Routes naming it stay, as stale routes do in the cloud. */
  removeServer(id: string): void {
    const server = this.servers.find((s) => s.id === id);
    if (!server) throw Errors.notFound('Server', id);
    this.servers = this.servers.filter((s) => s.id !== id);
    this.ports = this.ports.filter((p) => p.device_id !== id);
  }

  listPorts(filter: PortFilter = {}): Port[] {
    const fixed = (filter.fixed_ips ?? []).map((f) => {
      const eq = f.indexOf('=');
      return { key: f.slice(0, eq), value: f.slice(eq + 1) };
    });
    const matching = this.ports.filter(
      (p) =>
        (filter.id === undefined || p.id === filter.id) &&
        (filter.name === undefined || p.name === filter.name) &&
        (filter.device_id === undefined || p.device_id === filter.device_id) &&
        (filter.network_id === undefined || p.network_id === filter.network_id) &&
        fixed.every((f) => p.fixed_ips.some((ip) => (f.key === 'ip_address' ? ip.ip_address : ip.subnet_id) === f.value)),
    );
    return paginate(matching, filter.limit, filter.marker).map(clone);
  }

  getPort(id: string): Port {
    const port = this.ports.find((p) => p.id === id);
    if (!port) throw Errors.notFound('Port', id, 'PortNotFound');
    return port;
  }

  /**
   * Replaces the port's allowed_address_pairs (the list is not merged). 1.1.1.1/0 is Huawei's
   * idiom for "any source" (it disables the source/destination check); 0.0.0.0/0 is refused.
   */
  setAllowedAddressPairs(portId: string, pairs: AddressPair[]): Port {
    const port = this.getPort(portId);
    if (!Array.isArray(pairs)) throw Errors.invalidParam('allowed_address_pairs must be a list.');
    const seen = new Set<string>();
    for (const pair of pairs) {
      const ip = (pair as { ip_address?: unknown } | null)?.ip_address;
      if (typeof ip !== 'string') throw Errors.invalidParam('allowed_address_pairs[].ip_address is required.');
      if (ip === '0.0.0.0/0') throw Errors.invalidParam('ip_address 0.0.0.0/0 is not allowed in allowed_address_pairs; use 1.1.1.1/0.');
      if (parseIpv4(ip) === undefined && !parseCidr(ip, false)) throw Errors.invalidParam(`ip_address ${JSON.stringify(ip)} is invalid.`);
      if (seen.has(ip)) throw Errors.invalidParam(`ip_address ${ip} is duplicated in allowed_address_pairs.`);
      seen.add(ip);
    }
    port.allowed_address_pairs = pairs.map((p) => ({ ip_address: p.ip_address, mac_address: p.mac_address ?? port.mac_address }));
    port.updated_at = this.stamp();
    return clone(port);
  }

  updatePort(portId: string, changes: { name?: string; allowed_address_pairs?: AddressPair[]; security_groups?: string[] }): Port {
    const port = this.getPort(portId);
    // Validate everything before changing anything.
    if (changes.security_groups !== undefined) {
      for (const g of changes.security_groups) if (!this.securityGroups.some((x) => x.id === g)) throw Errors.notFound('Security group', g, 'SecurityGroupNotFound');
    }
    if (changes.name !== undefined && changes.name.length > 255) throw Errors.invalidParam('name must be at most 255 characters.');
    if (changes.allowed_address_pairs !== undefined) this.setAllowedAddressPairs(portId, changes.allowed_address_pairs);
    if (changes.security_groups !== undefined) port.security_groups = [...changes.security_groups];
    if (changes.name !== undefined) port.name = changes.name;
    port.updated_at = this.stamp();
    return clone(port);
  }

  // ---------------------------------------------------------------- security groups

  /**
   * Creates a rule. `flavor` only changes defaults: v3 rules carry action and priority.
   * A rule equal to an existing one (same group, direction, ethertype, protocol, ports, remote,
   * action) is a conflict (VPC.0602), as in Huawei and Neutron.
   */
  createSgRule(input: SgRuleInput, flavor: 'v1' | 'v3' | 'neutron' = 'v1'): SgRule {
    const groupId = input.security_group_id;
    if (typeof groupId !== 'string' || groupId === '') throw Errors.invalidParam('security_group_id is required.');
    const group = this.securityGroups.find((g) => g.id === groupId);
    if (!group) throw Errors.notFound('Security group', groupId, 'SecurityGroupNotFound');
    if (input.direction !== 'ingress' && input.direction !== 'egress') throw Errors.invalidParam('direction must be ingress or egress.');
    const ethertype = input.ethertype ?? 'IPv4';
    if (ethertype !== 'IPv4' && ethertype !== 'IPv6') throw Errors.invalidParam('ethertype must be IPv4 or IPv6.');
    const rawProtocol = input.protocol ?? null;
    const protocol = rawProtocol === null || rawProtocol === '' || rawProtocol === 'any' ? null : rawProtocol.toLowerCase();
    if (protocol !== null && !['icmp', 'tcp', 'udp', 'icmpv6', 'gre'].includes(protocol) && !/^(\d|[1-9]\d|1\d\d|2[0-4]\d|25[0-5])$/.test(protocol)) {
      throw Errors.invalidParam(`protocol ${JSON.stringify(rawProtocol)} is invalid.`);
    }
    const multiport = normalizePorts(protocol, input);
    const remoteIp = input.remote_ip_prefix ?? null;
    const remoteGroup = input.remote_group_id ?? null;
    const remoteAddressGroup = input.remote_address_group_id ?? null;
    if ([remoteIp, remoteGroup, remoteAddressGroup].filter((x) => x !== null && x !== '').length > 1) {
      throw Errors.invalidParam('remote_ip_prefix, remote_group_id and remote_address_group_id are mutually exclusive.');
    }
    if (remoteIp !== null && remoteIp !== '') {
      const ok = ethertype === 'IPv4' ? parseCidr(remoteIp, false) !== undefined || parseIpv4(remoteIp) !== undefined : remoteIp.includes(':');
      if (!ok) throw Errors.invalidParam(`remote_ip_prefix ${JSON.stringify(remoteIp)} is not a valid ${ethertype} CIDR.`);
    }
    if (remoteGroup !== null && remoteGroup !== '' && !this.securityGroups.some((g) => g.id === remoteGroup)) {
      throw Errors.notFound('Security group', remoteGroup, 'SecurityGroupNotFound');
    }
    const action = input.action ?? 'allow';
    if (action !== 'allow' && action !== 'deny') throw Errors.invalidParam('action must be allow or deny.');
    const priority = input.priority ?? 1;
    if (!Number.isInteger(priority) || priority < 1 || priority > 100) throw Errors.invalidParam('priority must be 1-100.');
    if (flavor !== 'v3' && action !== 'allow') throw Errors.invalidParam('action is only supported by the v3 API.');
    const at = this.stamp();
    const rule: SgRule = {
      id: input.id ?? randomUUID(),
      security_group_id: group.id,
      direction: input.direction,
      ethertype,
      protocol,
      multiport,
      remote_ip_prefix: remoteIp === '' ? null : remoteIp,
      remote_group_id: remoteGroup === '' ? null : remoteGroup,
      remote_address_group_id: remoteAddressGroup === '' ? null : remoteAddressGroup,
      description: checkDescription(input.description),
      action,
      priority,
      created_at: at,
      updated_at: at,
    };
    const key = (r: SgRule): string =>
      JSON.stringify([r.direction, r.ethertype, r.protocol, r.multiport, r.remote_ip_prefix, r.remote_group_id, r.remote_address_group_id, r.action]);
    const duplicate = group.rules.find((r) => key(r) === key(rule));
    if (duplicate) throw Errors.duplicateSgRule(duplicate.id);
    group.rules.push(rule);
    return clone(rule);
  }

  listSgRules(filter: SgRuleFilter = {}): SgRule[] {
    if (filter.security_group_id !== undefined && !this.securityGroups.some((g) => g.id === filter.security_group_id)) return [];
    const all = this.securityGroups.flatMap((g) => g.rules);
    const matching = all.filter(
      (r) =>
        (filter.security_group_id === undefined || r.security_group_id === filter.security_group_id) &&
        (filter.remote_ip_prefix === undefined || r.remote_ip_prefix === filter.remote_ip_prefix) &&
        (filter.direction === undefined || r.direction === filter.direction) &&
        (filter.protocol === undefined || r.protocol === filter.protocol),
    );
    return paginate(matching, filter.limit, filter.marker).map(clone);
  }

  // ---------------------------------------------------------------- out-of-band (console) edits

  /**
   * Adds a route the way a person in the console would: same validation as the API (quota
   * included) unless `force`, which allows states the API refuses (e.g. a dangling next hop).
   */
  adminAddRoute(tableId: string, input: RouteInput, force = false): RouteTable {
    const table = this.getRouteTable(tableId);
    // The console preselects type ecs; so does the admin API when the type is left out.
    if (!force) return this.updateRouteTable(tableId, { add: [{ ...input, type: input.type ?? 'ecs' }] });
    const destination = input.destination;
    if (typeof destination !== 'string' || !parseCidr(destination)) throw Errors.invalidDestination(String(destination));
    if (table.routes.some((r) => r.destination === destination)) throw Errors.duplicateDestination(destination);
    table.routes.push({
      type: input.type ?? 'ecs',
      destination,
      nexthop: input.nexthop ?? '',
      description: input.description ?? '',
    });
    table.updated_at = this.stamp();
    return clone(table);
  }

  adminModifyRoute(tableId: string, input: RouteInput, force = false): RouteTable {
    const table = this.getRouteTable(tableId);
    if (!force) return this.updateRouteTable(tableId, { mod: [input] });
    const route = table.routes.find((r) => r.destination === input.destination);
    if (!route) throw Errors.routeNotExist(String(input.destination), tableId);
    if (input.type !== undefined) route.type = input.type;
    if (input.nexthop !== undefined) route.nexthop = input.nexthop;
    if (input.description !== undefined) route.description = input.description;
    table.updated_at = this.stamp();
    return clone(table);
  }

  adminDeleteRoute(tableId: string, destination: string, force = false): RouteTable {
    const table = this.getRouteTable(tableId);
    if (!force) return this.updateRouteTable(tableId, { del: [{ destination }] });
    const before = table.routes.length;
    table.routes = table.routes.filter((r) => r.destination !== destination);
    if (table.routes.length === before) throw Errors.routeNotExist(destination, tableId);
    table.updated_at = this.stamp();
    return clone(table);
  }

  // ---------------------------------------------------------------- snapshot

  snapshot(): VpcStateSnapshot {
    return clone({
      project_id: this.projectId,
      credentials: [...this.credentials].map(([ak, sk]) => ({ ak, sk })),
      vpcs: this.vpcs,
      subnets: this.subnets.map(({ cidrParsed: _c, ...s }) => s),
      servers: this.servers.map((s) => {
        const port = this.ports.find((p) => p.id === s.port_id);
        return {
          ...s,
          mac_address: port?.mac_address ?? '',
          security_groups: port?.security_groups ?? [],
          allowed_address_pairs: port?.allowed_address_pairs ?? [],
        };
      }),
      ports: this.ports,
      route_tables: this.routeTables,
      security_groups: this.securityGroups,
      quota: this.quota,
    });
  }
}

