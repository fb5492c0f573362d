// What the host's Docker should hold for the blocks it serves, decided from what it holds now.
// Pure: the caller lists Docker's networks and the local routes, this says per HostNetwork
// "in place", "create this", "conflict (naming what)", or "waiting for a block", and which of
// the agent's own networks no longer belong here.
import { formatIPv4, normalizeCidr, overlaps, parseCidr, type Cidr } from '../controller/cidr.js';
import type { DockerNetwork, CreateNetwork } from './docker.js';

export const LABEL_MANAGED_BY = 'io.hostnet.managed-by';
export const LABEL_HOSTNETWORK = 'io.hostnet.hostnetwork';
export const LABEL_BLOCK = 'io.hostnet.block';
export const MANAGER = 'hostnet-agent';
export const OPT_BRIDGE_NAME = 'com.docker.network.bridge.name';
export const OPT_MASQUERADE = 'com.docker.network.bridge.enable_ip_masquerade';

export interface Served {
  name: string;
  /** status.podCIDR; undefined while the controller has not allocated one. */
  block?: string;
}

/** A row of `ip -json route show table main`. */
export interface LocalRoute {
  dst: string;
  dev?: string;
  protocol?: string;
  gateway?: string;
}

export interface PlanOptions {
  /** --network-name: the network `docker run --net` names (default hostnet). */
  networkName: string;
  /** --bridge-name: the Linux bridge of that network (default hn-br0). */
  bridgeName: string;
  /** Protocol of the agent's own peer routes (direct routing): never a conflict of ours. */
  routeProtocol?: string;
}

export type Outcome =
  | { kind: 'waiting'; name: string }
  | { kind: 'ready'; name: string; block: string; network: DockerNetwork }
  | { kind: 'create'; name: string; block: string; spec: CreateNetwork }
  | { kind: 'conflict'; name: string; block: string; message: string };

export interface Plan {
  outcomes: Outcome[];
  /** The agent's networks of blocks no longer served here (removed once no container uses them). */
  stale: DockerNetwork[];
}

export function isOurs(n: DockerNetwork): boolean {
  return n.Labels?.[LABEL_MANAGED_BY] === MANAGER;
}

export function subnetsOf(n: DockerNetwork): string[] {
  return (n.IPAM?.Config ?? []).map((c) => c.Subnet ?? '').filter((s) => s.includes('.') && s.includes('/'));
}

/** The Linux bridge Docker made for a bridge network (its option, else br-<12 hex of the id>). */
export function bridgeOf(n: DockerNetwork): string | undefined {
  if (n.Driver !== 'bridge') return undefined;
  return n.Options?.[OPT_BRIDGE_NAME] ?? (n.Name === 'bridge' ? 'docker0' : `br-${n.Id.slice(0, 12)}`);
}

function cidrOf(text: string): Cidr | undefined {
  if (text === 'default') return parseCidr('0.0.0.0/0');
  return parseCidr(text.includes('/') ? text : `${text}/32`, false);
}

/** The bridge gets the block's first address (10.0.2.1 for 10.0.2.0/24), as in the seed. */
export function gatewayOf(block: string): string {
  const c = parseCidr(block);
  if (!c) throw new Error(`bad block ${JSON.stringify(block)}`);
  return formatIPv4(c.base + 1);
}

export function networkSpec(name: string, bridge: string, hostNetwork: string, block: string): CreateNetwork {
  return {
    Name: name,
    Driver: 'bridge',
    CheckDuplicate: true,
    IPAM: { Driver: 'default', Config: [{ Subnet: block, Gateway: gatewayOf(block) }] },
    // Docker's own masquerade would hide the containers' addresses from the other hosts; the
    // agent's nat chain masquerades only what leaves the pool.
    Options: { [OPT_BRIDGE_NAME]: bridge, [OPT_MASQUERADE]: 'false' },
    Labels: { [LABEL_MANAGED_BY]: MANAGER, [LABEL_HOSTNETWORK]: hostNetwork, [LABEL_BLOCK]: block },
  };
}

function bridgeSuffixName(hostNetwork: string): string {
  // IFNAMSIZ is 16 with the NUL: "hn-" + 12 characters at most, from a stable hash of the name.
  let h = 2166136261;
  for (const ch of hostNetwork) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
  return `hn-${h.toString(16).padStart(8, '0')}`;
}

export function plan(served: readonly Served[], networks: readonly DockerNetwork[], routes: readonly LocalRoute[], opts: PlanOptions): Plan {
  const wanted = new Map<string, string>();
  for (const s of served) {
    const b = s.block ? normalizeCidr(s.block) : undefined;
    if (b) wanted.set(s.name, b);
  }
  const ours = networks.filter(isOurs);
  const current = (name: string, block: string): DockerNetwork | undefined =>
    ours.find((n) => n.Labels?.[LABEL_HOSTNETWORK] === name && n.Labels?.[LABEL_BLOCK] === block && subnetsOf(n).includes(block));
  const stale = ours.filter((n) => {
    const name = n.Labels?.[LABEL_HOSTNETWORK] ?? '';
    const block = wanted.get(name);
    return block === undefined || current(name, block) !== n;
  });
  const usedNames = new Set(networks.map((n) => n.Name));
  const usedBridges = new Set(networks.map(bridgeOf).filter((b): b is string => Boolean(b)));

  const outcomes: Outcome[] = [];
  for (const s of [...served].sort((a, b) => a.name.localeCompare(b.name))) {
    const block = wanted.get(s.name);
    if (!block) {
      outcomes.push({ kind: 'waiting', name: s.name });
      continue;
    }
    const mine = current(s.name, block);
    const c = parseCidr(block)!;
    const otherNet = networks.find((n) => n !== mine && subnetsOf(n).some((sub) => overlapsText(sub, c)));
    if (otherNet) {
      outcomes.push({
        kind: 'conflict',
        name: s.name,
        block,
        message: `Docker network ${JSON.stringify(otherNet.Name)} (${subnetsOf(otherNet).join(', ')}) overlaps the block ${block}; nothing was changed (remove that network or give this host another block)`,
      });
      continue;
    }
    const myBridge = mine ? bridgeOf(mine) : undefined;
    const route = routes.find((r) => {
      if (r.dev !== undefined && r.dev === myBridge) return false;
      if (opts.routeProtocol !== undefined && r.protocol === opts.routeProtocol) return false;
      const rc = cidrOf(r.dst);
      return rc !== undefined && rc.prefix > 0 && overlaps(rc, c);
    });
    if (route) {
      outcomes.push({
        kind: 'conflict',
        name: s.name,
        block,
        message: `local route ${route.dst}${route.gateway ? ` via ${route.gateway}` : ''}${route.dev ? ` dev ${route.dev}` : ''} overlaps the block ${block}; nothing was changed`,
      });
      continue;
    }
    if (mine) {
      outcomes.push({ kind: 'ready', name: s.name, block, network: mine });
      continue;
    }
    const name = !usedNames.has(opts.networkName) ? opts.networkName : `${opts.networkName}-${s.name}`;
    const bridge = !usedBridges.has(opts.bridgeName) ? opts.bridgeName : bridgeSuffixName(s.name);
    usedNames.add(name);
    usedBridges.add(bridge);
    outcomes.push({ kind: 'create', name: s.name, block, spec: networkSpec(name, bridge, s.name, block) });
  }
  return { outcomes, stale };
}

function overlapsText(subnet: string, c: Cidr): boolean {
  const s = parseCidr(subnet, false);
  return s !== undefined && overlaps(s, c);
}
