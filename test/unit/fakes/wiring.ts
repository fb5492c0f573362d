// The controller's wiring (controller.ts) of ownership, route tables and the reconciler, over the
// unit tests' fakes: one copy, so the suites that drive a Reconciler wire it the same way.
import { MemoryEventSink } from '../../../controller/kube/events.js';
import type { Ledger } from '../../../controller/ledger.js';
import type { Logger } from '../../../controller/logger.js';
import type { CloudProvider } from '../../../controller/provider/provider.js';
import { Reconciler } from '../../../controller/reconciler.js';
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
}): Promise<{ reconciler: Reconciler; tables: RouteTableSet; events: MemoryEventSink }> {
  const { provider, status, ledger } = o;
  // Ownership as the provider declares it.
  const ownership = routeOwnership(provider.capabilities.ownership, o.installationId, {
    ownerOfBlock: (d) => ledger.ownerOfBlock(d),
    inPool: o.inPool,
    isHostOfOurs: (id) => [...status.objects.values()].some((h) => h.spec.instanceID === id || h.status?.nextHop === id),
  });
  const tables = new RouteTableSet(provider, {
    capacity: 200,
    batchWindowMs: 0,
    isOwned: (r) => ownership.isOwned(r),
    ownerOf: (r) => ownership.ownerOf(r),
    inPool: o.inPool,
  });
  await tables.init();
  const events = new MemoryEventSink();
  const reconciler = new Reconciler({
    get: (name) => status.get(name),
    list: () => [...status.objects.values()],
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
  });
  return { reconciler, tables, events };
}
