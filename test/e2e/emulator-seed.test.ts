// End to end: the controller process, the real kube-apiserver, and the VPC emulator reached
// through the real Huawei SDK. The seed scenario, migration, deletion and drift.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CustomObjectsApi, loadAllYaml, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { controlPlane, adminKubeConfig } from '../helpers/controlplane.js';
import { installCrd, repoRoot, waitFor } from '../helpers/kube.js';
import { emulatorArgs, emulatorEnv, startController, type ControllerProcess } from '../helpers/controller.js';
import { SEED, startEmulator, type Emulator } from '../emulator/server.js';
import type { HostNetwork } from '../../controller/api/types.js';
import { readLedger } from '../helpers/invariants.js';

const G = { group: 'hostnet.io', version: 'v1alpha1', plural: 'hostnetworks' };
const ECS1 = SEED.servers['ecs-1'].id;
const ECS2 = SEED.servers['ecs-2'].id;
const ECS3 = SEED.servers['ecs-3'].id;

async function getHn(api: CustomObjectsApi, name: string): Promise<HostNetwork> {
  return (await api.getClusterCustomObject({ ...G, name })) as HostNetwork;
}

function ready(hn: HostNetwork): boolean {
  return hn.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true && hn.status?.observedGeneration === hn.metadata.generation;
}

async function deleteAll(api: CustomObjectsApi): Promise<void> {
  const list = (await api.listClusterCustomObject(G)) as { items: HostNetwork[] };
  await Promise.all(list.items.map((i) => api.deleteClusterCustomObject({ ...G, name: i.metadata.name }).catch(() => undefined)));
}

function routesOf(emu: Emulator): { destination: string; nexthop: string | null; type: string; description: string | null }[] {
  const t = emu.snapshot().route_tables.find((r) => r.id === SEED.routeTableId)!;
  return t.routes as never;
}

