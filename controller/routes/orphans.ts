// Which of our routes that nobody wants may be deleted. The informer's cache can be behind the
// API server (a first list served from the watch cache, a watch restarting, a relist racing a
// create), so an owner missing from it may well exist: deleting its route on the cache's word
// would cut a live host off until the watch catches up. Such a route stays until a direct read
// (Reconciler.forgetGone → confirmGone) has confirmed that its owner is gone; meanwhile its owner
// is handed to the work queue so that the read happens. An owner the cache has keeps its route
// until its own sync wants (or drops) it: the route is where a lost block is recovered from.
// Pure: the cache and the tables come in as functions.
import type { CloudRoute } from '../provider/provider.js';

export interface OrphanGuardDeps {
  /** The HostNetwork a route of ours belongs to, when that can be told (ownership.ts). */
  ownerOf(route: CloudRoute): string | undefined;
  /** The owner as the cache has it (undefined: not in the cache). */
  cached(name: string): { deleting: boolean } | undefined;
  /** The owner's route is wanted (its sync has run since start-up). */
  wanted(name: string): boolean;
  /** A route was kept for an owner missing from the cache: a direct read must look at it. */
  onUnconfirmed?(name: string): void;
  /**
   * The owner of routes kept while it was missing from the cache is confirmed gone: those routes
   * (their destinations) are orphans and go now — drift, as an orphan found at a full sync is.
   */
  onOrphaned?(name: string, destinations: string[]): void;
}

export class OrphanGuard {
  /** Owners a direct read found gone whose routes or block are not all gone yet. */
  private readonly gone = new Set<string>();
  /** Destinations kept for owners missing from the cache, until a direct read decides. */
  private readonly held = new Map<string, Set<string>>();

  constructor(private readonly d: OrphanGuardDeps) {}

  /** The route stays although nobody wants it (DiffInput.keep). */
  keep(route: CloudRoute): boolean {
    const owner = this.d.ownerOf(route);
    if (owner === undefined) return false;
    const obj = this.d.cached(owner);
    if (obj) return !obj.deleting && !this.d.wanted(owner);
    if (this.gone.has(owner)) return false;
    let destinations = this.held.get(owner);
    if (!destinations) this.held.set(owner, (destinations = new Set()));
    destinations.add(route.destination);
    this.d.onUnconfirmed?.(owner);
    return true;
  }

  /** A direct read found the owner gone: its routes may go from now on. */
  confirmGone(name: string): void {
    this.gone.add(name);
    const destinations = this.held.get(name);
    this.held.delete(name);
    if (destinations) this.d.onOrphaned?.(name, [...destinations]);
  }

  /** Nothing of the owner is left, or an object of that name exists (again): nothing to remember. */
  forget(name: string): void {
    this.gone.delete(name);
    this.held.delete(name);
  }

  isConfirmedGone(name: string): boolean {
    return this.gone.has(name);
  }

  /** Owners remembered (per-host state: it shrinks as their routes and blocks go). */
  get size(): number {
    let n = this.gone.size;
    for (const name of this.held.keys()) if (!this.gone.has(name)) n++;
    return n;
  }
}
