// Two controller replicas with leader election on a real coordination.k8s.io Lease: only the
// leader reconciles, SIGTERM hands the lease over, and a leader killed in the middle of 300
// concurrent creations is replaced by the standby without ever breaking the allocation invariant.
import assert from 'node:assert/strict';
import { CoordinationV1Api, type KubeConfig } from '@kubernetes/client-node';
import { controlPlane, adminKubeConfig } from '../helpers/controlplane.js';
import { emulatorArgs, emulatorEnv, startController, type ControllerProcess } from '../helpers/controller.js';
import { installCrd, resetCluster, waitFor } from '../helpers/kube.js';
import {
  ECS1,
  ECS2,
  ECS3,
  checkInvariant,
  createHn,
  createMany,
  dumpLogs,
  getHn,
  hostNetwork,
  isReady,
  leaderGauge,
  listHn,
  logLines,
  sleep,
  waitAllReady,
} from '../helpers/invariants.js';
import { startEmulator, type Emulator } from '../emulator/server.js';

const LEASE = { name: 'hostnet-controller-default', namespace: 'default' };

function identityOf(ctl: ControllerProcess): string {
  const line = logLines(ctl).find((l) => l.message === 'hostnet-controller starting');
  assert.ok(line, 'start-up line logged');
  return String(line.identity);
}

/** Log lines about a particular HostNetwork: what a replica that reconciles writes. */
function reconcileLines(ctl: ControllerProcess): unknown[] {
  return logLines(ctl).filter((l) => typeof l.hostnetwork === 'string' || /block assigned|finalized|route not programmed|reconcile failed/.test(l.message ?? ''));
}

