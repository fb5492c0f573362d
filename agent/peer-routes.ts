// Direct routing (seed 004 "Direct Routing", flannel's host-gw): with no cloud router, every
// host needs a route to each peer's block via that peer's address. Pure: from the HostNetworks
// and this host's connected subnets, the routes wanted and the changes to the ones there.
import { normalizeCidr, parseCidr, parseIPv4, containsIp } from '../controller/cidr.js';
import type { HostNetwork } from '../controller/api/types.js';
import type { LocalRoute } from './plan.js';

/**
 * Protocol number of the agent's routes (`ip route ... proto 91`): a number of its own, so the
 * routes it made are told apart from everyone else's and stale ones are swept after a restart
 * (flannel's host-gw sets none and leaks them). Not in iproute2's rt_protos list.
 */
export const ROUTE_PROTO = '91';

export interface PeerRoute {
  /** The peer's block. */
  dst: string;
  /** The peer's host address. */
  via: string;
  /** The peer HostNetwork (for logs). */
  peer: string;
  /** Through this device, on-link (the VXLAN device for peers on other subnets). */
  dev?: string;
}

export interface PeerPlan {
  routes: PeerRoute[];
  /** Peers whose host is on none of this host's subnets (a tunnel would be needed). */
  offLink: { peer: string; hostIP: string; block: string }[];
}

/** The host address of a HostNetwork: what the user wrote, else what the cloud reported. */
export function peerHostIp(hn: HostNetwork): string | undefined {
  const ip = hn.spec.hostIP ?? hn.status?.hostIP;
  return ip !== undefined && parseIPv4(ip) !== undefined ? ip : undefined;
}

/** Connected (scope link) IPv4 subnets of this host, from `ip -json route`. */
export function connectedSubnets(routes: readonly LocalRoute[]): string[] {
  return routes.filter((r) => r.protocol === 'kernel' && r.dst.includes('/') && !r.gateway).map((r) => r.dst);
}

export function peerRoutes(all: readonly HostNetwork[], instanceId: string, connected: readonly string[]): PeerPlan {
  const nets = connected.map((c) => parseCidr(c, false)).filter((c) => c !== undefined);
  const routes: PeerRoute[] = [];
  const offLink: { peer: string; hostIP: string; block: string }[] = [];
  for (const hn of [...all].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))) {
    if (hn.spec.instanceID === instanceId || hn.metadata.deletionTimestamp) continue;
    const block = hn.status?.podCIDR ? normalizeCidr(hn.status.podCIDR) : undefined;
    const ip = peerHostIp(hn);
    if (!block || !ip) continue;
    const n = parseIPv4(ip)!;
    if (!nets.some((c) => containsIp(c, n))) {
      offLink.push({ peer: hn.metadata.name, hostIP: ip, block });
      continue;
    }
    routes.push({ dst: block, via: ip, peer: hn.metadata.name });
  }
  return { routes, offLink };
}

export interface RouteChanges {
  replace: PeerRoute[];
  remove: string[];
}

/** What to replace (missing or via another host) and remove (ours, no longer wanted). */
export function routeChanges(want: readonly PeerRoute[], ours: readonly LocalRoute[]): RouteChanges {
  const have = new Map(ours.map((r) => [r.dst.includes('/') ? r.dst : `${r.dst}/32`, r.gateway]));
  const wanted = new Set(want.map((r) => r.dst));
  return {
    replace: want.filter((r) => have.get(r.dst) !== r.via),
    remove: [...have.keys()].filter((dst) => !wanted.has(dst)),
  };
}
