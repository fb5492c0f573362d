// A restart whose first list misses a live host: the list comes from the API server's watch
// cache (resourceVersion=0), which can be behind etcd, so a host created just before the restart
// may be missing from it until the watch delivers it. Its route must not be taken for an orphan
// and deleted meanwhile (an outage of a live host), nor its block released: both stay until a
// direct read (a consistent list by name) says the host is gone. The watch cache's lag is played
// by a proxy in front of the real kube-apiserver (test/helpers/watch-proxy.ts lagBehind): lists
// from the watch cache and watch events leave the host out, consistent lists show it. The
// controller runs in-process over the in-memory cloud.
import assert from 'node:assert/strict';
import { CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { parseConfig, type Config } from '../../controller/config.js';
import { HostNetworkController } from '../../controller/controller.js';
import { silentLogger } from '../../controller/logger.js';
import { Metrics } from '../../controller/metrics.js';
import { MemoryProvider } from '../../controller/provider/memory.js';
import type { ControlPlane } from '../../hack/controlplane.js';
import { freshCluster } from '../helpers/controller.js';
import { ECS1, ECS2, HN, createHn, getHn, hostNetwork, isReady, waitAllReady } from '../helpers/invariants.js';
import { resetCluster, waitFor } from '../helpers/kube.js';
import { capturingLogger } from '../helpers/logs.js';
import { startWatchProxy, type WatchProxy } from '../helpers/watch-proxy.js';

function config(): Config {
  const r = parseConfig(['--cloud-provider=memory', '--leader-elect=false', '--installation-id=default', '--pool-cidr=10.0.0.0/16', '--resync-period=1h'], {});
  assert.equal(r.kind, 'config');
  return r.config;
}

describe('controller: a restart whose first list misses a live host (watch cache behind; real API server behind a proxy)', function () {
  this.timeout(90_000);
  let cp: ControlPlane;
  let kc: KubeConfig;
  let proxy: WatchProxy;
  let ctl: HostNetworkController | undefined;

  before(async () => {
    ({ cp, kc } = await freshCluster());
  });

  beforeEach(async () => {
    proxy = await startWatchProxy(cp.url, kc);
  });

  afterEach(async () => {
    await ctl?.stop(2000);
    ctl = undefined;
    await proxy.close();
    await resetCluster(kc);
  });

  it("the missed host keeps its route and block until a direct read says it is gone; once the watch brings it, it is served as before", async () => {
    const provider = new MemoryProvider({ tables: ['rtb-1'], servers: [ECS1, ECS2] });
    await createHn(kc, hostNetwork('seen', { instanceID: ECS1 }));
    await createHn(kc, hostNetwork('late', { instanceID: ECS2 }));
    ctl = new HostNetworkController({ kc: proxy.kubeConfig(), config: config(), provider, log: silentLogger(), metrics: new Metrics({ defaultMetrics: false }), identity: 'first' });
    ctl.start();
    await waitAllReady(kc, 2, 30_000);
    const block = (await getHn(kc, 'late'))!.status!.podCIDR!;
    assert.equal(provider.tables.get('rtb-1')!.get(block)?.nexthop, ECS2);
    await ctl.stop(2000);

    // The restart, with the watch cache behind on 'late'.
    proxy.lagBehind(['late']);
    const deletesBefore = provider.calls.filter((c) => c.operation === 'routes.apply' && ((c as { del?: number }).del ?? 0) > 0).length;
    const { log, lines } = capturingLogger();
    ctl = new HostNetworkController({ kc: proxy.kubeConfig(), config: config(), provider, log, metrics: new Metrics({ defaultMetrics: false }), identity: 'second' });
    ctl.start();
    const second = ctl;
    await waitFor('the start-up sync', async () => second.hasSynced, 30_000);
    await waitFor(
      'a direct read that finds the missed host still there',
      async () => lines.some((l) => l.hostnetwork === 'late' && String(l.message).startsWith('not in the cache but still exists')),
      30_000,
    );
    // A full sync re-reads the table and flushes it: a route taken for an orphan would go now.
    await second.fullSync();
    assert.equal(provider.tables.get('rtb-1')!.get(block)?.nexthop, ECS2, "the missed host's route is kept");
    assert.equal(second.ledger.blockOf('late'), block, 'its block is kept');
    const deletes = provider.calls.filter((c) => c.operation === 'routes.apply' && ((c as { del?: number }).del ?? 0) > 0).length;
    assert.equal(deletes, deletesBefore, 'no route deleted');

    // The cache catches up: the next change of the object reaches the watch.
    proxy.lagBehind([]);
    await kc.makeApiClient(CustomObjectsApi).patchClusterCustomObject(
      { ...HN, name: 'late', body: { metadata: { labels: { touched: 'yes' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await waitFor('the host back in the cache and wanted again', async () => second.tables.hasOwner('late'), 30_000);
    await second.fullSync();
    assert.equal(provider.tables.get('rtb-1')!.get(block)?.nexthop, ECS2, 'the same route serves it');
    const late = await getHn(kc, 'late');
    assert.equal(late?.status?.podCIDR, block, 'the same block');
    assert.ok(isReady(late), 'still Ready');
    assert.equal(second.orphans.size, 0, 'nothing remembered as gone');
  });
});
