// Test helpers for the netns model of the VPC (hack/vpcnet.sh, docs/netns.md).
//
//   const avail = netnsAvailable(); if (!avail.ok) skip(avail.reason)
//   await up();                                   // hn-vpc + hn-ecs-1/2/3 (192.168.0.2/.3/.4)
//   await host('ecs-1', '10.0.2.0/24');           // container hn-c-ecs-1 = 10.0.2.2, gw 10.0.2.1
//   const sync = startVpcSync(emu.url);           // router routes + src/dst check from the emulator
//   await sync.syncNow();
//   await ping(containerNs('ecs-1'), '10.0.3.2')  // → boolean
//   await traceroute(containerNs('ecs-1'), '10.0.3.2') // → ['10.0.2.1', '192.168.0.3', '10.0.3.2']
//   await sync.stop(); await down();
//
// Everything runs argv-style through child_process (no shell). Names and addresses are validated
// before they reach a command line. Namespaces use the prefix VPCNET_PREFIX (default "hn-").
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { run, runOk } from './exec.js';
import { parseCidr } from './vpc-sync.js';

export { startVpcSync, desiredFromState, renderSrcDstRuleset, ROUTE_PROTO, SRCDST_TABLE } from './vpc-sync.js';
export type { VpcSync, VpcSyncOptions, DesiredVpc, PortCheck } from './vpc-sync.js';

/** Namespace prefix shared with hack/vpcnet.sh (env VPCNET_PREFIX, default "hn-"). */
export const PREFIX = process.env.VPCNET_PREFIX ?? 'hn-';
/** The VPC router / virtual switch namespace. */
export const VPC_NS = `${PREFIX}vpc`;
export const VPC_GATEWAY = '192.168.0.1';
export const VPC_SUBNET = '192.168.0.0/24';
/** Absolute path of hack/vpcnet.sh. */
export const SCRIPT = fileURLToPath(new URL('../../hack/vpcnet.sh', import.meta.url));

export interface HostSpec {
  /** Server name as in the emulator (ecs-1); the namespace is <prefix><name>, the switch port vp-<name>. */
  name: string;
  /** Its NIC address in 192.168.0.0/24. */
  ip: string;
}

/** The emulator seed's servers (SEED.servers): ecs-1 .2, ecs-2 .3, ecs-3 .4. */
export const SEED_HOSTS: readonly HostSpec[] = [
  { name: 'ecs-1', ip: '192.168.0.2' },
  { name: 'ecs-2', ip: '192.168.0.3' },
  { name: 'ecs-3', ip: '192.168.0.4' },
];

const NAME_RE = /^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/;
const NS_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const IP_RE = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

function checkName(name: string): string {
  if (!NAME_RE.test(name) || name === 'vpc' || name.startsWith('c-')) throw new Error(`bad host name ${JSON.stringify(name)}`);
  return name;
}
function checkNs(ns: string): string {
  if (!NS_RE.test(ns)) throw new Error(`bad namespace name ${JSON.stringify(ns)}`);
  return ns;
}
function checkIp(ip: string): string {
  if (!IP_RE.test(ip)) throw new Error(`bad IPv4 address ${JSON.stringify(ip)}`);
  return ip;
}

/** Namespace of an ECS host (hn-ecs-1). */
export function hostNs(name: string): string {
  return `${PREFIX}${checkName(name)}`;
}
/** Namespace of the one container on an ECS host (hn-c-ecs-1). */
export function containerNs(name: string): string {
  return `${PREFIX}c-${checkName(name)}`;
}

/** What `host(name, block)` configures for a block: bridge = first address, container = second. */
export function blockAddresses(block: string): { network: string; prefixLength: number; gateway: string; container: string } {
  const c = parseCidr(block);
  if (!c || !block.includes('/') || c.plen < 8 || c.plen > 30) throw new Error(`bad block ${JSON.stringify(block)}`);
  const ip = (n: number): string => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
  return { network: ip(c.net), prefixLength: c.plen, gateway: ip(c.net + 1), container: ip(c.net + 2) };
}

// ---------------------------------------------------------------- availability

export interface NetnsAvailability {
  ok: boolean;
  /** Why not, when ok is false. */
  reason?: string;
}

