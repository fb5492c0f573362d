// Programs the peer routes of direct routing with `ip route replace/del ... proto 91`; only
// routes of that protocol are ever changed.
import { execOk, type Exec } from './exec.js';
import { ROUTE_PROTO, routeChanges, type PeerRoute } from './peer-routes.js';
import type { LocalRoute } from './plan.js';

export async function applyPeerRoutes(exec: Exec, want: readonly PeerRoute[]): Promise<{ replaced: PeerRoute[]; removed: string[] }> {
  const out = await execOk(exec, 'ip', ['-json', '-4', 'route', 'show', 'table', 'main', 'proto', ROUTE_PROTO]);
  const ours = (out.trim() ? JSON.parse(out) : []) as LocalRoute[];
  const { replace, remove } = routeChanges(want, ours);
  for (const r of replace) await execOk(exec, 'ip', ['-4', 'route', 'replace', r.dst, 'via', r.via, ...(r.dev ? ['dev', r.dev, 'onlink'] : []), 'proto', ROUTE_PROTO]);
  for (const dst of remove) await execOk(exec, 'ip', ['-4', 'route', 'del', dst, 'proto', ROUTE_PROTO]);
  return { replaced: replace, removed: remove };
}
