// Events stay quiet (the real controller process, the emulator through the Huawei SDK, the real
// kube-apiserver): a cold start posts only the transitions of each host, full syncs that find
// nothing post nothing, and a drift of k routes posts one RouteRepaired per repaired host.
import assert from 'node:assert/strict';
import { CoreV1Api, type CoreV1Event } from '@kubernetes/client-node';
import { startEmulatorStack, type EmulatorStack } from '../helpers/controller.js';
import { waitFor } from '../helpers/kube.js';
import { ECS1, ECS2, ECS3, createMany, dumpLogs, hostNetwork, listHn, ownedRoutes, waitAllReady } from '../helpers/invariants.js';
import { SEED } from '../emulator/server.js';

const N = 12;

describe('Events stay quiet (emulator, real API server)', function () {
  this.timeout(90_000);
  let stack: EmulatorStack;
  let uids: Set<string>;

  before(async () => {
    stack = await startEmulatorStack({ args: ['--pool-cidr=10.0.0.0/16', '--leader-elect=false', '--resync-period=1s'] });
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') dumpLogs([stack.ctl]);
  });

  after(async () => {
    await stack?.stop();
  });

  /** Events about our hosts, repeats included (an aggregated Event counts each time). */
  async function events(): Promise<{ total: number; byReason: Record<string, number>; items: CoreV1Event[] }> {
    const list = await stack.kc.makeApiClient(CoreV1Api).listNamespacedEvent({ namespace: 'default' });
    const items = list.items.filter((e) => uids.has(e.involvedObject.uid ?? ''));
    const byReason: Record<string, number> = {};
    for (const e of items) byReason[e.reason ?? ''] = (byReason[e.reason ?? ''] ?? 0) + (e.count ?? 1);
    return { total: Object.values(byReason).reduce((a, b) => a + b, 0), byReason, items };
  }

  /** Waits for `count` more full syncs, then for the controller to have written every Event. */
  async function fullSyncs(count: number): Promise<void> {
    const start = (await stack.ctl.metric('hostnet_last_full_sync_timestamp_seconds')) ?? 0;
    let seen = start;
    let n = 0;
    await waitFor(`${count} full syncs`, async () => {
      const t = (await stack.ctl.metric('hostnet_last_full_sync_timestamp_seconds')) ?? 0;
      if (t > seen) {
        n++;
        seen = t;
      }
      return n >= count;
    }, 30_000, 50);
    await waitFor('every Event written', async () => (await stack.ctl.metric('hostnet_events_pending')) === 0, 20_000);
  }

  it(`a cold start of ${N} hosts posts each host's transitions once, and nothing more`, async () => {
    const servers = [ECS1, ECS2, ECS3];
    await createMany(stack.kc, Array.from({ length: N }, (_, i) => hostNetwork(`quiet-${i}`, { instanceID: servers[i % 3]! })));
    const ready = await waitAllReady(stack.kc, N, 60_000);
    uids = new Set(ready.map((h) => h.metadata.uid!));
    await fullSyncs(1);
    const ev = await events();
    // A new host's first block and route show in its conditions, not as Events (transitions
    // only); per server: the address pair set once (hosts sharing a server find it set already).
    assert.ok((ev.byReason.SourceDestCheckDisabled ?? 0) <= servers.length, JSON.stringify(ev.byReason));
    assert.deepEqual(Object.keys(ev.byReason), ['SourceDestCheckDisabled'].filter((r) => ev.byReason[r]), JSON.stringify(ev.byReason));
  });

  it('full syncs that find nothing to repair post no Event at all', async () => {
    const before = await events();
    await fullSyncs(3);
    const after = await events();
    assert.deepEqual(after.byReason, before.byReason);
  });

  it('a drift of k routes posts one RouteRepaired per repaired host, and no other Event', async () => {
    const before = await events();
    const k = 4;
    const drifted = ownedRoutes(stack.emu).slice(0, k);
    for (const r of drifted) stack.emu.deleteRoute(SEED.routeTableId, r.destination);
    await waitFor('the routes back', async () => drifted.every((d) => ownedRoutes(stack.emu).some((r) => r.destination === d.destination && r.nexthop === d.nexthop)), 30_000, 100);
    await fullSyncs(2);
    const after = await events();
    const added = Object.fromEntries(Object.entries(after.byReason).map(([r, n]) => [r, n - (before.byReason[r] ?? 0)]).filter(([, n]) => n !== 0));
    assert.deepEqual(added, { RouteRepaired: k });
    const repaired = after.items.filter((e) => e.reason === 'RouteRepaired').map((e) => e.involvedObject.name).sort();
    assert.deepEqual(repaired, drifted.map((d) => d.owner).sort(), 'each on the host whose route it was');
    assert.equal((await listHn(stack.kc)).length, N);
  });

  it('a drift repaired through a cloud failure (HTTP 500 on the repair) still posts one Event per repaired host', async () => {
    const before = await events();
    const k = 3;
    const drifted = ownedRoutes(stack.emu).slice(-k);
    const seq = stack.emu.lastSeq;
    stack.emu.faults.set({ failNext: { count: 1, status: 500, operation: 'UpdateRouteTable' } });
    for (const r of drifted) stack.emu.deleteRoute(SEED.routeTableId, r.destination);
    await waitFor('the routes back', async () => drifted.every((d) => ownedRoutes(stack.emu).some((r) => r.destination === d.destination && r.nexthop === d.nexthop)), 30_000, 100);
    const writes = stack.emu.callsSince(seq, 'UpdateRouteTable');
    assert.ok(writes.length >= 2 && writes[0]!.status === 500, `the first repair failed: ${JSON.stringify(writes.map((c) => c.status))}`);
    await waitAllReady(stack.kc, N, 30_000);
    await fullSyncs(2);
    const after = await events();
    const added = Object.fromEntries(Object.entries(after.byReason).map(([r, n]) => [r, n - (before.byReason[r] ?? 0)]).filter(([, n]) => n !== 0));
    assert.deepEqual(added, { RouteRepaired: k });
  });
});