describe('controller core: leader election with two replicas (real Lease, real API server)', function () {
  this.timeout(150_000);
  let kc: KubeConfig;
  let kubeconfig: string;
  let emu: Emulator | undefined;
  const ctls: ControllerProcess[] = [];

  before(async () => {
    kubeconfig = (await controlPlane()).kubeconfig;
    kc = await adminKubeConfig();
    await installCrd(kc);
    await resetCluster(kc);
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') dumpLogs(ctls, 3000);
    for (const c of ctls.splice(0)) await c.stop();
    await resetCluster(kc);
    await emu?.close();
    emu = undefined;
  });

  it('only the leader reconciles; SIGTERM releases the lease and the standby takes over', async () => {
    const args = ['--cloud-provider=memory', '--leader-elect=true', '--lease-duration=15s', '--renew-deadline=10s', '--retry-period=500ms', '--resync-period=30s'];
    const a = await startController({ kubeconfig, args, waitLeader: true });
    ctls.push(a);
    const b = await startController({ kubeconfig, args });
    ctls.push(b);
    await createMany(kc, [hostNetwork('le-1', { instanceID: ECS1 }), hostNetwork('le-2', { instanceID: ECS2 })]);
    await waitAllReady(kc, 2, 30_000);
    // Nothing to wait for when nothing should happen: give a misbehaving standby the time to act
    // too, measured by the lease: the leader renews it twice more (every retry period), and the
    // standby, which reads it every retry period, has had its turns meanwhile.
    const leases = kc.makeApiClient(CoordinationV1Api);
    const renewTime = async (): Promise<string> => String(new Date((await leases.readNamespacedLease(LEASE)).spec?.renewTime ?? 0).getTime());
    for (let renewals = 0, last = await renewTime(); renewals < 2; renewals++) {
      const seen = last;
      last = await waitFor('the leader renewing its lease', async () => {
        const now = await renewTime();
        return now !== seen ? now : undefined;
      }, 10_000, 50);
    }

    assert.equal(await leaderGauge(a), 1, 'a leads');
    assert.equal(await leaderGauge(b), 0, 'b stands by');
    assert.ok(((await a.metric('hostnet_reconcile_total', { result: 'success' })) ?? 0) > 0, 'the leader reconciled');
    const standbyReconciles = (await b.metric('hostnet_reconcile_total', { result: 'success' })) ?? 0;
    assert.equal(standbyReconciles, 0, 'hostnet_reconcile_total absent or 0 on the standby');
    assert.equal((await b.metric('hostnet_reconcile_total', { result: 'error' })) ?? 0, 0);
    assert.deepEqual(reconcileLines(b), [], 'the standby logs no reconciles');
    const lease = await kc.makeApiClient(CoordinationV1Api).readNamespacedLease(LEASE);
    assert.equal(lease.spec?.holderIdentity, identityOf(a));

    const t0 = Date.now();
    const code = await a.stop();
    assert.equal(code, 0, 'graceful exit');
    ctls.splice(ctls.indexOf(a), 1);
    await waitFor('b leads', async () => (await leaderGauge(b)) === 1, 30_000, 50);
    console.log(`      standby leading ${Date.now() - t0} ms after SIGTERM to the leader (lease duration 15 s)`);
    const released = logLines(a).find((l) => l.message === 'released the lease');
    assert.ok(released, 'the leader logged that it released the lease');
    const became = logLines(b).find((l) => l.message === 'became leader');
    assert.ok(became, 'the standby logged that it became leader');
    assert.ok(String(became.timestamp) >= String(released.timestamp), `released at ${released.timestamp}, taken over at ${became.timestamp}`);
    const after = await kc.makeApiClient(CoordinationV1Api).readNamespacedLease(LEASE);
    assert.equal(after.spec?.holderIdentity, identityOf(b));

    // The new leader reconciles.
    await createHn(kc, hostNetwork('le-3', { instanceID: ECS3 }));
    await waitFor('le-3 Ready under the new leader', async () => isReady(await getHn(kc, 'le-3')), 30_000, 100);
    assert.ok(((await b.metric('hostnet_reconcile_total', { result: 'success' })) ?? 0) > 0);
    await checkInvariant(kc, { converged: true });
  });

  it('300 concurrent creations, leader killed (-9) in the middle: the standby takes over, all converge, the invariant holds, never two leaders', async () => {
    emu = await startEmulator({ routeQuota: 400 });
    const args = [
      ...emulatorArgs(emu.url),
      '--pool-cidr=10.0.0.0/15', // 512 blocks of /24 for 300 hosts
      '--route-table-capacity=400',
      '--source-dest-check=off',
      '--cloud-qps=200',
      '--cloud-burst=200',
      '--leader-elect=true',
      '--lease-duration=4s',
      '--renew-deadline=3s',
      '--retry-period=500ms',
      '--resync-period=30s',
    ];
    const a = await startController({ kubeconfig, args, env: emulatorEnv(), waitLeader: true });
    ctls.push(a);
    const b = await startController({ kubeconfig, args, env: emulatorEnv() });
    ctls.push(b);

    const samples: { t: number; a: number; b: number; phase: string }[] = [];
    let phase = 'a leads';
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const [ga, gb] = await Promise.all([leaderGauge(a), leaderGauge(b)]);
        samples.push({ t: Date.now(), a: ga, b: gb, phase });
        await sleep(100);
      }
    })();

    try {
      const servers = [ECS1, ECS2, ECS3];
      const creating = createMany(kc, Array.from({ length: 300 }, (_, i) => hostNetwork(`ha-${i}`, { instanceID: servers[i % 3]! })), 48);
      creating.catch(() => undefined); // awaited below; no unhandled rejection if the test fails first
      await waitFor('a third of the hosts allocated', async () => (await listHn(kc)).filter((h) => h.status?.podCIDR).length >= 100, 60_000, 100);
      phase = 'leader killed';
      await a.kill();
      const atKill = (await listHn(kc)).filter((h) => h.status?.podCIDR).length;
      await checkInvariant(kc);
      await waitFor('the standby leads', async () => (await leaderGauge(b)) === 1, 30_000, 50);
      phase = 'b leads';
      await creating;
      await checkInvariant(kc);
      const t0 = Date.now();
      await waitFor(
        'every host has a block',
        async () => {
          const l = await listHn(kc);
          return l.length === 300 && l.every((h) => h.status?.podCIDR);
        },
        60_000,
        200,
      );
      sampling = false;
      await sampler;
      await checkInvariant(kc);
      console.log(`      leader killed with ${atKill}/300 blocks in status; ${samples.length} leader samples`);
      const two = samples.filter((s) => s.a + s.b > 1);
      assert.deepEqual(two, [], 'never two replicas reporting hostnet_leader 1');
      const aLeads = samples.filter((s) => s.phase === 'a leads');
      const bLeads = samples.filter((s) => s.phase === 'b leads');
      assert.ok(aLeads.length > 0 && bLeads.length > 0);
      assert.ok(aLeads.every((s) => s.a === 1 && s.b === 0), `before the kill exactly a leads: ${JSON.stringify(aLeads.filter((s) => s.a !== 1 || s.b !== 0))}`);
      assert.ok(bLeads.every((s) => s.a === 0 && s.b === 1), `after the take-over exactly b leads: ${JSON.stringify(bLeads.filter((s) => s.b !== 1))}`);
      const lease = await kc.makeApiClient(CoordinationV1Api).readNamespacedLease(LEASE);
      assert.equal(lease.spec?.holderIdentity, identityOf(b));
      assert.ok((lease.spec?.leaseTransitions ?? 0) >= 1, 'the lease changed hands');

      await waitAllReady(kc, 300, 60_000);
      console.log(`      all 300 Ready ${((Date.now() - t0) / 1000).toFixed(1)} s after the last creation`);
      const rep = await checkInvariant(kc, { emulator: emu, converged: true });
      assert.equal(rep.ownedRoutes, 300);
    } finally {
      sampling = false;
      await sampler;
    }
  });
});
