// What the controller keeps per host and per table shrinks when hosts and tables go: NIC check
// times, block hints recovered from routes, status copies, Event records and budgets, and the
// metric series of route tables no longer managed. The controller runs in-process (to read its
// debug state and metrics registry) against the real kube-apiserver, over the in-memory cloud.
import assert from 'node:assert/strict';
import type { KubeConfig } from '@kubernetes/client-node';
import { parseConfig, type Config } from '../../controller/config.js';
import { HostNetworkController } from '../../controller/controller.js';
import { silentLogger } from '../../controller/logger.js';
import { Metrics } from '../../controller/metrics.js';
import { MemoryProvider } from '../../controller/provider/memory.js';
import { markFor } from '../../controller/routes/marks.js';
import { freshCluster } from '../helpers/controller.js';
import { resetCluster, waitFor } from '../helpers/kube.js';
import { ECS1, ECS2, createHn, createMany, deleteHn, getHn, hostNetwork, listHn, waitAllReady } from '../helpers/invariants.js';

function config(extra: string[] = []): Config {
  const r = parseConfig(['--cloud-provider=memory', '--leader-elect=false', '--installation-id=default', '--pool-cidr=10.0.0.0/16', '--resync-period=1h', ...extra], {});
  assert.equal(r.kind, 'config');
  return r.config;
}

interface PerHost {
  portChecks: number;
  recoveredHints: number;
  confirmedGone: number;
  statusCopies: number;
  events: { objects: number; spamBuckets: number; silenced: number; pending: number };
}

describe('controller: per-host and per-table state shrinks (in-process, real API server)', function () {
  this.timeout(90_000);
  let kc: KubeConfig;
  let ctl: HostNetworkController | undefined;

  before(async () => {
    ({ kc } = await freshCluster());
  });

  afterEach(async () => {
    await ctl?.stop(2000);
    ctl = undefined;
    await resetCluster(kc);
  });

  const perHost = (): PerHost => ctl!.debugState().perHost as PerHost;

  it('hosts deleted (finalizer) or removed by hand (no finalizer) leave nothing behind; recovered hints go once used', async () => {
    const provider = new MemoryProvider({ tables: ['rtb-1'], servers: [ECS1, ECS2] });
    // Routes of an earlier run: two hosts whose status is lost, and one whose host is long gone.
    const rtb = provider.tables.get('rtb-1')!;
    for (const [owner, dest] of [['rec-0', '10.0.200.0/24'], ['rec-1', '10.0.201.0/24'], ['ghost', '10.0.202.0/24']] as const) {
      rtb.set(dest, { destination: dest, kind: 'host', nexthop: ECS1, description: markFor('default', owner) });
    }
    await createHn(kc, hostNetwork('rec-0', { instanceID: ECS1 }));
    await createHn(kc, hostNetwork('rec-1', { instanceID: ECS1 }));
    await createMany(kc, Array.from({ length: 12 }, (_, i) => hostNetwork(`gone-${i}`, { instanceID: i % 2 ? ECS1 : ECS2 })));
    ctl = new HostNetworkController({ kc, config: config(), provider, log: silentLogger(), metrics: new Metrics({ defaultMetrics: false }), identity: 'state-test' });
    ctl.start();
    const ready = await waitAllReady(kc, 14, 60_000);
    assert.equal(ready.find((h) => h.metadata.name === 'rec-0')?.status?.podCIDR, '10.0.200.0/24', 'the block came back from the route');
    const during = perHost();
    assert.equal(during.portChecks, 14);
    assert.equal(during.recoveredHints, 0, 'a hint is dropped once the block is in status; none is kept for a host that does not exist');
    assert.ok(during.events.objects > 0 && during.events.spamBuckets > 0, JSON.stringify(during));

    // Six go through the finalizer; six vanish without it (finalizer stripped by hand).
    const hosts = (await listHn(kc)).filter((h) => h.metadata.name.startsWith('gone-'));
    for (const h of hosts.slice(0, 6)) await deleteHn(kc, h.metadata.name);
    const { CustomObjectsApi, setHeaderOptions } = await import('@kubernetes/client-node');
    const api = kc.makeApiClient(CustomObjectsApi);
    const HN = { group: 'hostnet.io', version: 'v1alpha1', plural: 'hostnetworks' };
    for (const h of hosts.slice(6)) {
      await api.patchClusterCustomObject({ ...HN, name: h.metadata.name, body: { metadata: { finalizers: null } } }, setHeaderOptions('Content-Type', 'application/merge-patch+json'));
      await deleteHn(kc, h.metadata.name);
    }
    await waitFor('the twelve gone', async () => (await listHn(kc)).length === 2, 30_000);
    const after = await waitFor('per-host state of the two left only', async () => {
      const s = perHost();
      // Names confirmed gone are forgotten once their routes and blocks are gone.
      return s.portChecks === 2 && s.events.objects === 2 && s.events.pending === 0 && s.confirmedGone === 0 ? s : undefined;
    }, 20_000);
    // A copy is kept only until the informer's cache has caught up with it.
    assert.ok(after.statusCopies <= 2, `status copies: ${after.statusCopies}`);
    assert.equal(after.events.spamBuckets, 2);
    assert.equal(after.recoveredHints, 0);
    assert.ok(await getHn(kc, 'rec-0'));
  });

  it('the metric series of a route table that is no longer managed are removed', async () => {
    const provider = new MemoryProvider({ tables: ['rtb-keep', 'rtb-gone'], servers: [ECS1] });
    const metrics = new Metrics({ defaultMetrics: false });
    ctl = new HostNetworkController({ kc, config: config(), provider, log: silentLogger(), metrics, identity: 'metrics-test' });
    await createHn(kc, hostNetwork('m-1', { instanceID: ECS1 }));
    ctl.start();
    await waitAllReady(kc, 1, 30_000);
    const series = async (table: string): Promise<string[]> =>
      (await metrics.registry.metrics()).split('\n').filter((l) => !l.startsWith('#') && l.includes(`table="${table}"`)).map((l) => l.split('{')[0]!);
    const names = ['hostnet_route_table_capacity', 'hostnet_route_table_capacity_remaining', 'hostnet_routes_desired', 'hostnet_routes_owned'];
    assert.deepEqual((await series('rtb-gone')).sort(), names);
    provider.tables.delete('rtb-gone'); // the table is deleted in the VPC
    await ctl.fullSync();
    assert.deepEqual(await series('rtb-gone'), [], 'no series left for the table that went');
    assert.deepEqual((await series('rtb-keep')).sort(), names);
  });
});