describe('e2e: controller + VPC emulator (real SDK) + real API server', function () {
  this.timeout(120_000);
  let kc: KubeConfig;
  let api: CustomObjectsApi;
  let emu: Emulator;
  let ctl: ControllerProcess | undefined;

  before(async () => {
    kc = await adminKubeConfig();
    await installCrd(kc);
    api = kc.makeApiClient(CustomObjectsApi);
  });

  beforeEach(async () => {
    await deleteAll(api);
    emu = await startEmulator({});
  });

  afterEach(async function () {
    await deleteAll(api);
    if (ctl) {
      // Let the controller run the finalizers, then stop it.
      await waitFor('hostnetworks gone', async () => ((await api.listClusterCustomObject(G)) as { items: unknown[] }).items.length === 0, 30_000).catch(() => undefined);
      await ctl.stop();
      if (this.currentTest?.state === 'failed') console.log(ctl.logs().slice(-5000));
    }
    ctl = undefined;
    await emu.close();
  });

  async function start(extra: string[] = []): Promise<ControllerProcess> {
    const cp = await controlPlane();
    ctl = await startController({
      kubeconfig: cp.kubeconfig,
      args: [...emulatorArgs(emu.url), '--pool-cidr=10.0.0.0/16', '--resync-period=3s', '--leader-elect=false', ...extra],
      env: emulatorEnv(),
      waitLeader: true,
    });
    return ctl;
  }

  async function applySeed(): Promise<void> {
    const docs = loadAllYaml(readFileSync(`${repoRoot}/examples/seed-hosts.yaml`, 'utf8')) as HostNetwork[];
    for (const d of docs) await api.createClusterCustomObject({ ...G, body: d });
    await waitFor('seed hosts Ready', async () => ready(await getHn(api, 'ecs-1')) && ready(await getHn(api, 'ecs-2')), 60_000, 200);
  }

  it('programs the seed topology: routes, source/destination check, security group rule', async () => {
    await start();
    await applySeed();
    const routes = routesOf(emu).filter((r) => r.type === 'ecs');
    assert.deepEqual(
      routes.map((r) => [r.destination, r.nexthop]).sort(),
      [
        ['10.0.2.0/24', ECS1],
        ['10.0.3.0/24', ECS2],
      ],
    );
    for (const r of routes) assert.match(r.description ?? '', /^hostnet:default:ecs-[12]$/);
    const snap = emu.snapshot();
    for (const id of [ECS1, ECS2]) {
      const port = snap.ports.find((p) => p.device_id === id)!;
      assert.ok(port.allowed_address_pairs.some((p) => p.ip_address === '1.1.1.1/0'), `port of ${id} has 1.1.1.1/0`);
    }
    const sg = snap.security_groups.find((s) => s.id === SEED.securityGroupId)!;
    assert.ok(
      sg.rules.some((r) => r.direction === 'ingress' && r.remote_ip_prefix === '10.0.0.0/16'),
      'an ingress rule for the pool exists',
    );
    const hn = await getHn(api, 'ecs-1');
    assert.equal(hn.status?.podCIDR, '10.0.2.0/24');
    assert.equal(hn.status?.nextHop, ECS1);
    assert.deepEqual(hn.status?.routeTables, [{ id: SEED.routeTableId, state: 'Programmed' }]);
  });

  it('follows a migration with exactly one UpdateRouteTable carrying a mod', async () => {
    await start();
    await applySeed();
    const since = emu.lastSeq;
    await api.patchClusterCustomObject(
      { ...G, name: 'ecs-2', body: { spec: { instanceID: ECS3 } } },
      setHeaderOptions('Content-Type', 'application/merge-patch+json'),
    );
    await waitFor('ecs-2 Ready on ecs-3', async () => {
      const hn = await getHn(api, 'ecs-2');
      return ready(hn) && hn.status?.nextHop === ECS3;
    });
    const updates = emu.callsSince(since, 'UpdateRouteTable');
    assert.equal(updates.length, 1, JSON.stringify(updates));
    assert.deepEqual(updates[0]!.delta, { add: 0, mod: 1, del: 0 });
    assert.ok(routesOf(emu).some((r) => r.destination === '10.0.3.0/24' && r.nexthop === ECS3));
    assert.equal((await getHn(api, 'ecs-2')).status?.podCIDR, '10.0.3.0/24', 'the block stays');
  });

  it('leaves the NIC as it was found: migration and deletion take off the pair the controller added, a pair found there stays', async () => {
    emu.setPortAddressPairs(SEED.servers['ecs-1'].portId, [{ ip_address: '192.168.0.100' }]);
    await start();
    await applySeed();
    const pairsOf = (server: string) => emu.snapshot().ports.find((p) => p.device_id === server)!.allowed_address_pairs.map((p) => p.ip_address);
    assert.deepEqual(pairsOf(ECS2), ['1.1.1.1/0']);
    // Recorded in status through the real API server (the CRD schema keeps the field).
    assert.deepEqual((await getHn(api, 'ecs-2')).status?.addedPair, { instanceID: ECS2, portId: SEED.servers['ecs-2'].portId, pair: '1.1.1.1/0' });
    await api.patchClusterCustomObject({ ...G, name: 'ecs-2', body: { spec: { instanceID: ECS3 } } }, setHeaderOptions('Content-Type', 'application/merge-patch+json'));
    await waitFor('ecs-2 Ready on ecs-3', async () => {
      const hn = await getHn(api, 'ecs-2');
      return ready(hn) && hn.status?.nextHop === ECS3;
    });
    assert.deepEqual(pairsOf(ECS2), [], 'the old server no longer serves a block: its pair is gone');
    assert.deepEqual(pairsOf(ECS3), ['1.1.1.1/0']);
    await api.deleteClusterCustomObject({ ...G, name: 'ecs-1' });
    await waitFor('ecs-1 finalized', async () => ((await api.listClusterCustomObject(G)) as { items: HostNetwork[] }).items.every((i) => i.metadata.name !== 'ecs-1'));
    assert.deepEqual(pairsOf(ECS1), ['192.168.0.100'], 'the pair found on the port stays, ours is gone');
  });

  it('checks spec.hostIP against the NIC the cloud reports: a wrong one is named with the real address; status follows a migration', async () => {
    await start();
    await applySeed();
    const hostCond = (hn: HostNetwork) => hn.status?.conditions?.find((c) => c.type === 'HostIPVerified');
    const right = await getHn(api, 'ecs-1');
    assert.deepEqual([hostCond(right)?.status, hostCond(right)?.reason], ['True', 'HostIPMatches'], JSON.stringify(hostCond(right)));
    assert.equal(right.status?.hostIP, SEED.servers['ecs-1'].ip);

    const patch = (name: string, spec: object) => api.patchClusterCustomObject({ ...G, name, body: { spec } }, setHeaderOptions('Content-Type', 'application/merge-patch+json'));
    await patch('ecs-1', { hostIP: '172.16.5.5' });
    const wrong = await waitFor('ecs-1 judged at generation 2', async () => {
      const hn = await getHn(api, 'ecs-1');
      return hn.status?.observedGeneration === hn.metadata.generation && hn.metadata.generation === 2 ? hn : undefined;
    });
    const c = hostCond(wrong)!;
    assert.deepEqual([c.status, c.reason], ['False', 'HostIPMismatch'], JSON.stringify(c));
    assert.match(c.message, /172\.16\.5\.5/);
    assert.match(c.message, /192\.168\.0\.2/);
    assert.ok(ready(wrong), 'Ready does not wait for the hostIP check (the route targets the server id)');

    // Containers move to ecs-2's server: the address shown is that server's, as the cloud says.
    await patch('ecs-1', { instanceID: ECS2 });
    const moved = await waitFor('ecs-1 Ready on the server of ecs-2', async () => {
      const hn = await getHn(api, 'ecs-1');
      return ready(hn) && hn.status?.nextHop === ECS2 ? hn : undefined;
    });
    assert.equal(moved.status?.hostIP, SEED.servers['ecs-2'].ip);
    assert.match(hostCond(moved)!.message, /192\.168\.0\.3/);
  });

  it('deletion removes the route, releases the block and leaves foreign routes alone', async () => {
    await start();
    emu.addRoute(SEED.routeTableId, { destination: '10.0.9.0/24', nexthop: ECS3, description: 'added by a person' });
    await applySeed();
    await api.deleteClusterCustomObject({ ...G, name: 'ecs-1' });
    await waitFor('ecs-1 gone', async () => getHn(api, 'ecs-1').then(() => false, () => true));
    const dests = routesOf(emu).map((r) => r.destination);
    assert.ok(!dests.includes('10.0.2.0/24'), 'route of ecs-1 removed');
    assert.ok(dests.includes('10.0.3.0/24'), 'route of ecs-2 kept');
    assert.ok(routesOf(emu).some((r) => r.destination === '10.0.9.0/24' && r.description === 'added by a person'), 'foreign route untouched');
    const ledger = await readLedger(kc);
    assert.ok(ledger.exists && ![...ledger.records.values()].includes('ecs-1'), 'block released in the ledger');
  });

  it('repairs out-of-band edits within a resync and reports a foreign route on a wanted destination', async () => {
    await start();
    await applySeed();
    emu.deleteRoute(SEED.routeTableId, '10.0.2.0/24');
    emu.modifyRoute(SEED.routeTableId, { destination: '10.0.3.0/24', nexthop: ECS3 });
    emu.addRoute(SEED.routeTableId, { destination: '10.0.200.0/24', nexthop: ECS3, description: 'hostnet:default:ghost' });
    await waitFor(
      'drift repaired',
      async () => {
        const r = routesOf(emu);
        return (
          r.some((x) => x.destination === '10.0.2.0/24' && x.nexthop === ECS1) &&
          r.some((x) => x.destination === '10.0.3.0/24' && x.nexthop === ECS2) &&
          !r.some((x) => x.destination === '10.0.200.0/24')
        );
      },
      15_000,
      200,
    );
    // A person's route on a destination a host wants: reported, not touched.
    emu.addRoute(SEED.routeTableId, { destination: '10.0.7.0/24', nexthop: ECS3, description: 'mine' });
    await api.createClusterCustomObject({ ...G, body: { apiVersion: 'hostnet.io/v1alpha1', kind: 'HostNetwork', metadata: { name: 'ecs-3' }, spec: { instanceID: ECS3, podCIDR: '10.0.7.0/24' } } });
    await waitFor('RouteConflict', async () => {
      const hn = await getHn(api, 'ecs-3');
      return hn.status?.conditions?.some((c) => c.type === 'RouteProgrammed' && c.status === 'False' && c.reason === 'RouteConflict');
    });
    assert.ok(routesOf(emu).some((r) => r.destination === '10.0.7.0/24' && r.description === 'mine' && r.nexthop === ECS3));
    assert.ok(Number(await ctl!.metric('hostnet_drift_repairs_total', { kind: 'missing' })) >= 1);
    assert.ok(Number(await ctl!.metric('hostnet_drift_repairs_total', { kind: 'orphaned' })) >= 1);
  });
});
