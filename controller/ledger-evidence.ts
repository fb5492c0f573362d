// Rebuilding the ledger from evidence, as pure code: when the stored records were lost or edited
// behind the controller's back (or at start-up, when nobody knows what happened while it was
// down), every source that says who holds which block is weighed, and each block goes to the
// strongest claim. Nobody is silently renumbered: every claim that loses is reported.
//
// Sources, strongest first:
//   1. a live host whose status.podCIDR and owned route agree: traffic already flows there;
//   2. the stored record naming a live host;
//   3. a live host's status.podCIDR or owned route alone;
//   4. what this process remembers having committed, for a live host;
//   5. a stored record naming a host that does not exist (kept: garbage collection releases it
//      once a direct read confirms the host is gone; it never takes a live host's block).

export interface HostEvidence {
  /** status.podCIDR */
  podCIDR?: string;
  /** The destination of the route carrying this installation's mark for the host. */
  route?: string;
}

export interface Inconsistency {
  block: string;
  /** Who keeps the block after the rebuild (undefined: nobody claims it any more). */
  keptBy?: string;
  /** The claim that lost. */
  claimant: string;
  source: ClaimSource;
  message: string;
}

export type ClaimSource = 'status and route' | 'ledger record' | 'status' | 'route' | 'memory' | 'ledger record of a missing host';

interface Claim {
  block: string;
  owner: string;
  source: ClaimSource;
  rank: number;
}

export interface RebuildInput {
  /** What the store holds now: block → owner. */
  stored: Map<string, string>;
  /** Live HostNetworks (deleting ones included: they hold their block until finalized). */
  hosts: Map<string, HostEvidence>;
  /** What this process last committed (empty at start-up). */
  remembered?: Map<string, string>;
  /** Whether a block can be held under the current flags (claims on others are dropped and reported). */
  honourable: (block: string) => boolean;
}

export function rebuildFromEvidence(input: RebuildInput): { records: Map<string, string>; inconsistencies: Inconsistency[] } {
  const claims: Claim[] = [];
  for (const [name, h] of input.hosts) {
    if (h.podCIDR !== undefined && h.podCIDR === h.route) claims.push({ block: h.podCIDR, owner: name, source: 'status and route', rank: 1 });
  }
  for (const [block, owner] of input.stored) {
    const live = input.hosts.has(owner);
    claims.push({ block, owner, source: live ? 'ledger record' : 'ledger record of a missing host', rank: live ? 2 : 5 });
  }
  for (const [name, h] of input.hosts) {
    if (h.podCIDR !== undefined && h.podCIDR !== h.route) claims.push({ block: h.podCIDR, owner: name, source: 'status', rank: 3 });
    if (h.route !== undefined && h.route !== h.podCIDR) claims.push({ block: h.route, owner: name, source: 'route', rank: 3 });
  }
  for (const [block, owner] of input.remembered ?? []) if (input.hosts.has(owner)) claims.push({ block, owner, source: 'memory', rank: 4 });
  // Stable: equal ranks keep their order above (status before route), then by name for determinism.
  claims.sort((a, b) => a.rank - b.rank || (a.owner < b.owner ? -1 : a.owner > b.owner ? 1 : 0));

  const records = new Map<string, string>();
  const held = new Map<string, { block: string; source: ClaimSource }>();
  const heldBy = new Map<string, { owner: string; source: ClaimSource }>();
  const lost: Claim[] = [];
  for (const c of claims) {
    if (!input.honourable(c.block)) {
      // Evidence the current flags cannot express. (Stored records that cannot be honoured never
      // get here: they stop allocation altogether; see Ledger.)
      lost.push(c);
      continue;
    }
    const holder = heldBy.get(c.block);
    const mine = held.get(c.owner);
    if (holder?.owner === c.owner) continue; // the same claim from a weaker source
    if (holder !== undefined || mine !== undefined) {
      lost.push(c);
      continue;
    }
    records.set(c.block, c.owner);
    held.set(c.owner, { block: c.block, source: c.source });
    heldBy.set(c.block, { owner: c.owner, source: c.source });
  }

  const inconsistencies: Inconsistency[] = [];
  for (const c of lost) {
    // Weaker sources that merely lag behind a stronger one about the same host (e.g. memory of a
    // block the host has since given up) are not news; a claim that disagrees with who holds
    // the block, or a live host that ends up elsewhere than its status or route say, is.
    const holder = heldBy.get(c.block);
    const mine = held.get(c.owner);
    if (c.source === 'memory' && mine !== undefined) continue;
    let message: string;
    if (!input.honourable(c.block)) message = `${c.source} of ${c.owner} names ${c.block}, which the current --pool-cidr/--block-size cannot hold`;
    else if (holder !== undefined) message = `${c.source} says ${c.block} belongs to ${c.owner}, but ${holder.owner} keeps it (${holder.source})${mine ? `; ${c.owner} keeps ${mine.block} (${mine.source})` : ''}`;
    else message = `${c.source} says ${c.owner} holds ${c.block}, but ${c.owner} keeps ${mine!.block} (${mine!.source})`;
    inconsistencies.push({ block: c.block, keptBy: holder?.owner, claimant: c.owner, source: c.source, message });
  }
  return { records, inconsistencies };
}
