// The controller core against the real kube-apiserver: deletion through the finalizer (also when
// the cloud fails the delete), migration to another server, and pool exhaustion.
import assert from 'node:assert/strict';
import type { KubeConfig } from '@kubernetes/client-node';
import { FINALIZER } from '../../controller/api/types.js';
import { freshCluster, startController, startEmulatorStack, type ControllerProcess, type EmulatorStack } from '../helpers/controller.js';
import { resetCluster, waitFor } from '../helpers/kube.js';
import {
  ECS1,
  ECS2,
  ECS3,
  checkInvariant,
  cond,
  createHn,
  deleteHn,
  dumpLogs,
  eventsFor,
  getHn,
  hostNetwork,
  isReady,
  ownedRoutes,
  patchSpec,
  readLedger,
  sleep,
} from '../helpers/invariants.js';
import type { Emulator } from '../emulator/server.js';

describe('controller core: finalizer, migration (emulator, real API server)', function () {
  this.timeout(90_000);
  let kc: KubeConfig;
  let emu: Emulator;
  let ctl: ControllerProcess | undefined;
  let stack: EmulatorStack | undefined;

  before(async () => {
    stack = await startEmulatorStack({ args: ['--pool-cidr=10.0.0.0/16', '--leader-elect=false', '--resync-period=30s'] });
    ({ kc, emu, ctl } = stack);
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') dumpLogs([ctl]);
  });

  after(async () => {
    await stack?.stop();
  });

  async function readyHost(name: string, instanceID: string, podCIDR?: string): Promise<string> {
    await createHn(kc, hostNetwork(name, { instanceID, ...(podCIDR ? { podCIDR } : {}) }));
    const hn = await waitFor(`${name} Ready`, async () => {
      const h = await getHn(kc, name);
      return isReady(h) ? h : undefined;
    }, 20_000, 100);
    assert.deepEqual(hn.metadata.finalizers, [FINALIZER]);
    return hn.status!.podCIDR!;
  }

  it('delete: the route leaves the table, the block leaves the ledger, then the object goes', async () => {
    const block = await readyHost('del-1', ECS1);
    await readyHost('del-keep', ECS2);
    assert.ok(ownedRoutes(emu).some((r) => r.destination === block && r.owner === 'del-1'));
    assert.equal((await readLedger(kc)).records.get(block), 'del-1');
    const hn = (await getHn(kc, 'del-1'))!;
    await deleteHn(kc, 'del-1');
    await waitFor('del-1 gone', async () => (await getHn(kc, 'del-1')) === undefined, 20_000, 100);
    assert.ok(!ownedRoutes(emu).some((r) => r.destination === block), 'route removed');
    assert.ok(!(await readLedger(kc)).records.has(block), 'block released');
    assert.ok(ownedRoutes(emu).some((r) => r.owner === 'del-keep'), 'the other host keeps its route');
    const evs = await waitFor('RouteRemoved and CIDRReleased events', async () => {
      const e = await eventsFor(kc, hn);
      return e.some((x) => x.reason === 'RouteRemoved') && e.some((x) => x.reason === 'CIDRReleased') ? e : undefined;
    }, 10_000);
    // Both name the block that went, as Normal Events, once each.
    for (const reason of ['RouteRemoved', 'CIDRReleased']) {
      const of = evs.filter((e) => e.reason === reason);
      assert.equal(of.length, 1, `one ${reason} Event: ${JSON.stringify(of)}`);
      assert.equal(of[0]!.type, 'Normal');
      assert.ok(of[0]!.message?.includes(block), `${reason} names ${block}: ${of[0]!.message}`);
    }
    await checkInvariant(kc, { emulator: emu, converged: true });
  });

  it('delete while the cloud fails the route delete (500): the finalizer stays until a retry succeeds', async () => {
    const block = await readyHost('del-2', ECS1);
    const since = emu.lastSeq;
    emu.faults.set({ failNext: { count: 2, status: 500, operation: 'UpdateRouteTable' } });
    await deleteHn(kc, 'del-2');
    // Watch closely from the first failed call to the first successful one.
    const seen: { failed: number; finalizerHeld: boolean; blockHeld: boolean; routeThere: boolean }[] = [];
    const deadline = Date.now() + 30_000;
    for (;;) {
      const calls = emu.callsSince(since, 'UpdateRouteTable');
      const failed = calls.filter((c) => c.status === 500).length;
      const succeeded = calls.some((c) => c.status === 200);
      if (succeeded) break;
      if (failed > 0) {
        const h = await getHn(kc, 'del-2');
        const ledger = await readLedger(kc);
        // Synchronous with the in-process emulator: if no UpdateRouteTable has succeeded yet, the
        // route is still there and the controller cannot have had an answer that let it go on.
        if (!emu.callsSince(since, 'UpdateRouteTable').some((c) => c.status === 200)) {
          seen.push({
            failed,
            finalizerHeld: h?.metadata.finalizers?.includes(FINALIZER) === true && h.metadata.deletionTimestamp !== undefined,
            blockHeld: ledger.records.get(block) === 'del-2',
            routeThere: ownedRoutes(emu).some((r) => r.destination === block),
          });
        }
      }
      assert.ok(Date.now() < deadline, `no successful UpdateRouteTable after the faults: ${JSON.stringify(calls)}`);
      await sleep(25);
    }
    assert.ok(seen.length > 0, 'observed the object between the failed delete and the retry');
    for (const s of seen) {
      assert.ok(s.finalizerHeld, `finalizer held while the route could not be removed: ${JSON.stringify(s)}`);
      assert.ok(s.blockHeld, `block still in the ledger while its route exists: ${JSON.stringify(s)}`);
      assert.ok(s.routeThere, 'the route is still in the table (the failed call changed nothing)');
    }
    assert.ok(seen.some((s) => s.failed >= 1));
    await waitFor('del-2 gone after the retry', async () => (await getHn(kc, 'del-2')) === undefined, 30_000, 100);
    const calls = emu.callsSince(since, 'UpdateRouteTable');
    assert.deepEqual(calls.filter((c) => c.status === 500).length, 2, JSON.stringify(calls));
    assert.ok(!ownedRoutes(emu).some((r) => r.destination === block), 'route removed in the end');
    assert.ok(!(await readLedger(kc)).records.has(block), 'block released in the end');
    await checkInvariant(kc, { emulator: emu, converged: true });
  });

  it('migration: instanceID change moves the next hop in place (one UpdateRouteTable, mod=1), block unchanged, RouteMigrated event', async () => {
    const block = await readyHost('mig-1', ECS2, '10.0.42.0/24');
    const ledgerRv = (await readLedger(kc)).resourceVersion;
    const since = emu.lastSeq;
    await patchSpec(kc, 'mig-1', { instanceID: ECS3 });
    const hn = await waitFor('mig-1 Ready on ecs-3', async () => {
      const h = await getHn(kc, 'mig-1');
      return isReady(h) && h?.status?.nextHop === ECS3 ? h : undefined;
    }, 20_000, 100);
    assert.equal(hn.status?.podCIDR, block, 'block unchanged');
    const updates = emu.callsSince(since, 'UpdateRouteTable');
    assert.equal(updates.length, 1, JSON.stringify(updates));
    assert.deepEqual(updates[0]!.delta, { add: 0, mod: 1, del: 0 });
    const r = ownedRoutes(emu).filter((x) => x.destination === block);
    assert.deepEqual(r, [{ destination: block, nexthop: ECS3, owner: 'mig-1' }]);
    assert.equal((await readLedger(kc)).resourceVersion, ledgerRv, 'no ledger write for a migration');
    assert.match(cond(hn, 'RouteProgrammed')?.message ?? '', new RegExp(ECS3));
    const ev = await waitFor('RouteMigrated event', async () => (await eventsFor(kc, hn)).find((e) => e.reason === 'RouteMigrated'), 10_000);
    assert.equal(ev.type, 'Normal');
    assert.ok(ev.message?.includes(ECS2) && ev.message.includes(ECS3) && ev.message.includes(block), ev.message);
    await checkInvariant(kc, { emulator: emu, converged: true });
  });
});