function has(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v "$1"', 'sh', cmd], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

let availability: NetnsAvailability | undefined;

/**
 * Can the netns model run here? Linux, root, `ip netns add` + veth + bridge work, and nft/ping/
 * traceroute/iptables present or installable with apt-get (up() installs them). Cached.
 */
export function netnsAvailable(): NetnsAvailability {
  availability ??= probe();
  return availability;
}

function probe(): NetnsAvailability {
  if (process.platform !== 'linux') return { ok: false, reason: `not Linux (${process.platform})` };
  if (process.getuid?.() !== 0) return { ok: false, reason: 'not running as root (network namespaces need CAP_NET_ADMIN)' };
  if (!has('ip')) return { ok: false, reason: 'iproute2 (ip) not installed' };
  if (!has('bash')) return { ok: false, reason: 'bash not installed' };
  const missing = ['nft', 'ping', 'traceroute', 'iptables'].filter((c) => !has(c));
  if (missing.length && !has('apt-get')) return { ok: false, reason: `missing ${missing.join(', ')} and no apt-get to install them` };
  const ns = `${PREFIX}probe-${process.pid}`;
  try {
    execFileSync('ip', ['netns', 'add', ns], { stdio: 'pipe' });
  } catch (err) {
    return { ok: false, reason: `ip netns add failed: ${stderrOf(err)}` };
  }
  try {
    execFileSync('ip', ['-n', ns, 'link', 'add', 'pb0', 'type', 'bridge'], { stdio: 'pipe' });
    execFileSync('ip', ['-n', ns, 'link', 'add', 'pv0', 'type', 'veth', 'peer', 'name', 'pv1'], { stdio: 'pipe' });
    if (has('nft')) execFileSync('ip', ['netns', 'exec', ns, 'nft', 'list', 'ruleset'], { stdio: 'pipe' });
  } catch (err) {
    return { ok: false, reason: `netns probe failed (bridge/veth/nft): ${stderrOf(err)}` };
  } finally {
    try {
      execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    } catch {
      // already gone
    }
  }
  return { ok: true };
}

function stderrOf(err: unknown): string {
  const e = err as { stderr?: Buffer | string; message?: string };
  return (e.stderr ? e.stderr.toString() : (e.message ?? String(err))).trim();
}

// ---------------------------------------------------------------- topology

function script(args: string[], timeoutMs = 300_000, env?: NodeJS.ProcessEnv): Promise<string> {
  return runOk('bash', [SCRIPT, ...args], { timeoutMs, ...(env ? { env: { ...process.env, ...env } } : {}) });
}

let exitHookInstalled = false;
let topologyUp = false;

function downSync(): void {
  if (!topologyUp) return;
  topologyUp = false;
  try {
    execFileSync('bash', [SCRIPT, 'down'], { stdio: 'ignore', timeout: 30_000 });
  } catch {
    // best effort on exit
  }
}

function onSignal(sig: NodeJS.Signals): void {
  downSync();
  process.removeListener('SIGINT', onSignal);
  process.removeListener('SIGTERM', onSignal);
  // Alone, re-raise so that the process ends as it would have without us. When the program
  // has its own handler (hack/demo.ts stops its controller and control plane), leave the
  // shutdown to it: a second signal would cut that short.
  if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', downSync);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

/**
 * Removes any previous topology (same prefix) and creates the router namespace and the hosts
 * (default SEED_HOSTS). Installs missing tools. The topology is also torn down when the process
 * exits or gets SIGINT/SIGTERM. bare: the hosts come up as fresh servers (ip_forward off, FORWARD
 * policy untouched) for a real dockerd and hostnet-agent to set up (test/netns/docker.ts).
 */
export async function up(hosts: readonly HostSpec[] = SEED_HOSTS, opts: { bare?: boolean } = {}): Promise<void> {
  const args = hosts.map((h) => `${checkName(h.name)}=${checkIp(h.ip)}`);
  installExitHook();
  topologyUp = true;
  await script(['up', ...args], 300_000, opts.bare ? { VPCNET_BARE: '1' } : undefined);
}

/** Removes every namespace with the prefix (idempotent). */
export async function down(): Promise<void> {
  await script(['down'], 60_000);
  topologyUp = false;
}

/**
 * "docker network create --subnet BLOCK" + "docker run" on host `name`: bridge br-net with the
 * block's first address in the host namespace, container namespace containerNs(name) with the
 * second address and a default route via the bridge. Replaces an earlier container of that host.
 * Returns the container's address.
 */
export async function host(name: string, block: string): Promise<string> {
  const { container } = blockAddresses(block);
  await script(['host', checkName(name), block]);
  return container;
}

/** Removes the container (namespace and bridge) of host `name`; idempotent. */
export async function hostClear(name: string): Promise<void> {
  await script(['host-clear', checkName(name)]);
}

/** `hack/vpcnet.sh status` output (human readable). */
export async function status(): Promise<string> {
  return script(['status'], 30_000);
}

// ---------------------------------------------------------------- probes

/** Runs a command inside a namespace (argv, no shell); never rejects for a non-zero exit. */
export function nsExec(ns: string, cmd: string, args: readonly string[], timeoutMs = 60_000): ReturnType<typeof run> {
  return run('ip', ['netns', 'exec', checkNs(ns), cmd, ...args], { timeoutMs });
}

/** true when at least one of `count` echo requests from namespace fromNs to ip is answered. */
export async function ping(fromNs: string, ip: string, count = 1, timeoutSec = 1): Promise<boolean> {
  if (!Number.isInteger(count) || count < 1 || !(timeoutSec > 0)) throw new Error('bad count/timeout');
  const args = ['-n', '-q', '-c', String(count), '-W', String(timeoutSec), ...(count > 1 ? ['-i', '0.2'] : []), checkIp(ip)];
  const r = await nsExec(fromNs, 'ping', args, (count * 0.2 + timeoutSec + 10) * 1000);
  if (r.code === 0) return true;
  if (/Cannot open network namespace|No such file|not found/i.test(r.stderr)) throw new Error(`ping in ${fromNs}: ${r.stderr.trim()}`);
  return false;
}

export interface TracerouteOptions {
  /** Default 8. */
  maxHops?: number;
  /** Seconds to wait per probe; default 1. */
  waitSec?: number;
}

/**
 * UDP traceroute (one probe per hop, numeric) from namespace fromNs; returns each hop's
 * address in order, '*' for a hop that did not answer, e.g. ['10.0.2.1', '192.168.0.3', '10.0.3.2'].
 */
export async function traceroute(fromNs: string, ip: string, opts: TracerouteOptions = {}): Promise<string[]> {
  return (await tracerouteOutput(fromNs, ip, { ...opts, probes: 1 })).hops;
}

/**
 * `traceroute -n -w WAIT -m MAXHOPS -q PROBES ip` in namespace fromNs (default 3 probes per hop,
 * like a plain `traceroute`): the command line as run, its output, and the hops as traceroute().
 */
export async function tracerouteOutput(
  fromNs: string,
  ip: string,
  opts: TracerouteOptions & { probes?: number } = {},
): Promise<{ command: string; output: string; hops: string[] }> {
  const maxHops = opts.maxHops ?? 8;
  const wait = opts.waitSec ?? 1;
  const probes = opts.probes ?? 3;
  if (![maxHops, probes].every((n) => Number.isInteger(n) && n >= 1 && n <= 30) || !(wait > 0)) throw new Error('bad traceroute options');
  const args = ['-n', '-q', String(probes), '-w', String(wait), '-m', String(maxHops), checkIp(ip)];
  const r = await nsExec(fromNs, 'traceroute', args);
  if (r.code !== 0) throw new Error(`traceroute in ${fromNs}: ${(r.stderr || r.stdout).trim()}`);
  const hops: string[] = [];
  for (const line of r.stdout.split('\n')) {
    const m = /^\s*(\d+)\s+(\S+)/.exec(line);
    if (m) hops[Number(m[1]) - 1] = m[2]!;
  }
  return { command: `traceroute ${args.join(' ')}`, output: r.stdout, hops: Array.from(hops, (h) => h ?? '*') };
}

/**
 * `ping -n -c COUNT -W TIMEOUT ip` in namespace fromNs, for showing: the command line as run,
 * its output (replies and statistics) and whether any reply came back. One echo a second, as a
 * person's ping does, unless intervalSec is given.
 */
export async function pingOutput(
  fromNs: string,
  ip: string,
  opts: { count?: number; timeoutSec?: number; intervalSec?: number } = {},
): Promise<{ command: string; output: string; ok: boolean }> {
  const count = opts.count ?? 4;
  const timeoutSec = opts.timeoutSec ?? 1;
  if (!Number.isInteger(count) || count < 1 || count > 100 || !(timeoutSec > 0) || (opts.intervalSec !== undefined && !(opts.intervalSec >= 0.2))) {
    throw new Error('bad ping options');
  }
  const args = ['-n', '-c', String(count), '-W', String(timeoutSec), ...(opts.intervalSec !== undefined ? ['-i', String(opts.intervalSec)] : []), checkIp(ip)];
  const r = await nsExec(fromNs, 'ping', args, (count * (opts.intervalSec ?? 1) + timeoutSec + 10) * 1000);
  if (/Cannot open network namespace|No such file|not found/i.test(r.stderr)) throw new Error(`ping in ${fromNs}: ${r.stderr.trim()}`);
  return { command: `ping ${args.join(' ')}`, output: r.stdout + r.stderr, ok: r.code === 0 };
}

export interface VpcKernelRoute {
  destination: string;
  nexthop: string;
}

/** The routes vpc-sync installed in the router namespace (proto 77). */
export async function vpcRoutes(): Promise<VpcKernelRoute[]> {
  const out = await runOk('ip', ['-j', '-n', VPC_NS, 'route', 'show', 'proto', '77']);
  const rows = (out.trim() ? JSON.parse(out) : []) as { dst: string; gateway?: string }[];
  return rows.map((r) => ({ destination: r.dst.includes('/') ? r.dst : `${r.dst}/32`, nexthop: r.gateway ?? '' }));
}

/** Polls fn until it returns true or timeoutMs passes; resolves with the last result. */
export async function waitFor(fn: () => Promise<boolean>, timeoutMs = 10_000, intervalMs = 200): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await fn()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
