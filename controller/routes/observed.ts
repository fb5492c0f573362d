// One table as the cloud last showed it, kept up to date with what our own writes changed.
// After an ambiguous failure (timeout, reset, 5xx) a write may or may not have happened: the view
// is stale and the next flush reads the table again before deciding anything.
import type { CloudRoute, RouteBatch } from '../provider/provider.js';
import { applyBatch } from './diff.js';

export class ObservedTable {
  private routes?: Map<string, CloudRoute>;
  stale = false;

  get loaded(): boolean {
    return this.routes !== undefined;
  }

  /** Replaces the view with a fresh read; returns the view before it. */
  replace(routes: CloudRoute[]): Map<string, CloudRoute> | undefined {
    const before = this.routes;
    this.routes = new Map(routes.map((r) => [r.destination, r]));
    this.stale = false;
    return before;
  }

  /** A write went through: the cloud now holds this (pending first on an asynchronous cloud). */
  applied(batch: RouteBatch, asynchronous: boolean): void {
    if (this.routes) applyBatch(this.routes, batch, asynchronous ? 'pending' : undefined);
  }

  get(destination: string): CloudRoute | undefined {
    return this.routes?.get(destination);
  }

  all(): CloudRoute[] {
    return [...(this.routes?.values() ?? [])];
  }

  entries(): Iterable<[string, CloudRoute]> {
    return this.routes ?? new Map<string, CloudRoute>();
  }

  get size(): number | undefined {
    return this.routes?.size;
  }

  /** Routes that count against the table's quota (everything but the VPC's own). */
  get used(): number {
    let n = 0;
    for (const r of this.routes?.values() ?? []) if (r.kind !== 'system') n++;
    return n;
  }
}
