// End to end at a scale where batching, faults and quota matter: 100 hosts through a storm of
// throttling, 5xx, timeouts and resets; 250 hosts against a 200-route table.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import PQueue from 'p-queue';
import { adminKubeConfig, controlPlane } from '../helpers/controlplane.js';
import { installCrd, resetCluster, waitFor } from '../helpers/kube.js';
import { emulatorArgs, emulatorEnv, startController, type ControllerProcess } from '../helpers/controller.js';
import { SEED, startEmulator, type Emulator } from '../emulator/server.js';
import { logLines } from '../helpers/invariants.js';
import type { HostNetwork } from '../../controller/api/types.js';

const G = { group: 'hostnet.io', version: 'v1alpha1', plural: 'hostnetworks' };
const SERVERS = Object.values(SEED.servers).map((s) => s.id);

async function createHosts(api: CustomObjectsApi, n: number, prefix: string): Promise<void> {
  const q = new PQueue({ concurrency: 25 });
  for (let i = 0; i < n; i++) {
    void q.add(() =>
      api.createClusterCustomObject({
        ...G,
        body: { apiVersion: 'hostnet.io/v1alpha1', kind: 'HostNetwork', metadata: { name: `${prefix}-${i}` }, spec: { instanceID: SERVERS[i % SERVERS.length] } },
      }),
    );
  }
  await q.onIdle();
}

async function list(api: CustomObjectsApi): Promise<HostNetwork[]> {
  return ((await api.listClusterCustomObject(G)) as { items: HostNetwork[] }).items;
}

function cond(hn: HostNetwork, type: string): { status: string; reason: string } | undefined {
  return hn.status?.conditions?.find((c) => c.type === type);
}

/** No block twice; every host's block routed to its server by exactly one route of ours. */
function assertInvariant(hosts: HostNetwork[], emu: Emulator): void {
  const blocks = hosts.map((h) => h.status?.podCIDR).filter((b): b is string => !!b);
  assert.equal(new Set(blocks).size, blocks.length, 'no block held twice');
  const routes = emu.snapshot().route_tables.find((t) => t.id === SEED.routeTableId)!.routes.filter((r) => r.type === 'ecs');
  assert.equal(new Set(routes.map((r) => r.destination)).size, routes.length, 'no destination twice');
  for (const h of hosts) {
    if (cond(h, 'RouteProgrammed')?.status !== 'True') continue;
    const r = routes.filter((x) => x.destination === h.status!.podCIDR);
    assert.equal(r.length, 1, `one route for ${h.metadata.name}`);
    assert.equal(r[0]!.nexthop, h.spec.instanceID, `route of ${h.metadata.name} points at its server`);
  }
}

