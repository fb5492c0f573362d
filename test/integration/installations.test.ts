// Two installations in one VPC never touch each other (issue 10, point 6): two real control
// planes, two controllers with every flag at its default, one emulator. And upgrade safety: an
// installation from before ids were derived keeps "default" (its routes, ledger and Lease).
import assert from 'node:assert/strict';
import { CoordinationV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { startControlPlane, type ControlPlane } from '../../hack/controlplane.js';
import { emulatorArgs, emulatorEnv, freshCluster, startController, type ControllerProcess } from '../helpers/controller.js';
import { cond, createHn, dumpLogs, ECS1, ECS2, getHn, hostNetwork, isReady, logLines, readLedger } from '../helpers/invariants.js';
import { installCrd, resetCluster, waitFor } from '../helpers/kube.js';
import { SEED, startEmulator, type Emulator } from '../emulator/server.js';

/** Every flag at its default: no installation id (startController pins "default" otherwise). */
const AUTO_ID = { HOSTNET_INSTALLATION_ID: '' };
const FAST = ['--resync-period=2s'];

async function kubeSystemUid(kc: KubeConfig): Promise<string> {
  return (await kc.makeApiClient(CoreV1Api).readNamespace({ name: 'kube-system' })).metadata!.uid!;
}

/** The id the controller logged at start-up. */
function installationOf(ctl: ControllerProcess): string | undefined {
  return logLines(ctl).find((l) => l.message === 'hostnet-controller starting')?.installation as string | undefined;
}

/** Resolves after `n` more full syncs of the controller (its last-full-sync gauge moves). */
async function fullSyncs(ctl: ControllerProcess, n: number): Promise<void> {
  let last = (await ctl.metric('hostnet_last_full_sync_timestamp_seconds')) ?? 0;
  for (let i = 0; i < n; i++) {
    last = await waitFor(
      'a full sync',
      async () => {
        const t = (await ctl.metric('hostnet_last_full_sync_timestamp_seconds')) ?? 0;
        return t > last ? t : undefined;
      },
      15_000,
      100,
    );
  }
}

describe('installations: two in one VPC never touch each other; upgrades keep their id', function () {
  this.timeout(120_000);
  let emu: Emulator;
  let kcA: KubeConfig;
  let cpA: ControlPlane;
  let ctls: ControllerProcess[] = [];

  beforeEach(async () => {
    ({ cp: cpA, kc: kcA } = await freshCluster());
    emu = await startEmulator({});
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') dumpLogs(ctls);
    for (const c of ctls) await c.stop();
    ctls = [];
    await resetCluster(kcA);
    await emu.close();
  });

  describe('two management clusters, defaults everywhere', () => {
    let cpB: ControlPlane;
    let kcB: KubeConfig;

    before(async () => {
      cpB = await startControlPlane();
      kcB = new KubeConfig();
      kcB.loadFromFile(cpB.kubeconfig);
      await installCrd(kcB);
    });

    after(async () => {
      await cpB?.stop();
    });

    afterEach(async () => {
      await resetCluster(kcB);
    });

    it('each gets its own id; neither modifies or deletes the other\'s routes; a clash is a RouteConflict', async () => {
      const start = async (cp: ControlPlane): Promise<ControllerProcess> => {
        const c = await startController({ kubeconfig: cp.kubeconfig, args: [...emulatorArgs(emu.url), ...FAST], env: { ...emulatorEnv(), ...AUTO_ID }, waitLeader: true });
        ctls.push(c);
        return c;
      };
      const [a, b] = [await start(cpA), await start(cpB)];
      const [idA, idB] = [installationOf(a), installationOf(b)];
      assert.ok(idA?.startsWith(`cluster-${(await kubeSystemUid(kcA)).slice(0, 8)}-`), `A's id ${idA} comes from its kube-system UID`);
      assert.ok(idB?.startsWith(`cluster-${(await kubeSystemUid(kcB)).slice(0, 8)}-`), `B's id ${idB} comes from its kube-system UID`);
      assert.notEqual(idA, idB);
      assert.equal(await a.metric('hostnet_installation_info', { installation_id: idA!, source: 'cluster' }), 1, 'A exports its id');
      assert.equal(await b.metric('hostnet_installation_info', { installation_id: idB!, source: 'cluster' }), 1, 'B exports its id');

      // The same host name in both clusters, different blocks; B also wants A's block, once A's
      // route is in the table (whichever route lands first holds the destination: created at
      // once, B's could land first on a loaded machine, and then A's host is the one in conflict).
      await createHn(kcA, hostNetwork('web', { instanceID: ECS1, podCIDR: '10.0.2.0/24' }));
      await createHn(kcB, hostNetwork('web', { instanceID: ECS2, podCIDR: '10.0.3.0/24' }));
      await waitFor('web Ready in A', async () => isReady(await getHn(kcA, 'web')), 30_000);
      await createHn(kcB, hostNetwork('clash', { instanceID: ECS2, podCIDR: '10.0.2.0/24' }));
      await waitFor('web Ready in B', async () => isReady(await getHn(kcB, 'web')), 30_000);
      const clash = await waitFor('clash reports RouteConflict in B', async () => {
        const c = cond(await getHn(kcB, 'clash'), 'RouteProgrammed');
        return c?.reason === 'RouteConflict' ? c : undefined;
      });
      assert.equal(clash.status, 'False');
      assert.match(clash.message, new RegExp(`hostnet:${idA}:web`), 'the message names the other installation\'s route');

      // Several full syncs of both: no write at all, and the table stays as each one left it.
      const seq = emu.lastSeq;
      await Promise.all([fullSyncs(a, 2), fullSyncs(b, 2)]);
      const writes = emu.callsSince(seq, 'UpdateRouteTable');
      assert.deepEqual(writes.map((w) => w.delta), [], 'no installation rewrote the table');
      const routes = emu.snapshot().route_tables.find((t) => t.id === SEED.routeTableId)!.routes.filter((r) => r.type === 'ecs');
      assert.deepEqual(
        routes.map((r) => [r.destination, r.nexthop, r.description]).sort(),
        [
          ['10.0.2.0/24', ECS1, `hostnet:${idA}:web`],
          ['10.0.3.0/24', ECS2, `hostnet:${idB}:web`],
        ],
      );
      assert.ok(isReady(await getHn(kcA, 'web')) && isReady(await getHn(kcB, 'web')));
      assert.equal(await a.metric('hostnet_drift_repairs_total', { kind: 'orphaned' }), 0, "A never took B's route for its own orphan");
      assert.equal(await b.metric('hostnet_drift_repairs_total', { kind: 'orphaned' }), 0, "B never took A's route for its own orphan");
    });
  });

  describe('upgrade from an installation with the implicit id "default"', () => {
    it('keeps "default" (routes, ledger, Lease): no route rewritten, hosts stay Ready', async () => {
      // Before the upgrade: "default" was the flag's default.
      const old = await startController({ kubeconfig: cpA.kubeconfig, args: [...emulatorArgs(emu.url), ...FAST, '--installation-id=default'], env: emulatorEnv(), waitLeader: true });
      ctls.push(old);
      await createHn(kcA, hostNetwork('ecs-1', { instanceID: ECS1 }));
      await createHn(kcA, hostNetwork('ecs-2', { instanceID: ECS2 }));
      await waitFor('both Ready', async () => isReady(await getHn(kcA, 'ecs-1')) && isReady(await getHn(kcA, 'ecs-2')), 30_000);
      const before = emu.snapshot().route_tables.find((t) => t.id === SEED.routeTableId)!.routes.filter((r) => r.type === 'ecs');
      const ledger = await readLedger(kcA, 'default');
      assert.equal(ledger.records.size, 2);
      await old.stop();
      ctls = [];

      const seq = emu.lastSeq;
      const upgraded = await startController({ kubeconfig: cpA.kubeconfig, args: [...emulatorArgs(emu.url), ...FAST], env: { ...emulatorEnv(), ...AUTO_ID }, waitLeader: true });
      ctls.push(upgraded);
      assert.equal(installationOf(upgraded), 'default');
      assert.equal(await upgraded.metric('hostnet_installation_info', { installation_id: 'default', source: 'legacy' }), 1);
      assert.ok(logLines(upgraded).some((l) => l.level === 'warn' && /set --installation-id=default explicitly/.test(String(l.message))), 'it recommends setting the id');
      await fullSyncs(upgraded, 2);
      assert.deepEqual(emu.callsSince(seq, 'UpdateRouteTable'), [], 'its own routes are still its own: nothing rewritten');
      assert.deepEqual(emu.snapshot().route_tables.find((t) => t.id === SEED.routeTableId)!.routes.filter((r) => r.type === 'ecs'), before);
      assert.deepEqual((await readLedger(kcA, 'default')).records, ledger.records, 'the same ledger');
      const lease = await kcA.makeApiClient(CoordinationV1Api).readNamespacedLease({ name: 'hostnet-controller-default', namespace: 'default' });
      assert.ok(lease.spec?.holderIdentity, 'it leads on the old Lease');
      assert.ok(isReady(await getHn(kcA, 'ecs-1')) && isReady(await getHn(kcA, 'ecs-2')));
    });

    it('rolling upgrade before anything was allocated: the new pod waits on the old pod\'s Lease (never two leaders)', async () => {
      const old = await startController({ kubeconfig: cpA.kubeconfig, args: [...emulatorArgs(emu.url), '--installation-id=default'], env: emulatorEnv(), waitLeader: true });
      ctls.push(old);
      const fresh = await startController({ kubeconfig: cpA.kubeconfig, args: emulatorArgs(emu.url), env: { ...emulatorEnv(), ...AUTO_ID } });
      ctls.push(fresh);
      assert.equal(installationOf(fresh), 'default', 'the Lease of "default" exists: the new pod keeps that id');
      assert.equal(await fresh.metric('hostnet_leader'), 0, 'the new pod is a standby');
      assert.equal(await old.metric('hostnet_leader'), 1);
    });
  });
});
