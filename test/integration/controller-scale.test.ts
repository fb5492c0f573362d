// A measurement, printed and not asserted (timings belong to `make bench`): 200 HostNetworks
// created at once until all are Ready, with the in-memory cloud (--cloud-provider=memory), the
// real controller process and the real kube-apiserver. The invariant is asserted afterwards.
import assert from 'node:assert/strict';
import type { KubeConfig } from '@kubernetes/client-node';
import { freshCluster, startController, type ControllerProcess } from '../helpers/controller.js';
import { resetCluster } from '../helpers/kube.js';
import { ECS1, ECS2, ECS3, checkInvariant, createMany, dumpLogs, hostNetwork, waitAllReady } from '../helpers/invariants.js';

describe('controller core: 200 HostNetworks at once (memory provider, real API server)', function () {
  this.timeout(120_000);
  let kc: KubeConfig;
  let ctl: ControllerProcess | undefined;

  before(async () => {
    const fresh = await freshCluster();
    const cp = fresh.cp;
    kc = fresh.kc;
    ctl = await startController({ kubeconfig: cp.kubeconfig, args: ['--cloud-provider=memory', '--leader-elect=false', '--log-level=info'], waitLeader: true });
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') dumpLogs([ctl]);
  });

  after(async () => {
    await ctl?.stop();
    await resetCluster(kc);
  });

  it('measures the time for 200 HostNetworks created at once to reach Ready (printed)', async () => {
    const servers = [ECS1, ECS2, ECS3];
    const t0 = performance.now();
    await createMany(kc, Array.from({ length: 200 }, (_, i) => hostNetwork(`scale-${i}`, { instanceID: servers[i % 3]! })), 64);
    const created = performance.now();
    await waitAllReady(kc, 200, 100_000);
    const secs = (performance.now() - t0) / 1000;
    console.log(`      200 HostNetworks Ready in ${secs.toFixed(1)} s (memory provider) [creates took ${((created - t0) / 1000).toFixed(1)} s]`);
    const rep = await checkInvariant(kc, { converged: true });
    assert.equal(rep.withBlock, 200);
  });
});
