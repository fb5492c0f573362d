// The ledger as the controller uses it, against the real kube-apiserver and the emulator through
// the real SDK: new flags that cannot honour the records (nothing dropped, nothing renumbered,
// allocation refused and shown), the ledger deleted or hand-edited while running (rebuilt from
// status and routes, the live holder keeps its block, reported), and garbage collection of
// records whose HostNetwork is gone (at leader start and at a full sync).
import assert from 'node:assert/strict';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { SEED } from '../emulator/server.js';
import type { Emulator } from '../emulator/server.js';
import { emulatorArgs, emulatorEnv, freshCluster, startController, type ControllerProcess } from '../helpers/controller.js';
import { resetCluster, waitFor } from '../helpers/kube.js';
import { ECS1, ECS2, ECS3, cond, createHn, deleteLedger, dumpLogs, eventsFor, getHn, hostNetwork, isReady, logLines, ownedRoutes, readLedger } from '../helpers/invariants.js';
import { startEmulator } from '../emulator/server.js';
import type { ControlPlane } from '../../hack/controlplane.js';

const SHARD = 'hostnet-allocations-default-10-0';

describe('controller: the ledger is the recorded truth (emulator, real API server)', function () {
  this.timeout(90_000);
  let kc: KubeConfig;
  let cp: ControlPlane;
  let emu: Emulator;
  let ctl: ControllerProcess | undefined;

  before(async () => {
    ({ cp, kc } = await freshCluster());
  });

  beforeEach(async () => {
    emu = await startEmulator({});
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') dumpLogs([ctl]);
    await ctl?.stop();
    ctl = undefined;
    await resetCluster(kc);
    await emu.close();
  });

  async function start(args: string[]): Promise<ControllerProcess> {
    ctl = await startController({ kubeconfig: cp.kubeconfig, args: [...emulatorArgs(emu.url), '--leader-elect=false', ...args], env: emulatorEnv(), waitLeader: true });
    return ctl;
  }

  async function ready(name: string, instanceID: string, podCIDR?: string): Promise<string> {
    await createHn(kc, hostNetwork(name, { instanceID, ...(podCIDR ? { podCIDR } : {}) }));
    const hn = await waitFor(`${name} Ready`, async () => {
      const h = await getHn(kc, name);
      return isReady(h) ? h : undefined;
    }, 20_000, 100);
    return hn.status!.podCIDR!;
  }

  function routesByOwner(): Record<string, string> {
    return Object.fromEntries(ownedRoutes(emu).map((r) => [r.owner, r.destination]));
  }

  /** ecs-1 pinned to 10.0.2.0/24 and ecs-2 pinned to 10.0.3.0/24 under the default flags, then the controller stopped. */
  async function recordedThenStopped(): Promise<{ before: Awaited<ReturnType<typeof readLedger>>; routesBefore: Record<string, string> }> {
    await start(['--pool-cidr=10.0.0.0/16', '--block-size=24']);
    await ready('ecs-1', ECS1, '10.0.2.0/24');
    await ready('ecs-2', ECS2, '10.0.3.0/24');
    await ctl!.stop();
    const routesBefore = routesByOwner();
    assert.deepEqual(routesBefore, { 'ecs-1': '10.0.2.0/24', 'ecs-2': '10.0.3.0/24' });
    return { before: await readLedger(kc), routesBefore };
  }

  for (const c of [
    { title: 'block size 24 → 23', flags: ['--pool-cidr=10.0.0.0/16', '--block-size=23'], pin: '10.0.2.0/23', conflicting: 2 },
    { title: 'block size 24 → 25', flags: ['--pool-cidr=10.0.0.0/16', '--block-size=25'], pin: '10.0.2.128/25', conflicting: 2 },
    { title: 'a pool that no longer contains one record', flags: ['--pool-cidr=10.0.2.0/24', '--block-size=24'], pin: '10.0.2.0/24', conflicting: 1 },
  ]) {
    it(`restart with ${c.title}: records kept, hosts keep blocks and routes, new allocations refused with one line, a metric and a condition`, async () => {
      const { before, routesBefore } = await recordedThenStopped();
      await start([...c.flags, '--resync-period=2s']);
      await createHn(kc, hostNetwork('newcomer', { instanceID: ECS3 }));
      await createHn(kc, hostNetwork('pinner', { instanceID: ECS3, podCIDR: c.pin }));
      for (const name of ['newcomer', 'pinner']) {
        const x = await waitFor(`${name} shows PoolMismatch`, async () => {
          const got = cond(await getHn(kc, name), 'CIDRAllocated');
          return got?.reason === 'PoolMismatch' ? got : undefined;
        }, 15_000, 100);
        assert.equal(x.status, 'False');
        assert.ok(x.message.includes(`${c.flags.join(' ')} cannot honour ${c.conflicting} recorded allocation`), x.message);
      }
      assert.equal(await ctl!.metric('hostnet_ledger_records_unhonourable'), c.conflicting);
      // Wait through a full sync (2 s) that rereads the ledger after both hosts were refused.
      const seen = Date.now() / 1000;
      await waitFor('a full sync after the refusals', async () => ((await ctl!.metric('hostnet_last_full_sync_timestamp_seconds')) ?? 0) > seen, 10_000, 200);
      const lines = logLines(ctl!).filter((l) => /cannot honour/.test(l.message ?? ''));
      assert.equal(lines.length, 1, 'said once, not once per host or per read');
      assert.match(lines[0]!.message!, /10\.0\.3\.0\/24 \(ecs-2\)/);
      assert.match(lines[0]!.message!, /recorded with --pool-cidr=10\.0\.0\.0\/16 --block-size=24/);
      assert.ok(!logLines(ctl!).some((l) => l.message === 'ledger record ignored'));
      const after = await readLedger(kc);
      assert.deepEqual(after.data, before.data, 'no record rewritten to the new size');
      assert.equal(after.resourceVersion, before.resourceVersion, 'the ledger was not written at all');
      assert.deepEqual(routesByOwner(), routesBefore, 'routes stay');
      assert.equal((await getHn(kc, 'ecs-1'))?.status?.podCIDR, '10.0.2.0/24');
      assert.ok(isReady(await getHn(kc, 'ecs-2')), 'an existing host stays Ready');
    });
  }

  it('restart with a grown pool that still contains every record: hosts keep their blocks, a newcomer is allocated around them', async () => {
    const { before, routesBefore } = await recordedThenStopped();
    await start(['--pool-cidr=10.0.0.0/15', '--block-size=24']);
    const b3 = await ready('newcomer', ECS3);
    assert.ok(!['10.0.2.0/24', '10.0.3.0/24'].includes(b3), b3);
    const after = await readLedger(kc);
    for (const [block, owner] of before.records) assert.equal(after.records.get(block), owner);
    assert.deepEqual(routesByOwner(), { ...routesBefore, newcomer: b3 });
    assert.equal(await ctl!.metric('hostnet_ledger_records_unhonourable'), 0);
  });

  it('the ledger deleted while running: a newcomer gets a free block, no live host is renumbered, the records are rebuilt', async () => {
    await start(['--pool-cidr=10.0.0.0/16']);
    const b1 = await ready('ecs-1', ECS1);
    const b2 = await ready('ecs-2', ECS2);
    await deleteLedger(kc);
    const b3 = await ready('ecs-3', ECS3);
    assert.ok(![b1, b2].includes(b3), `the newcomer got ${b3}, a live host's block`);
    const ledger = await readLedger(kc);
    assert.deepEqual(Object.fromEntries([...ledger.records].map(([b, o]) => [o, b])), { 'ecs-1': b1, 'ecs-2': b2, 'ecs-3': b3 });
    assert.equal((await getHn(kc, 'ecs-1'))?.status?.podCIDR, b1);
    assert.deepEqual(routesByOwner(), { 'ecs-1': b1, 'ecs-2': b2, 'ecs-3': b3 });
    assert.ok(logLines(ctl!).some((l) => /allocation ledger changed outside the controller/.test(l.message ?? '')));
  });

  it('a record rewritten by hand to name a nonexistent host: the live host whose status and route agree keeps the block; an Event, a metric and a log line say so', async () => {
    await start(['--pool-cidr=10.0.0.0/16', '--resync-period=2s']);
    const b1 = await ready('ecs-1', ECS1);
    await ready('ecs-2', ECS2);
    const core = kc.makeApiClient(CoreV1Api);
    const cm = await core.readNamespacedConfigMap({ name: SHARD, namespace: 'default' });
    cm.data![b1.replace('/', '_')] = 'ghost';
    await core.replaceNamespacedConfigMap({ name: SHARD, namespace: 'default', body: cm });
    // Noticed at the next full sync (or the next write), and repaired.
    await waitFor('the record back with ecs-1', async () => (await readLedger(kc)).records.get(b1) === 'ecs-1', 15_000, 100);
    const hn = (await getHn(kc, 'ecs-1'))!;
    const ev = await waitFor('a LedgerInconsistent Event on ecs-1', async () => (await eventsFor(kc, hn)).find((e) => e.reason === 'LedgerInconsistent'), 10_000, 100);
    assert.match(ev.message ?? '', /ghost/);
    assert.equal(await ctl!.metric('hostnet_ledger_inconsistencies_total'), 1);
    assert.equal(hn.status?.podCIDR, b1);
    // A newcomer does not get ecs-1's block.
    const b3 = await ready('ecs-3', ECS3);
    assert.notEqual(b3, b1);
  });

  it('garbage collection: a record and an owned route of a HostNetwork deleted while the controller was down are released at leader start; a record planted while running goes at the next full sync', async () => {
    await start(['--pool-cidr=10.0.0.0/16']);
    await ready('ecs-1', ECS1);
    await ctl!.stop();
    // "vanished" was deleted while the controller was down, its finalizer removed by hand.
    const core = kc.makeApiClient(CoreV1Api);
    const cm = await core.readNamespacedConfigMap({ name: SHARD, namespace: 'default' });
    cm.data!['10.0.9.0_24'] = 'vanished';
    // And "forgotten" left only its record (no route to notice it by).
    cm.data!['10.0.11.0_24'] = 'forgotten';
    await core.replaceNamespacedConfigMap({ name: SHARD, namespace: 'default', body: cm });
    emu.addRoute(SEED.routeTableId, { destination: '10.0.9.0/24', type: 'ecs', nexthop: ECS2, description: 'hostnet:default:vanished' });

    await start(['--pool-cidr=10.0.0.0/16', '--resync-period=2s']);
    await waitFor('the records of vanished and forgotten released', async () => {
      const recs = (await readLedger(kc)).records;
      return !recs.has('10.0.9.0/24') && !recs.has('10.0.11.0/24');
    }, 15_000, 100);
    await waitFor('its route removed', async () => !ownedRoutes(emu).some((r) => r.owner === 'vanished'), 15_000, 100);
    assert.ok(logLines(ctl!).some((l) => l.message === 'released the block of a HostNetwork that no longer exists' && l.hostnetwork === 'vanished'));

    const again = await core.readNamespacedConfigMap({ name: SHARD, namespace: 'default' });
    again.data!['10.0.10.0_24'] = 'planted';
    await core.replaceNamespacedConfigMap({ name: SHARD, namespace: 'default', body: again });
    await waitFor('the planted record released by a full sync', async () => !(await readLedger(kc)).records.has('10.0.10.0/24'), 15_000, 100);
    assert.equal((await readLedger(kc)).records.get((await getHn(kc, 'ecs-1'))!.status!.podCIDR!), 'ecs-1', 'the live host keeps its record');
  });
});
