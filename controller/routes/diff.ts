// Desired routes against a table's actual routes: the one decision of what to add, modify and
// delete. Pure: no I/O, so every rule below is a unit test away.
//
// Rules: a wanted destination held by an unmarked (foreign) route is a conflict and is left
// alone; a marked route with the wrong next hop or mark is modified in place (`mod`, the way a
// migrated block follows its host); a marked route nobody wants any more is deleted, but only
// inside the pool; system routes and every route not ours are never touched. "Ours" is the
// caller's isOwned (a mark, or the ledger: see ownership.ts).
import type { CloudRoute, RouteBatch, RouteChange, RouteSpec } from '../provider/provider.js';

export interface DiffInput {
  /** Wanted routes by destination, in the order hosts asked for them (first come, first served). */
  desired: ReadonlyMap<string, RouteSpec>;
  actual: Iterable<CloudRoute>;
  isOwned(route: CloudRoute): boolean;
  inPool(destination: string): boolean;
  /** Destinations not to send this time (e.g. refused by the cloud until their spec changes). */
  skip?: Set<string>;
  /**
   * A marked route nobody wants that must still stay: its host exists but has not been
   * reconciled yet (e.g. its status was lost and will be recovered from this very route).
   */
  keep?(route: CloudRoute): boolean;
}

export interface DiffResult {
  batch: RouteBatch;
  /** Wanted destinations held by somebody else's route. */
  conflicts: Map<string, CloudRoute>;
  /** Wanted destinations already right. */
  inPlace: Set<string>;
}

export function diffRoutes(input: DiffInput): DiffResult {
  const actual = new Map<string, CloudRoute>();
  for (const r of input.actual) actual.set(r.destination, r);
  const batch: RouteBatch = { add: [], mod: [], del: [] };
  const conflicts = new Map<string, CloudRoute>();
  const inPlace = new Set<string>();

  for (const [dest, wanted] of input.desired) {
    // Only the cloud's fields go into a batch (desired entries may carry bookkeeping).
    const want: RouteSpec = { destination: wanted.destination, nexthop: wanted.nexthop, description: wanted.description };
    const have = actual.get(dest);
    if (!have) {
      if (!input.skip?.has(dest)) batch.add.push(want);
    } else if (!input.isOwned(have)) {
      conflicts.set(dest, have);
    } else if (have.kind !== 'host' || have.nexthop !== want.nexthop || have.description !== want.description || have.state === 'blackhole') {
      if (!input.skip?.has(dest)) batch.mod.push(want);
    } else {
      inPlace.add(dest);
    }
  }
  for (const [dest, have] of actual) {
    if (!input.desired.has(dest) && have.kind !== 'system' && input.isOwned(have) && input.inPool(dest) && !input.keep?.(have)) {
      batch.del.push({ destination: dest });
    }
  }
  return { batch, conflicts, inPlace };
}

export function batchSize(b: RouteBatch): number {
  return b.add.length + b.mod.length + b.del.length;
}

/** Applies a batch to a route list, as the cloud does after a successful update. */
export function applyBatch(routes: Map<string, CloudRoute>, b: RouteBatch, state?: CloudRoute['state']): void {
  const written = (r: RouteSpec): CloudRoute => ({ ...r, kind: 'host', ...(state ? { state } : {}) });
  for (const d of b.del) routes.delete(d.destination);
  for (const m of b.mod) routes.set(m.destination, written(m));
  for (const a of b.add) routes.set(a.destination, written(a));
}

/** Splits a batch into two halves (for isolating the change the cloud refuses). */
export function splitBatch(b: RouteBatch): [RouteBatch, RouteBatch] {
  const all: ({ op: 'add' | 'mod'; r: RouteSpec } | { op: 'del'; r: { destination: string } })[] = [
    ...b.del.map((r) => ({ op: 'del' as const, r })),
    ...b.mod.map((r) => ({ op: 'mod' as const, r })),
    ...b.add.map((r) => ({ op: 'add' as const, r })),
  ];
  const half = Math.ceil(all.length / 2);
  const make = (part: typeof all): RouteBatch => ({
    add: part.filter((x) => x.op === 'add').map((x) => x.r as RouteSpec),
    mod: part.filter((x) => x.op === 'mod').map((x) => x.r as RouteSpec),
    del: part.filter((x) => x.op === 'del').map((x) => x.r),
  });
  return [make(all.slice(0, half)), make(all.slice(half))];
}

export function destinationsOf(b: RouteBatch): string[] {
  return [...b.del.map((d) => d.destination), ...b.mod.map((m) => m.destination), ...b.add.map((a) => a.destination)];
}

/** One batch cut into batches of at most `max` changes: deletes first (they make room), then modifications, then adds. */
export function chunkBatch(b: RouteBatch, max: number): RouteBatch[] {
  if (batchSize(b) <= max) return [b];
  const out: RouteBatch[] = [];
  let cur: RouteBatch = { add: [], mod: [], del: [] };
  const push = (): void => {
    if (batchSize(cur) === max) {
      out.push(cur);
      cur = { add: [], mod: [], del: [] };
    }
  };
  for (const d of b.del) {
    cur.del.push(d);
    push();
  }
  for (const m of b.mod) {
    cur.mod.push(m);
    push();
  }
  for (const a of b.add) {
    cur.add.push(a);
    push();
  }
  if (batchSize(cur) > 0) out.push(cur);
  return out;
}

/** One change per route, for writers that send each on its own. */
export function changesOf(b: RouteBatch): RouteChange[] {
  return [
    ...b.del.map((d): RouteChange => ({ op: 'delete', destination: d.destination })),
    ...b.mod.map((m): RouteChange => ({ op: 'replace', route: m })),
    ...b.add.map((a): RouteChange => ({ op: 'create', route: a })),
  ];
}

/** The one-change batch of a change (what a per-route write changed in the table). */
export function batchOf(c: RouteChange): RouteBatch {
  if (c.op === 'create') return { add: [c.route], mod: [], del: [] };
  if (c.op === 'replace') return { add: [], mod: [c.route], del: [] };
  return { add: [], mod: [], del: [{ destination: c.destination }] };
}

export function destinationOf(c: RouteChange): string {
  return c.op === 'delete' ? c.destination : c.route.destination;
}
