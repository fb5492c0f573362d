// The agent's iptables rules, as pure data: what the chains should hold for the blocks this
// host serves, the iptables-restore input that installs them, and the comparison with what
// `iptables-save` shows (for the periodic repair). No I/O here: iptables-apply.ts runs the tools.
//
// Like flannel (FLANNEL-FWD / FLANNEL-POSTRTG), the agent owns two chains of its own, jumped
// from FORWARD and POSTROUTING, so it never edits Docker's rules and can rewrite its chains
// atomically. Every rule carries a comment naming the HostNetwork and the block.
import { normalizeCidr } from '../controller/cidr.js';

export const FILTER_CHAIN = 'HOSTNET-FWD';
export const NAT_CHAIN = 'HOSTNET-POSTRTG';
/** Marks the jumps from the built-in chains. */
export const JUMP_COMMENT = 'hostnet-agent';
/** Not masqueraded: multicast is never routed off the host anyway (as flannel). */
export const MULTICAST = '224.0.0.0/4';

export interface ServedBlock {
  /** The HostNetwork's name. */
  hostNetwork: string;
  /** Its status.podCIDR, canonical (10.0.2.0/24). */
  block: string;
}

export interface DesiredRules {
  /** Rules of FILTER_CHAIN in iptables-save form ("-A HOSTNET-FWD ..."), in order. */
  filter: string[];
  /** Rules of NAT_CHAIN in iptables-save form, in order. */
  nat: string[];
}

function comment(text: string): string {
  // iptables-save prints a comment with spaces in double quotes, one without bare; none of our
  // texts has a quote.
  return /\s/.test(text) ? `-m comment --comment "${text}"` : `-m comment --comment ${text}`;
}

/**
 * The rules for the served blocks (sorted by block, so the order never depends on the watch):
 * forwarding between each block and the pool is accepted both ways (Docker's FORWARD policy
 * DROP stays for everything else); in nat, traffic from a block to the pool is left alone
 * (containers on other hosts see the sender's own address) and everything else from the block
 * is masqueraded (the Internet, the VPC's other servers).
 */
export function desiredRules(blocks: readonly ServedBlock[], pool: string): DesiredRules {
  const p = normalizeCidr(pool);
  if (!p) throw new Error(`bad pool ${JSON.stringify(pool)}`);
  const sorted = [...blocks].sort((a, b) => a.block.localeCompare(b.block) || a.hostNetwork.localeCompare(b.hostNetwork));
  const filter: string[] = [];
  const nat: string[] = [];
  for (const { hostNetwork, block } of sorted) {
    const b = normalizeCidr(block);
    if (!b) throw new Error(`bad block ${JSON.stringify(block)} of ${hostNetwork}`);
    if (!/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(hostNetwork)) throw new Error(`bad HostNetwork name ${JSON.stringify(hostNetwork)}`);
    filter.push(`-A ${FILTER_CHAIN} -s ${b} -d ${p} ${comment(`hostnet ${hostNetwork} ${b}: from the block to the pool`)} -j ACCEPT`);
    filter.push(`-A ${FILTER_CHAIN} -s ${p} -d ${b} ${comment(`hostnet ${hostNetwork} ${b}: from the pool to the block`)} -j ACCEPT`);
    nat.push(`-A ${NAT_CHAIN} -s ${b} -d ${p} ${comment(`hostnet ${hostNetwork} ${b}: no NAT inside the pool`)} -j RETURN`);
    nat.push(`-A ${NAT_CHAIN} -s ${b} ! -d ${MULTICAST} ${comment(`hostnet ${hostNetwork} ${b}: masquerade to outside the pool`)} -j MASQUERADE`);
  }
  return { filter, nat };
}

/** The jumps into our chains, in iptables-save form. */
export const JUMPS = {
  filter: `-A FORWARD ${comment(JUMP_COMMENT)} -j ${FILTER_CHAIN}`,
  nat: `-A POSTROUTING ${comment(JUMP_COMMENT)} -j ${NAT_CHAIN}`,
} as const;

/**
 * Input for `iptables-restore --noflush`: declaring a chain flushes it (and creates it when
 * missing), so both chains are replaced atomically without touching any other chain.
 */
export function restoreInput(want: DesiredRules): string {
  return [`*filter`, `:${FILTER_CHAIN} - [0:0]`, ...want.filter, 'COMMIT', `*nat`, `:${NAT_CHAIN} - [0:0]`, ...want.nat, 'COMMIT', ''].join('\n');
}

/** What one table of `iptables-save -t TABLE` shows of ours. */
export interface SavedTable {
  /** Our chain exists. */
  chainExists: boolean;
  /** Rules of our chain, in order, as printed. */
  rules: string[];
  /** How many times the jump into our chain appears in the built-in chain. */
  jumps: number;
  /** Policy of FORWARD (filter only). */
  forwardPolicy?: string;
}

export function parseSave(text: string, table: 'filter' | 'nat'): SavedTable {
  const chain = table === 'filter' ? FILTER_CHAIN : NAT_CHAIN;
  const jump = JUMPS[table];
  const out: SavedTable = { chainExists: false, rules: [], jumps: 0 };
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === jump) out.jumps++;
    else if (line.startsWith(`:${chain} `)) out.chainExists = true;
    else if (line.startsWith(`-A ${chain} `)) out.rules.push(line);
    else if (table === 'filter' && line.startsWith(':FORWARD ')) out.forwardPolicy = line.split(/\s+/)[1];
  }
  return out;
}

export interface RuleDrift {
  /** Our chains hold other rules than wanted (flushed, edited, missing). */
  chains: boolean;
  /** Jumps to add (missing) per table. */
  missingJumps: ('filter' | 'nat')[];
  /** Extra jumps to delete per table (a duplicate left by someone, never by us). */
  extraJumps: { table: 'filter' | 'nat'; count: number }[];
}

export function drift(want: DesiredRules, filter: SavedTable, nat: SavedTable): RuleDrift {
  const same = (a: string[], b: string[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);
  const chains = !filter.chainExists || !nat.chainExists || !same(want.filter, filter.rules) || !same(want.nat, nat.rules);
  const missingJumps: ('filter' | 'nat')[] = [];
  const extraJumps: { table: 'filter' | 'nat'; count: number }[] = [];
  for (const [table, saved] of [['filter', filter], ['nat', nat]] as const) {
    if (saved.jumps === 0) missingJumps.push(table);
    if (saved.jumps > 1) extraJumps.push({ table, count: saved.jumps - 1 });
  }
  return { chains, missingJumps, extraJumps };
}

export function inSync(d: RuleDrift): boolean {
  return !d.chains && d.missingJumps.length === 0 && d.extraJumps.length === 0;
}
