// The controller's wiring (controller.ts) of ownership, route tables and the reconciler, over the
// unit tests' fakes: one copy, so the suites that drive a Reconciler wire it the same way.
import { MemoryEventSink } from '../../../controller/kube/events.js';
import type { Ledger } from '../../../controller/ledger.js';
import type { Logger } from '../../../controller/logger.js';
import type { CloudProvider } from '../../../controller/provider/provider.js';
import { Reconciler } from '../../../controller/reconciler.js';
import { OrphanGuard } from '../../../controller/routes/orphans.js';
import { routeOwnership } from '../../../controller/routes/ownership.js';
import { RouteTableSet } from '../../../controller/routes/tableset.js';
import type { FakeStatusWriter } from './status.js';

export async function wireReconciler(o: {
  provider: CloudProvider;
  status: FakeStatusWriter;
  ledger: Ledger;
  log: Logger;
  installationId: string;
  inPool: (destination: string) => boolean;
  sourceDestCheck?: 'disable' | 'block' | 'off';
  confirmGone?: (name: string) => Promise<boolean>;
  /** Names the informer's cache does not have although the API server does (a cache behind). */
  cacheMisses?: Set<string>;
  /** What the controller's OrphanGuard hands to the work queue. */
  onUnconfirmed?: (name: string) => void;
}): Promise<{ reconciler: Reconciler; tables: RouteTableSet; events: MemoryEventSink; orphans: OrphanGuard }> {
  const { provider, status, ledger } = o;
  // The informer's cache: the fake's objects, but for the names it misses.
  const cached = (name: string) => (o.cacheMisses?.has(name) ? undefined : status.get(name));
  const list = () => [...status.objects.values()].filter((h) => !o.cacheMisses?.has(h.metadata.name));
  // Ownership as the provider declares it.
  const ownership = routeOwnership(provider.capabilities.ownership, o.installationId, {
    ownerOfBlock: (d) => ledger.ownerOfBlock(d),
    inPool: o.inPool,
    isHostOfOurs: (id) => list().some((h) => h.spec.instanceID === id || h.status?.nextHop === id),
  });
  const orphans = new OrphanGuard({
    ownerOf: (r) => ownership.ownerOf(r),
    cached: (name) => {
      const obj = cached(name);
      return obj && { deleting: !!obj.metadata.deletionTimestamp };
    },
    wanted: (name): boolean => tables.hasOwner(name),
    onUnconfirmed: o.onUnconfirmed,
  });
  const tables = new RouteTableSet(provider, {
    capacity: 200,
    batchWindowMs: 0,
    isOwned: (r) => ownership.isOwned(r),
    ownerOf: (r) => ownership.ownerOf(r),
    inPool: o.inPool,
    keep: (r): boolean => orphans.keep(r),
  });
  await tables.init();
  const events = new MemoryEventSink();
  const reconciler = new Reconciler({
    get: cached,
    list,
    status,
    ledger,
    tables,
    provider,
    ownership,
    events,
    log: o.log,
    config: { installationId: o.installationId, sourceDestCheck: o.sourceDestCheck ?? 'disable', resyncPeriodMs: 60_000, portRecheckMs: 1_800_000 },
    recovered: new Map(),
    confirmGone: o.confirmGone,
    orphans,
  });
  return { reconciler, tables, events, orphans };
}
