// The allocation invariant (no two HostNetworks ever hold overlapping blocks; status, ledger and
// owned routes agree) across crashes of the controller process: between allocation and route
// programming, in the middle of an UpdateRouteTable batch, and when status (and the ledger) is lost.
// Cloud state lives in the VPC emulator (reached through the real SDK), so it survives restarts.
import assert from 'node:assert/strict';
import type { KubeConfig } from '@kubernetes/client-node';
import type { HostNetwork } from '../../controller/api/types.js';
import { controlPlane, adminKubeConfig } from '../helpers/controlplane.js';
import { emulatorArgs, emulatorEnv, startController, type ControllerProcess } from '../helpers/controller.js';
import { installCrd, resetCluster, waitFor } from '../helpers/kube.js';
import {
  ECS1,
  ECS2,
  ECS3,
  HN,
  checkInvariant,
  cond,
  createHn,
  createMany,
  deleteHn,
  deleteLedger,
  dumpLogs,
  eventsFor,
  getHn,
  hostNetwork,
  listHn,
  ownedRoutes,
  readLedger,
  stripStatus,
  waitAllReady,
} from '../helpers/invariants.js';
import { startEmulator, type Emulator } from '../emulator/server.js';
import { CustomObjectsApi, setHeaderOptions } from '@kubernetes/client-node';

const SERVERS = [ECS1, ECS2, ECS3];