describe('controller core: pool exhaustion (memory provider, real API server)', function () {
  this.timeout(60_000);
  let kc: KubeConfig;
  let ctl: ControllerProcess | undefined;

  before(async () => {
    const fresh = await freshCluster();
    const cp = fresh.cp;
    kc = fresh.kc;
    ctl = await startController({
      kubeconfig: cp.kubeconfig,
      args: ['--cloud-provider=memory', '--pool-cidr=10.0.0.0/22', '--block-size=24', '--leader-elect=false', '--resync-period=30s'],
      waitLeader: true,
    });
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') dumpLogs([ctl]);
  });

  after(async () => {
    await ctl?.stop();
    await resetCluster(kc);
  });

  it('4 blocks, 5 hosts: one gets PoolExhausted with an Event; deleting another gives it the freed block', async () => {
    for (let i = 1; i <= 4; i++) {
      await createHn(kc, hostNetwork(`full-${i}`, { instanceID: ECS1 }));
      await waitFor(`full-${i} Ready`, async () => isReady(await getHn(kc, `full-${i}`)), 20_000, 100);
    }
    await createHn(kc, hostNetwork('full-5', { instanceID: ECS2 }));
    const waiting = await waitFor('full-5 PoolExhausted', async () => {
      const h = await getHn(kc, 'full-5');
      return cond(h, 'CIDRAllocated')?.reason === 'PoolExhausted' ? h : undefined;
    }, 20_000, 100);
    assert.equal(cond(waiting, 'CIDRAllocated')?.status, 'False');
    assert.equal(cond(waiting, 'Ready')?.status, 'False');
    assert.equal(cond(waiting, 'RouteProgrammed')?.reason, 'WaitingForCIDR');
    assert.equal(waiting.status?.podCIDR, undefined);
    const ev = await waitFor('PoolExhausted event', async () => (await eventsFor(kc, waiting)).find((e) => e.reason === 'PoolExhausted'), 10_000);
    assert.equal(ev.type, 'Warning');
    const blocks = new Set<string>();
    for (let i = 1; i <= 4; i++) blocks.add((await getHn(kc, `full-${i}`))!.status!.podCIDR!);
    assert.deepEqual([...blocks].sort(), ['10.0.0.0/24', '10.0.1.0/24', '10.0.2.0/24', '10.0.3.0/24']);
    await checkInvariant(kc);

    const freed = (await getHn(kc, 'full-2'))!.status!.podCIDR!;
    await deleteHn(kc, 'full-2');
    // The controller's resync is 30 s: the waiting host must be woken by the release itself.
    const got = await waitFor('full-5 Ready with the freed block', async () => {
      const h = await getHn(kc, 'full-5');
      return isReady(h) ? h : undefined;
    }, 15_000, 100);
    assert.equal(got.status?.podCIDR, freed);
    assert.equal(cond(got, 'CIDRAllocated')?.status, 'True');
    await checkInvariant(kc, { converged: true });
  });
});
