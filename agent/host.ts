// Reads and sets the host's kernel state the agent depends on: IPv4 forwarding and the main
// routing table (for conflicts with the block).
import { readFile, writeFile } from 'node:fs/promises';
import { execOk, type Exec } from './exec.js';
import type { LocalRoute } from './plan.js';

const IP_FORWARD = '/proc/sys/net/ipv4/ip_forward';

/** Turns net.ipv4.ip_forward on; returns true when it was off. */
export async function ensureIpForward(path = IP_FORWARD): Promise<boolean> {
  const now = (await readFile(path, 'utf8')).trim();
  if (now === '1') return false;
  await writeFile(path, '1\n');
  return true;
}

export async function mainRoutes(exec: Exec): Promise<LocalRoute[]> {
  const out = await execOk(exec, 'ip', ['-json', '-4', 'route', 'show', 'table', 'main']);
  const rows = (out.trim() ? JSON.parse(out) : []) as LocalRoute[];
  return rows.filter((r) => typeof r.dst === 'string');
}
