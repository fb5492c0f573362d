// The routes wanted in one table: one destination per owner (a HostNetwork), first come first
// served per destination. Pure bookkeeping, no I/O.
import type { RouteSpec } from '../provider/provider.js';

export type DesiredRoute = RouteSpec & { owner: string };

export class DesiredRoutes {
  private readonly byDest = new Map<string, DesiredRoute>();
  private readonly destOf = new Map<string, string>(); // owner → destination

  /** Wants the owner's route to be `spec`; returns the owner's earlier destination it replaced. */
  set(owner: string, spec: RouteSpec): string | undefined {
    const old = this.destOf.get(owner);
    const replaced = old !== undefined && old !== spec.destination ? this.unset(owner) : undefined;
    this.byDest.set(spec.destination, { ...spec, owner });
    this.destOf.set(owner, spec.destination);
    return replaced;
  }

  /** Wants nothing for the owner any more; returns the destination given up, if the owner held it. */
  unset(owner: string): string | undefined {
    const dest = this.destOf.get(owner);
    if (dest === undefined) return undefined;
    this.destOf.delete(owner);
    if (this.byDest.get(dest)?.owner !== owner) return undefined;
    this.byDest.delete(dest);
    return dest;
  }

  hasOwner(owner: string): boolean {
    return this.destOf.has(owner);
  }

  destinationOf(owner: string): string | undefined {
    return this.destOf.get(owner);
  }

  get(destination: string): DesiredRoute | undefined {
    return this.byDest.get(destination);
  }

  has(destination: string): boolean {
    return this.byDest.has(destination);
  }

  get size(): number {
    return this.byDest.size;
  }

  /** By destination, in the order hosts asked for them (what diffRoutes takes). */
  get map(): ReadonlyMap<string, DesiredRoute> {
    return this.byDest;
  }
}
