// All managed route tables, driven together: a host's route goes into every table.
import type { CloudProvider, CloudRoute, RouteSpec } from '../provider/provider.js';
import { CloudGate, RouteTable, type DriftFinding, type RouteOutcome, type TableOptions } from './table.js';

export interface TableOutcome extends RouteOutcome {
  id: string;
  /** The destination wanted in the table (for messages). */
  destination?: string;
}

export class RouteTableSet {
  readonly gate = new CloudGate();
  private tables: RouteTable[] = [];
  private stopped = false;

  constructor(
    private readonly provider: CloudProvider,
    private readonly opts: Omit<TableOptions, 'gate'>,
  ) {}

  /** Finds the tables to manage and reads each once. */
  async init(): Promise<void> {
    const infos = await this.provider.listRouteTables();
    const known = new Map(this.tables.map((t) => [t.id, t]));
    this.tables = infos.map((i) => known.get(i.id) ?? new RouteTable(i.id, this.provider, { ...this.opts, gate: this.gate }));
    if (this.stopped) for (const t of this.tables) t.stop();
    await Promise.all(this.tables.filter((t) => !t.loaded).map((t) => t.refresh()));
  }

  all(): RouteTable[] {
    return this.tables;
  }

  set(owner: string, spec: RouteSpec): void {
    for (const t of this.tables) t.set(owner, spec);
  }

  /** True when the owner's route is wanted (its sync has run since start-up). */
  hasOwner(owner: string): boolean {
    return this.tables.some((t) => t.hasOwner(owner));
  }

  /** A route of ours in some table still belongs to the owner (wanted or not). */
  holdsRouteOf(owner: string): boolean {
    const ownerOf = this.opts.ownerOf;
    if (!ownerOf) return false;
    return this.tables.some((t) => t.routes().some((r) => this.opts.isOwned(r) && ownerOf(r) === owner));
  }

  /** The owners of our routes, as far as they can be told. */
  routeOwners(): Set<string> {
    const out = new Set<string>();
    const ownerOf = this.opts.ownerOf;
    if (!ownerOf) return out;
    for (const t of this.tables) {
      for (const r of t.routes()) {
        const owner = this.opts.isOwned(r) ? ownerOf(r) : undefined;
        if (owner !== undefined) out.add(owner);
      }
    }
    return out;
  }

  unset(owner: string): void {
    for (const t of this.tables) t.unset(owner);
  }

  /** Starts a flush of every table without waiting for it. */
  requestFlush(): void {
    for (const t of this.tables) void t.flush();
  }

  /** Stopping: every batch timer and the backoff gate end; nothing is armed again. */
  stop(): void {
    this.stopped = true;
    this.gate.close();
    for (const t of this.tables) t.stop();
  }

  async flushAll(): Promise<void> {
    await Promise.all(this.tables.map((t) => t.flush()));
  }

  outcomes(owner: string): TableOutcome[] {
    return this.tables.map((t) => ({ id: t.id, ...t.outcome(owner) }));
  }

  /** Tables that still hold our route for the destination although nobody wants it. */
  remaining(destination: string): TableOutcome[] {
    return this.tables
      .filter((t) => !t.isGone(destination))
      .map((t) => {
        const failed = t.outcomeOfDestination(destination);
        return { id: t.id, ...failed };
      });
  }

  /** Re-reads every table; what changed behind our back. */
  async refreshAll(): Promise<(DriftFinding & { table: string })[]> {
    const found = await Promise.all(this.tables.map(async (t) => (await t.refresh()).map((f) => ({ ...f, table: t.id }))));
    return found.flat();
  }

  /** Every route of every table, with its table. */
  routes(): { table: string; route: CloudRoute }[] {
    return this.tables.flatMap((t) => t.routes().map((route) => ({ table: t.id, route })));
  }
}