describe('controller core: allocation invariant across crashes and lost state (emulator, real API server)', function () {
  this.timeout(120_000);
  let kc: KubeConfig;
  let kubeconfig: string;
  let emu: Emulator | undefined;
  const ctls: ControllerProcess[] = [];

  async function start(extra: string[] = []): Promise<ControllerProcess> {
    const c = await startController({
      kubeconfig,
      args: [...emulatorArgs(emu!.url), '--pool-cidr=10.0.0.0/16', '--leader-elect=false', '--cloud-qps=200', '--cloud-burst=200', ...extra],
      env: emulatorEnv(),
      waitLeader: true,
    });
    ctls.push(c);
    return c;
  }

  async function stopAll(): Promise<void> {
    for (const c of ctls.splice(0)) await c.stop();
  }

  before(async () => {
    kubeconfig = (await controlPlane()).kubeconfig;
    kc = await adminKubeConfig();
    await installCrd(kc);
    await resetCluster(kc);
  });

  beforeEach(async () => {
    emu = await startEmulator({ routeQuota: 400 });
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') dumpLogs(ctls, 6000);
    await stopAll();
    await resetCluster(kc);
    await emu?.close();
    emu = undefined;
  });

  it('(a) kill -9 after the blocks are in status but before any route exists; the restarted controller keeps every block', async () => {
    // Every UpdateRouteTable is held by the "cloud" and never applied: allocation happens,
    // route programming cannot finish.
    emu!.faults.set({ timeoutNext: { count: 10_000, operation: 'UpdateRouteTable' } });
    const first = await start(['--workers=4', '--cloud-timeout=60s', '--resync-period=30s']);
    const hosts = [
      ...Array.from({ length: 10 }, (_, i) => hostNetwork(`crash-a-${i}`, { instanceID: SERVERS[i % 3]! })),
      hostNetwork('crash-a-pinned', { instanceID: ECS1, podCIDR: '10.0.77.0/24' }),
    ];
    await createMany(kc, hosts);
    const held = (): number => 10_000 - (emu!.faults.current().timeoutNext[0]?.left ?? 10_000);
    await waitFor('an UpdateRouteTable held and blocks in status', async () => held() >= 1 && (await listHn(kc)).filter((h) => h.status?.podCIDR).length >= 4, 30_000, 50);
    const before = new Map((await listHn(kc)).filter((h) => h.status?.podCIDR).map((h) => [h.metadata.name, h.status!.podCIDR!]));
    assert.equal(ownedRoutes(emu!).length, 0, 'no route exists yet');
    await first.kill();
    assert.ok(before.size >= 4, `blocks in status at the crash: ${before.size}`);
    console.log(`      killed with ${before.size} of ${hosts.length} blocks in status, ${held()} UpdateRouteTable call(s) held, 0 routes`);
    await checkInvariant(kc); // the crash left a consistent (if unfinished) state

    emu!.faults.clear();
    await start(['--resync-period=30s']);
    const all = await waitAllReady(kc, hosts.length, 60_000);
    for (const [name, block] of before) {
      assert.equal(all.find((h) => h.metadata.name === name)?.status?.podCIDR, block, `${name} keeps the block it had before the crash`);
    }
    assert.equal(all.find((h) => h.metadata.name === 'crash-a-pinned')?.status?.podCIDR, '10.0.77.0/24');
    const rep = await checkInvariant(kc, { emulator: emu, converged: true });
    assert.equal(rep.ownedRoutes, hosts.length);
  });

  it('(b) kill -9 while an UpdateRouteTable batch is in flight (100 hosts, 200 ms cloud latency); restart converges', async () => {
    emu!.faults.set({ latencyMs: 200 });
    const first = await start(['--source-dest-check=off', '--resync-period=30s']);
    const hosts = Array.from({ length: 100 }, (_, i) => hostNetwork(`crash-b-${i}`, { instanceID: SERVERS[i % 3]! }));
    const since = emu!.lastSeq;
    // In three waves, so that the kill lands mid-way however fast the controller batches: 80
    // hosts, then 10 more once the first batch is through (there is always a next batch to hold),
    // and the last 10 once that one is held (calls to one table never overlap: they wait).
    await createMany(kc, hosts.slice(0, 80));
    await waitFor('a first batch of routes', async () => emu!.callsSince(since, 'UpdateRouteTable').some((c) => c.status === 200), 30_000, 20);
    // The next UpdateRouteTable is applied by the cloud but its answer is held for 3 s: the
    // controller dies with a batch in flight that did happen.
    emu!.faults.set({ timeoutNext: { count: 1, operation: 'UpdateRouteTable', ms: 3000, apply: true } });
    await createMany(kc, hosts.slice(80, 90));
    await waitFor('a batch in flight', async () => emu!.faults.current().timeoutNext.length === 0, 30_000, 5);
    await createMany(kc, hosts.slice(90));
    const routesAtKill = ownedRoutes(emu!).length;
    await first.kill();
    const before = new Map((await listHn(kc)).filter((h) => h.status?.podCIDR).map((h) => [h.metadata.name, h.status!.podCIDR!]));
    console.log(`      killed mid-batch: ${routesAtKill} owned routes in the table, ${before.size} of 100 blocks in status`);
    assert.ok(routesAtKill > 0 && routesAtKill < 100, `the kill landed mid-way (${routesAtKill} routes)`);
    await checkInvariant(kc);
    // The held call is over (answered into the void, or dropped with the dead client's socket)
    // before the successor starts: the call log records it when it ends.
    await waitFor('the held UpdateRouteTable over', async () => emu!.callsSince(since, 'UpdateRouteTable').some((c) => c.fault === 'timeout'), 10_000, 20);

    const restartSeq = emu!.lastSeq;
    await start(['--source-dest-check=off', '--resync-period=30s']);
    const all = await waitAllReady(kc, 100, 90_000);
    for (const [name, block] of before) assert.equal(all.find((h) => h.metadata.name === name)?.status?.podCIDR, block, `${name} keeps its block`);
    const rep = await checkInvariant(kc, { emulator: emu, converged: true });
    assert.equal(rep.ownedRoutes, 100);
    const refused = emu!.callsSince(restartSeq, 'UpdateRouteTable').filter((c) => c.status !== 200);
    assert.deepEqual(refused, [], 'after the restart no route change was refused (no duplicate adds of routes that already exist)');
  });

  /**
   * Converged hosts whose blocks a fresh allocation would NOT hand out again: fillers take the
   * first blocks and are deleted, so a host that lost its block would get 10.0.0.0/24 & co.
   */
  async function hostsWithRememberedBlocks(): Promise<Map<string, string>> {
    await createMany(kc, Array.from({ length: 5 }, (_, i) => hostNetwork(`filler-${i}`, { instanceID: ECS1 })));
    await waitAllReady(kc, 5, 30_000);
    const names = Array.from({ length: 6 }, (_, i) => `restore-${i}`);
    for (const [i, n] of names.entries()) {
      await createHn(kc, hostNetwork(n, { instanceID: SERVERS[i % 3]! }));
      await waitFor(`${n} has a block`, async () => (await getHn(kc, n))?.status?.podCIDR, 20_000, 50);
    }
    await createHn(kc, hostNetwork('restore-pinned', { instanceID: ECS2, podCIDR: '10.0.99.0/24' }));
    await waitAllReady(kc, 12, 30_000);
    for (let i = 0; i < 5; i++) await deleteHn(kc, `filler-${i}`);
    const held = new Map((await waitAllReady(kc, 7, 30_000)).map((h) => [h.metadata.name, h.status!.podCIDR!]));
    for (const b of held.values()) assert.ok(!['10.0.0.0/24', '10.0.1.0/24', '10.0.2.0/24', '10.0.3.0/24', '10.0.4.0/24'].includes(b), `${b} is not a first-fit block`);
    await checkInvariant(kc, { emulator: emu, converged: true });
    return held;
  }

  async function waitBlocksBack(held: Map<string, string>): Promise<HostNetwork[]> {
    const all = await waitFor(
      'every host has a block again',
      async () => {
        const l = await listHn(kc);
        return l.length === held.size && l.every((h) => h.status?.podCIDR && cond(h, 'CIDRAllocated')?.status === 'True') ? l : undefined;
      },
      30_000,
      100,
    );
    for (const h of all) assert.equal(h.status?.podCIDR, held.get(h.metadata.name), `${h.metadata.name} got its old block back`);
    await checkInvariant(kc);
    return all;
  }

  it('(d1) status stripped from converged hosts while the controller runs: each gets its old block back from the ledger and turns Ready again', async () => {
    await start(['--resync-period=3s']);
    const held = await hostsWithRememberedBlocks();
    const ledgerRv = (await readLedger(kc)).resourceVersion;
    for (const n of held.keys()) assert.equal((await stripStatus(kc, n)).status, undefined, `status of ${n} really gone`);
    await waitBlocksBack(held);
    assert.equal((await readLedger(kc)).resourceVersion, ledgerRv, 'no new allocation was recorded');
    // Well over one resync period (3 s): every host must be Ready again.
    await waitAllReady(kc, held.size, 15_000, 'every host Ready again after its status was stripped');
    await checkInvariant(kc, { emulator: emu, converged: true });
  });

  it('(d2) ledger deleted and status stripped (one object deleted and recreated without status) while the controller is down: blocks recovered from the owned routes', async () => {
    const ctl = await start(['--resync-period=3s']);
    const held = await hostsWithRememberedBlocks();
    await ctl.stop();
    ctls.splice(ctls.indexOf(ctl), 1);
    await deleteLedger(kc);
    for (const n of held.keys()) assert.equal((await stripStatus(kc, n)).status, undefined);
    const api = kc.makeApiClient(CustomObjectsApi);
    await api.patchClusterCustomObject({ ...HN, name: 'restore-1', body: { metadata: { finalizers: null } } }, setHeaderOptions('Content-Type', 'application/merge-patch+json'));
    const old = (await getHn(kc, 'restore-1'))!;
    await deleteHn(kc, 'restore-1');
    await waitFor('restore-1 deleted', async () => (await getHn(kc, 'restore-1')) === undefined, 10_000, 50);
    await createHn(kc, hostNetwork('restore-1', old.spec));
    assert.equal((await readLedger(kc)).exists, false);

    await start(['--resync-period=3s']);
    const all = await waitBlocksBack(held);
    for (const h of all) {
      if (h.metadata.name === 'restore-pinned') continue;
      assert.match(cond(h, 'CIDRAllocated')?.message ?? '', /recovered/, `${h.metadata.name}: ${cond(h, 'CIDRAllocated')?.message}`);
    }
    const recovered = all.find((h) => h.metadata.name === 'restore-3')!;
    await waitFor('CIDRRecovered event', async () => (await eventsFor(kc, recovered)).some((e) => e.reason === 'CIDRRecovered'), 10_000);
    const ledger = await readLedger(kc);
    assert.deepEqual(new Map([...ledger.records].sort()), new Map([...held].map(([n, b]) => [b, n] as [string, string]).sort()), 'the ledger was rebuilt with the same blocks');
    await waitAllReady(kc, held.size, 15_000, 'every host Ready again after recovery');
    await checkInvariant(kc, { emulator: emu, converged: true });
  });
});