describe('e2e at scale: faults and quota (controller + emulator + API server)', function () {
  this.timeout(240_000);
  let kc: KubeConfig;
  let api: CustomObjectsApi;
  let emu: Emulator | undefined;
  let ctl: ControllerProcess | undefined;

  before(async () => {
    kc = await adminKubeConfig();
    await installCrd(kc);
    await resetCluster(kc);
    api = kc.makeApiClient(CustomObjectsApi);
  });

  afterEach(async function () {
    if (ctl && this.currentTest?.state === 'failed') {
      const c = ctl;
      const dumps = (): number => logLines(c).filter((l) => l.message === 'state').length;
      const before = dumps();
      c.proc.kill('SIGUSR2');
      // The state dump is in the log (or the process is gone and there will be none).
      await waitFor('the SIGUSR2 state dump', async () => dumps() > before || c.proc.exitCode !== null, 5_000, 50).catch(() => undefined);
      const file = join(tmpdir(), `hostnet-controller-${Date.now()}.log`);
      writeFileSync(file, ctl.logs());
      console.log(`controller log: ${file}\n${ctl.logs().slice(-3000)}`);
    }
    await ctl?.stop();
    ctl = undefined;
    await resetCluster(kc);
    await emu?.close();
    emu = undefined;
  });

  async function start(extra: string[]): Promise<ControllerProcess> {
    ctl = await startController({
      kubeconfig: (await controlPlane()).kubeconfig,
      args: [...emulatorArgs(emu!.url), '--leader-elect=false', '--source-dest-check=off', '--cloud-timeout=1s', ...extra],
      env: emulatorEnv(),
      waitLeader: true,
    });
    return ctl;
  }

  it('converges 100 hosts through 429s, 5xx, timeouts and resets, with a bounded number of calls', async () => {
    emu = await startEmulator({ latencyMs: 20, jitterMs: 10 });
    await start(['--resync-period=20s']);
    const since = emu.lastSeq;
    const programmed = async (prefix: string): Promise<number> =>
      (await list(api)).filter((h) => h.metadata.name.startsWith(prefix) && cond(h, 'RouteProgrammed')?.status === 'True').length;
    // Batching leaves few calls to fail, so the storm comes in waves, one kind of fault each,
    // with new hosts in every wave; each wave must have hit (asserted on the call log below).
    const waves: { faults: Parameters<Emulator['faults']['set']>[0] }[] = [
      { faults: { failNext: [{ count: 3, status: 429, code: 'APIG.0308', operation: 'UpdateRouteTable' }] } },
      { faults: { errorRate: { ShowRouteTable: 0.3, status: 503 }, failNext: [{ count: 2, status: 503, operation: 'UpdateRouteTable' }, { count: 1, status: 500, code: 'VPC.0106', operation: 'UpdateRouteTable' }] } },
      { faults: { timeoutNext: [{ count: 1, operation: 'UpdateRouteTable', apply: true }, { count: 1, operation: 'UpdateRouteTable' }] } },
      { faults: { resetNext: [{ count: 2, operation: 'UpdateRouteTable' }] } },
    ];
    for (const [i, wave] of waves.entries()) {
      emu.faults.clear();
      emu.faults.set(wave.faults);
      await createHosts(api, 25, `storm-${i}`);
      await waitFor(`wave ${i}: some of its hosts programmed`, async () => (await programmed(`storm-${i}-`)) > 0, 60_000, 250);
    }
    emu.faults.clear();
    await waitFor('100 hosts Ready', async () => (await list(api)).filter((h) => cond(h, 'Ready')?.status === 'True').length === 100, 120_000, 500);
    const hosts = await list(api);
    assertInvariant(hosts, emu);
    const routes = emu.snapshot().route_tables[0]!.routes.filter((r) => r.type === 'ecs');
    assert.equal(routes.length, 100, 'exactly 100 routes, none lost, none duplicated');

    const calls = emu.callsSince(since);
    const updates = calls.filter((c) => c.operation === 'UpdateRouteTable');
    const failed = updates.filter((c) => c.status !== 200);
    for (const [what, hit] of [
      ['429', updates.some((c) => c.status === 429)],
      ['503', calls.some((c) => c.status === 503)],
      ['timeout', updates.some((c) => c.fault === 'timeout')],
      ['reset', updates.some((c) => c.fault === 'reset')],
    ] as const) {
      assert.ok(hit, `the storm included a ${what}`);
    }
    console.log(`      storm: ${calls.length} cloud calls, ${updates.length} UpdateRouteTable (${failed.length} failed) for 100 routes`);
    // Batching: far fewer writes than routes even with ~30% of them failing.
    assert.ok(updates.length < 60, `UpdateRouteTable calls bounded: ${updates.length}`);
    assert.ok(calls.length < 200, `all calls bounded (no hot retry loop): ${calls.length}`);
    // After throttling, the next write waits at least 2 s.
    for (const t of updates.filter((c) => c.status === 429)) {
      const next = updates.find((c) => c.seq > t.seq);
      if (next) assert.ok(Date.parse(next.time) - Date.parse(t.time) >= 1900, `write ${next.seq} came ${Date.parse(next.time) - Date.parse(t.time)} ms after a 429`);
    }
    assert.ok(Number(await ctl!.metric('hostnet_cloud_throttled_total', { provider: 'huaweicloud', operation: 'routes.apply' })) >= 1, 'throttles counted');
    assert.equal(ctl!.proc.exitCode, null, 'no crash');
  });

  it('250 hosts against a 200-route table: 200 programmed, 50 RouteQuotaExceeded; a raised quota lets them in', async () => {
    emu = await startEmulator({ routeQuota: 200 });
    await start(['--resync-period=5s', '--route-table-capacity=200']);
    await createHosts(api, 250, 'quota');
    await waitFor(
      '200 programmed + 50 waiting',
      async () => {
        const hosts = await list(api);
        const ok = hosts.filter((h) => cond(h, 'RouteProgrammed')?.status === 'True').length;
        const waiting = hosts.filter((h) => cond(h, 'RouteProgrammed')?.reason === 'RouteQuotaExceeded').length;
        return ok === 200 && waiting === 50;
      },
      120_000,
      500,
    );
    const waiting = (await list(api)).find((h) => cond(h, 'RouteProgrammed')?.reason === 'RouteQuotaExceeded')!;
    const msg = waiting.status!.conditions!.find((c) => c.type === 'RouteProgrammed')!.message;
    assert.match(msg, new RegExp(SEED.routeTableId), 'the message names the table');
    assert.deepEqual(waiting.status?.routeTables?.map((t) => t.state), ['QuotaExceeded']);
    assertInvariant(await list(api), emu);

    emu.setQuota({ routesPerTable: 300 });
    await waitFor('all 250 Ready', async () => (await list(api)).filter((h) => cond(h, 'Ready')?.status === 'True').length === 250, 60_000, 500);
    assertInvariant(await list(api), emu);
    assert.equal(emu.snapshot().route_tables[0]!.routes.filter((r) => r.type === 'ecs').length, 250);
  });
});
