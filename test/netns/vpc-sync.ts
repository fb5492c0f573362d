// Drives the netns "VPC router" (namespace <prefix>vpc, see hack/vpcnet.sh) from the cloud
// emulator's state: the route table's ecs routes become kernel routes in the router namespace,
// and each server port's source/destination check (allowed_address_pairs) becomes nft bridge
// rules on that server's switch port vp-<server name>.
//
// Library:    const sync = startVpcSync(emu.url); await sync.syncNow(); ... await sync.stop();
// Standalone: npx tsx test/netns/vpc-sync.ts --emulator http://127.0.0.1:PORT [--interval 200]
//             [--route-table ID] [--subnet 192.168.0.0/24] [--prefix hn-]
//             (or: hack/vpcnet.sh route-sync URL ...)
import { statSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { runOk } from './exec.js';

/** Kernel route protocol number marking the routes this module owns (`ip route ... proto 77`). */
export const ROUTE_PROTO = 77;
/** nft table (bridge family, in the router namespace) holding the source/destination check. */
export const SRCDST_TABLE = 'hn_srcdst';
/** The VPC subnet modelled by hack/vpcnet.sh. */
export const DEFAULT_SUBNET_CIDR = '192.168.0.0/24';

export interface VpcSyncOptions {
  /** Namespace prefix, as VPCNET_PREFIX for hack/vpcnet.sh; default env VPCNET_PREFIX or "hn-". */
  prefix?: string;
  /** Poll period in ms; default 200. */
  intervalMs?: number;
  /** Use this route table; default: the table associated with the subnet `subnetCidr`. */
  routeTableId?: string;
  /** Default 192.168.0.0/24. */
  subnetCidr?: string;
  /** Receives one line per change applied and per (deduplicated) error; default stderr. */
  log?: (line: string) => void;
}

export interface VpcSync {
  /** Stops polling and waits for a sync in flight. */
  stop(): Promise<void>;
  /** Fetches the emulator state now and applies it; rejects on error (polling continues). */
  syncNow(): Promise<void>;
}

// ---------------------------------------------------------------- IPv4 helpers

interface Cidr {
  net: number;
  plen: number;
}

function parseIp(s: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  const o = m.slice(1).map(Number);
  if (o.some((x) => x > 255)) return undefined;
  return ((o[0]! << 24) | (o[1]! << 16) | (o[2]! << 8) | o[3]!) >>> 0;
}

function mask(plen: number): number {
  return plen === 0 ? 0 : (0xffffffff << (32 - plen)) >>> 0;
}

/** "a.b.c.d[/n]" → network-aligned Cidr ("default" = 0.0.0.0/0); undefined when not IPv4. */
export function parseCidr(s: string): Cidr | undefined {
  if (s === 'default') return { net: 0, plen: 0 };
  const [ip, len, extra] = s.split('/');
  if (ip === undefined || extra !== undefined) return undefined;
  const addr = parseIp(ip);
  const plen = len === undefined ? 32 : /^\d{1,2}$/.test(len) ? Number(len) : NaN;
  if (addr === undefined || !(plen >= 0 && plen <= 32)) return undefined;
  return { net: (addr & mask(plen)) >>> 0, plen };
}

function ipStr(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function cidrStr(c: Cidr): string {
  return `${ipStr(c.net)}/${c.plen}`;
}

function contains(outer: Cidr, inner: Cidr): boolean {
  return outer.plen <= inner.plen && ((inner.net & mask(outer.plen)) >>> 0) === outer.net;
}

// ---------------------------------------------------------------- emulator state → desired

interface SnapServer {
  id?: unknown;
  name?: unknown;
  ip?: unknown;
  port_id?: unknown;
  subnet_id?: unknown;
}
interface SnapPort {
  id?: unknown;
  device_id?: unknown;
  fixed_ips?: { ip_address?: unknown }[];
  allowed_address_pairs?: { ip_address?: unknown }[];
}
interface SnapRouteTable {
  id?: unknown;
  default?: unknown;
  subnets?: unknown;
  routes?: { type?: unknown; destination?: unknown; nexthop?: unknown }[];
}
interface Snapshot {
  subnets?: { id?: unknown; cidr?: unknown }[];
  servers?: SnapServer[];
  ports?: SnapPort[];
  route_tables?: SnapRouteTable[];
}

export interface PortCheck {
  /** Server name; the switch port is `vp-<name>`. */
  server: string;
  port: string;
  /** Addresses the port may send from / receive for; null = check disabled (pair 1.1.1.1/0). */
  allowed: string[] | null;
}

export interface DesiredVpc {
  routeTableId: string | undefined;
  /** destination CIDR → next-hop server IP */
  routes: Map<string, string>;
  ports: PortCheck[];
  warnings: string[];
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const arr = <T>(v: unknown): T[] => (Array.isArray(v) ? (v as T[]) : []);

/** Switch-port interface name for a server name; undefined when it cannot be an interface name. */
export function portIfName(server: string): string | undefined {
  return /^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/.test(server) ? `vp-${server}` : undefined;
}

/** Pure: what the router namespace should look like for an emulator state (GET /_admin/state). */
export function desiredFromState(state: unknown, opts: Pick<VpcSyncOptions, 'routeTableId' | 'subnetCidr'> = {}): DesiredVpc {
  const snap: Snapshot = state && typeof state === 'object' ? (state as Snapshot) : {};
  const warnings: string[] = [];
  const servers = arr<SnapServer>(snap.servers);
  const ports = arr<SnapPort>(snap.ports);
  const tables = arr<SnapRouteTable>(snap.route_tables ?? (snap as { routeTables?: unknown }).routeTables);

  // Route table: explicit, else the one associated with our subnet, else the default, else the only one.
  let table: SnapRouteTable | undefined;
  if (opts.routeTableId !== undefined) {
    table = tables.find((t) => t.id === opts.routeTableId);
    if (!table) warnings.push(`route table ${opts.routeTableId} not found`);
  } else {
    const want = parseCidr(opts.subnetCidr ?? DEFAULT_SUBNET_CIDR);
    const subnet = arr<{ id?: unknown; cidr?: unknown }>(snap.subnets).find((s) => {
      const c = parseCidr(str(s.cidr) ?? '');
      return c && want && c.net === want.net && c.plen === want.plen;
    });
    table =
      (subnet && tables.find((t) => arr<unknown>(t.subnets).includes(subnet.id))) ??
      tables.find((t) => t.default === true) ??
      (tables.length === 1 ? tables[0] : undefined);
    if (!table) warnings.push('no route table for the subnet');
  }

  const ipOfServer = new Map<string, string>();
  for (const s of servers) {
    const id = str(s.id);
    const ip = str(s.ip);
    if (id && ip) ipOfServer.set(id, ip);
  }

  const routes = new Map<string, string>();
  for (const r of arr<{ type?: unknown; destination?: unknown; nexthop?: unknown }>(table?.routes)) {
    if (r.type !== 'ecs') continue;
    const dst = parseCidr(str(r.destination) ?? '');
    const hop = str(r.nexthop);
    const via = hop === undefined ? undefined : ipOfServer.get(hop);
    if (!dst) {
      warnings.push(`route ${String(r.destination)}: not an IPv4 CIDR, skipped`);
    } else if (!via) {
      warnings.push(`route ${cidrStr(dst)}: next hop ${String(hop)} is not a known server, skipped`);
    } else if (!routes.has(cidrStr(dst))) {
      routes.set(cidrStr(dst), via);
    }
  }

  const checks: PortCheck[] = [];
  for (const s of servers) {
    const name = str(s.name);
    const id = str(s.id);
    if (!name || !id) continue;
    const port = portIfName(name);
    if (!port) {
      warnings.push(`server ${name}: name unusable as an interface name, no port check`);
      continue;
    }
    const portId = str(s.port_id) ?? str((s as { portId?: unknown }).portId);
    const p = ports.find((x) => (portId !== undefined && x.id === portId) || x.device_id === id);
    const own = [str(s.ip), ...arr<{ ip_address?: unknown }>(p?.fixed_ips).map((f) => str(f.ip_address))];
    const pairs = arr<{ ip_address?: unknown }>(p?.allowed_address_pairs).map((a) => str(a.ip_address));
    let disabled = false;
    const cidrs: Cidr[] = [];
    for (const a of [...own, ...pairs]) {
      const c = parseCidr(a ?? '');
      if (!c) continue;
      if (c.plen === 0) disabled = true;
      cidrs.push(c);
    }
    // Keep only the outermost prefixes (nft rejects overlapping interval elements).
    const outer = cidrs.filter((c, i) => !cidrs.some((o, j) => j !== i && contains(o, c) && (o.plen < c.plen || j < i)));
    const allowed = outer
      .sort((a, b) => a.net - b.net || a.plen - b.plen)
      .map((c) => (c.plen === 32 ? ipStr(c.net) : cidrStr(c)));
    checks.push({ server: name, port, allowed: disabled ? null : allowed });
  }
  checks.sort((a, b) => (a.port < b.port ? -1 : a.port > b.port ? 1 : 0));
  return { routeTableId: str(table?.id), routes, ports: checks, warnings };
}

/** The nft script (atomic replace of table bridge hn_srcdst) for a set of port checks. */
export function renderSrcDstRuleset(checks: readonly PortCheck[]): string {
  const pre: string[] = [];
  const post: string[] = [];
  for (const c of checks) {
    if (c.allowed === null) {
      pre.push(`    # ${c.port} (${c.server}): source/destination check disabled`);
      continue;
    }
    // An empty allowed list (no IP known) drops all IPv4 on the port, like a port without addresses.
    const set = c.allowed.length ? `!= { ${c.allowed.join(', ')} }` : '>= 0.0.0.0';
    pre.push(`    iifname "${c.port}" ip saddr ${set} counter drop comment "srccheck ${c.server}"`);
    post.push(`    oifname "${c.port}" ip daddr ${set} counter drop comment "dstcheck ${c.server}"`);
  }
  return [
    `table bridge ${SRCDST_TABLE}`,
    `delete table bridge ${SRCDST_TABLE}`,
    `table bridge ${SRCDST_TABLE} {`,
    '  chain pre {',
    '    type filter hook prerouting priority 0; policy accept;',
    ...pre,
    '  }',
    '  chain post {',
    '    type filter hook postrouting priority 0; policy accept;',
    ...post,
    '  }',
    '}',
    '',
  ].join('\n');
}

// ---------------------------------------------------------------- applying

interface KernelRoute {
  dst: string;
  gateway?: string;
  protocol?: string | number;
}

function defaultPrefix(): string {
  return process.env.VPCNET_PREFIX ?? 'hn-';
}

/**
 * Where the router's wanted state comes from: one implementation per cloud. The Huawei emulator's
 * admin state is emulatorSource() below; AWS (moto) is vpc-source-aws.ts, Alibaba vpc-source-alibaba.ts.
 */
export interface VpcRouteSource {
  /** For messages, e.g. the URL read. */
  readonly name: string;
  desired(): Promise<DesiredVpc>;
}

/** The Huawei VPC emulator's state (GET /_admin/state), mapped by desiredFromState. */
export function emulatorSource(emulatorUrl: string, opts: Pick<VpcSyncOptions, 'routeTableId' | 'subnetCidr'> = {}): VpcRouteSource {
  const stateUrl = `${emulatorUrl.replace(/\/+$/, '')}/_admin/state`;
  return {
    name: stateUrl,
    async desired() {
      const res = await fetch(stateUrl, { signal: AbortSignal.timeout(5000) });
      if (!res.ok) throw new Error(`GET ${stateUrl}: HTTP ${res.status}`);
      return desiredFromState(await res.json(), opts);
    },
  };
}

/** `source`: the Huawei emulator's URL, or any cloud's VpcRouteSource. */
export function startVpcSync(source: string | VpcRouteSource, opts: VpcSyncOptions = {}): VpcSync {
  const from = typeof source === 'string' ? emulatorSource(source, opts) : source;
  const prefix = opts.prefix ?? defaultPrefix();
  const ns = `${prefix}vpc`;
  const interval = opts.intervalMs ?? 200;
  const log = opts.log ?? ((line: string) => console.error(`vpc-sync: ${line}`));

  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let chain: Promise<void> = Promise.resolve();
  let lastRuleset: string | undefined;
  let lastNsIno: number | undefined;
  let lastError: string | undefined;
  const warned = new Set<string>();

  function nsInode(): number {
    try {
      return statSync(`/run/netns/${ns}`).ino;
    } catch {
      throw new Error(`namespace ${ns} does not exist (hack/vpcnet.sh up)`);
    }
  }

  async function syncRoutes(desired: Map<string, string>): Promise<void> {
    const out = await runOk('ip', ['-N', '-j', '-n', ns, 'route', 'show', 'table', 'main']);
    const all = (out.trim() ? JSON.parse(out) : []) as KernelRoute[];
    const norm = (d: string): string => {
      const c = parseCidr(d);
      return c ? cidrStr(c) : d;
    };
    const ours = new Map<string, string | undefined>();
    const others = new Set<string>();
    for (const r of all) {
      if (String(r.protocol) === String(ROUTE_PROTO)) ours.set(norm(r.dst), r.gateway);
      else others.add(norm(r.dst));
    }
    for (const [dst, via] of desired) {
      if (others.has(dst)) {
        const w = `route ${dst}: the router already has a non-emulator route for it, not touched`;
        if (!warned.has(w)) log(w);
        warned.add(w);
        continue;
      }
      if (ours.get(dst) === via) continue;
      await runOk('ip', ['-n', ns, 'route', 'replace', dst, 'via', via, 'proto', String(ROUTE_PROTO)]);
      log(`route ${dst} via ${via}`);
    }
    for (const dst of ours.keys()) {
      if (desired.has(dst)) continue;
      await runOk('ip', ['-n', ns, 'route', 'del', dst, 'proto', String(ROUTE_PROTO)]);
      log(`route ${dst} removed`);
    }
  }

  async function syncRules(checks: PortCheck[]): Promise<void> {
    const ino = nsInode();
    const ruleset = renderSrcDstRuleset(checks);
    if (ruleset === lastRuleset && ino === lastNsIno) return;
    lastRuleset = undefined;
    await runOk('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], { input: ruleset });
    lastRuleset = ruleset;
    lastNsIno = ino;
    const desc = checks.map((c) => `${c.server}:${c.allowed === null ? 'off' : c.allowed.join(',')}`).join(' ');
    log(`src/dst check ${desc}`);
  }

  async function once(): Promise<void> {
    const desired = await from.desired();
    for (const w of desired.warnings) {
      if (!warned.has(w)) log(w);
      warned.add(w);
    }
    nsInode();
    await syncRoutes(desired.routes);
    await syncRules(desired.ports);
  }

  function syncNow(): Promise<void> {
    const p = chain.then(once);
    chain = p.catch(() => undefined);
    return p;
  }

  function schedule(): void {
    if (stopped) return;
    timer = setTimeout(() => {
      syncNow().then(
        () => {
          if (lastError !== undefined) log('recovered');
          lastError = undefined;
        },
        (err: unknown) => {
          const msg = err instanceof Error ? err.message : String(err);
          if (msg !== lastError) log(`error: ${msg}`);
          lastError = msg;
        },
      ).finally(schedule);
    }, interval);
  }
  schedule();

  return {
    syncNow,
    async stop(): Promise<void> {
      stopped = true;
      if (timer) clearTimeout(timer);
      await chain;
    },
  };
}

// ---------------------------------------------------------------- CLI

function parseArgs(argv: string[]): { url: string; opts: VpcSyncOptions } {
  let url: string | undefined;
  const opts: VpcSyncOptions = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    const need = (): string => {
      if (v === undefined) throw new Error(`${a} needs a value`);
      i++;
      return v;
    };
    if (a === '--emulator') url = need();
    else if (a === '--interval') opts.intervalMs = Number(need());
    else if (a === '--route-table') opts.routeTableId = need();
    else if (a === '--subnet') opts.subnetCidr = need();
    else if (a === '--prefix') opts.prefix = need();
    else throw new Error(`unknown argument ${a}`);
  }
  if (!url) throw new Error('usage: vpc-sync.ts --emulator URL [--interval MS] [--route-table ID] [--subnet CIDR] [--prefix hn-]');
  if (!(opts.intervalMs === undefined || opts.intervalMs > 0)) throw new Error('--interval must be a positive number');
  return { url, opts };
}

async function main(): Promise<void> {
  const { url, opts } = parseArgs(process.argv.slice(2));
  const sync = startVpcSync(url, opts);
  console.error(`vpc-sync: polling ${url}/_admin/state into namespace ${opts.prefix ?? defaultPrefix()}vpc (Ctrl-C to stop)`);
  const stop = (): void => {
    void sync.stop().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(entry).href) {
  main().catch((err: unknown) => {
    console.error(`vpc-sync: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(2);
  });
}
