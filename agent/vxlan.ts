// Direct routing across subnets (seed 004 uses GRE; this kernel has VXLAN and not GRE): like
// flannel's vxlan backend, one VXLAN device per host, and per off-link peer a route to its block
// via the peer's VTEP address, a permanent neighbour entry (the peer VTEP's MAC) and an FDB entry
// (that MAC lives behind the peer's host address). Addresses and MACs are derived from the
// blocks, so no host has to publish anything: VTEP address = the block's network address (/32 on
// the device), MAC = 0a:58 + that address (the OVN-Kubernetes convention).
import { parseCidr, formatIPv4 } from '../controller/cidr.js';
import { execOk, type Exec } from './exec.js';
import { ROUTE_PROTO } from './peer-routes.js';

export const VXLAN_DEV = 'hn-vxlan';
export const VXLAN_ID = '4242';
export const VXLAN_PORT = '4789';

export interface VxlanPeer {
  peer: string;
  block: string;
  hostIP: string;
}

export function vtepOf(block: string): { addr: string; mac: string } {
  const c = parseCidr(block);
  if (!c) throw new Error(`bad block ${JSON.stringify(block)}`);
  const o = [c.base >>> 24, (c.base >>> 16) & 255, (c.base >>> 8) & 255, c.base & 255];
  return { addr: formatIPv4(c.base), mac: ['0a', '58', ...o.map((x) => x.toString(16).padStart(2, '0'))].join(':') };
}

/** Creates or fixes this host's VXLAN device for its block; then the peers' entries. Returns the routes set. */
export async function syncVxlan(exec: Exec, localIp: string, ownBlock: string, peers: readonly VxlanPeer[]): Promise<{ dst: string; via: string; peer: string; dev: string }[]> {
  const me = vtepOf(ownBlock);
  const link = await exec('ip', ['-json', '-d', 'link', 'show', 'dev', VXLAN_DEV]);
  const info = link.code === 0 ? ((JSON.parse(link.stdout) as { address?: string; linkinfo?: { info_data?: { id?: number; local?: string } } }[])[0] ?? {}) : undefined;
  const wrong = !info || info.address !== me.mac || String(info.linkinfo?.info_data?.id) !== VXLAN_ID || info.linkinfo?.info_data?.local !== localIp;
  if (info && wrong) await execOk(exec, 'ip', ['link', 'del', VXLAN_DEV]);
  if (wrong) await execOk(exec, 'ip', ['link', 'add', VXLAN_DEV, 'address', me.mac, 'type', 'vxlan', 'id', VXLAN_ID, 'local', localIp, 'dstport', VXLAN_PORT, 'nolearning']);
  await execOk(exec, 'ip', ['addr', 'replace', `${me.addr}/32`, 'dev', VXLAN_DEV]);
  await execOk(exec, 'ip', ['link', 'set', VXLAN_DEV, 'mtu', '1450', 'up']);
  const wantMacs = new Map<string, string>();
  const routes: { dst: string; via: string; peer: string; dev: string }[] = [];
  for (const p of peers) {
    const v = vtepOf(p.block);
    await execOk(exec, 'ip', ['neigh', 'replace', v.addr, 'lladdr', v.mac, 'dev', VXLAN_DEV, 'nud', 'permanent']);
    await execOk(exec, 'bridge', ['fdb', 'replace', v.mac, 'dev', VXLAN_DEV, 'dst', p.hostIP, 'self', 'permanent']);
    wantMacs.set(v.mac, v.addr);
    routes.push({ dst: p.block, via: v.addr, peer: p.peer, dev: VXLAN_DEV });
  }
  // Entries of peers that are gone.
  const neigh = (JSON.parse((await execOk(exec, 'ip', ['-json', 'neigh', 'show', 'dev', VXLAN_DEV])) || '[]') as { dst: string; lladdr?: string }[]);
  for (const n of neigh) if (!n.lladdr || !wantMacs.has(n.lladdr)) await exec('ip', ['neigh', 'del', n.dst, 'dev', VXLAN_DEV]);
  const fdb = (JSON.parse((await execOk(exec, 'bridge', ['-json', 'fdb', 'show', 'dev', VXLAN_DEV])) || '[]') as { mac: string; dst?: string }[]);
  for (const f of fdb) if (f.dst && !wantMacs.has(f.mac)) await exec('bridge', ['fdb', 'del', f.mac, 'dev', VXLAN_DEV, 'dst', f.dst, 'self']);
  return routes;
}

/** Removes the device (no off-link peer left, or no block served here). */
export async function removeVxlan(exec: Exec): Promise<boolean> {
  const r = await exec('ip', ['link', 'del', VXLAN_DEV]);
  return r.code === 0;
}

export { ROUTE_PROTO };
