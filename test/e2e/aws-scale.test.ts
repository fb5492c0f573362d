// End to end on AWS at scale: 100 hosts through a storm of RequestLimitExceeded and 5xx, and a
// table whose quota (AWS's default, 50) is smaller than the hosts that want a route in it.
// Controller process + real kube-apiserver + moto behind the EC2 fault proxy.
import assert from 'node:assert/strict';
import type { KubeConfig } from '@kubernetes/client-node';
import { waitFor } from '../helpers/kube.js';
import { checkInvariant, cond, createMany, hostNetwork, isReady, listHn, waitAllReady } from '../helpers/invariants.js';
import { providerCalls, useAwsE2e, useAwsTestbed } from '../aws/testbed.js';

const HOSTS = 100;

describe('e2e: AWS at scale (controller + moto + real API server)', function () {
  this.timeout(300_000);
  const bed = useAwsTestbed({ hosts: HOSTS });
  const e2e = useAwsE2e(bed, { args: () => ['--resync-period=10s', '--cloud-qps=1000', '--cloud-burst=1000', '--log-level=info'], cleanupTimeoutMs: 120_000 });
  const { start, routes, poolRoutes } = e2e;
  let kc: KubeConfig;
  before(() => ({ kc } = e2e));

  it(`${HOSTS} hosts through RequestLimitExceeded and 5xx: all programmed, every call bounded`, async () => {
    bed.proxy.set({ routeLimit: 1000, throttle: { ratePerSec: 40, burst: 20 } });
    // The rate-based throttle bites only when the controller outruns it, which a loaded machine
    // (moto slowed down) may never do: five one-shot RequestLimitExceeded make the storm certain.
    bed.proxy.faults.set({
      errorRate: { CreateRoute: 0.15, ModifyNetworkInterfaceAttribute: 0.15, status: 500, code: 'InternalError' },
      failNext: { count: 5, status: 503, code: 'RequestLimitExceeded', message: 'Request limit exceeded.', operation: 'CreateRoute' },
    });
    await start(['--route-table-capacity=1000']);
    await createMany(kc, bed.fx.hosts.map((h, i) => hostNetwork(`host-${i}`, { instanceID: h.instanceId, hostIP: h.privateIp })));
    const hns = await waitAllReady(kc, HOSTS, 240_000);
    const calls = providerCalls(bed);
    const failed = (op: string): number => calls.filter((c) => c.operation === op && c.status >= 400).length;
    assert.ok(calls.filter((c) => c.code === 'RequestLimitExceeded').length >= 5, 'the storm throttled some calls');
    assert.ok(failed('CreateRoute') > 0, 'the storm failed some CreateRoutes');
    // Bounded: every CreateRoute beyond one per host answers a failure of the proxy's.
    const creates = calls.filter((c) => c.operation === 'CreateRoute').length;
    assert.ok(creates <= HOSTS + failed('CreateRoute'), `${creates} CreateRoute for ${HOSTS} hosts and ${failed('CreateRoute')} failures`);
    assert.equal(calls.filter((c) => c.operation === 'ReplaceRoute' || c.operation === 'DeleteRoute').length, 0);
    const byDest = new Map((await routes()).map((r) => [r.DestinationCidrBlock, r.NetworkInterfaceId]));
    assert.equal(byDest.size, HOSTS);
    const eniOf = new Map(bed.fx.hosts.map((h) => [h.instanceId, h.eniId]));
    for (const h of hns) assert.equal(byDest.get(h.status!.podCIDR!), eniOf.get(h.spec.instanceID), `route of ${h.metadata.name}`);
    await checkInvariant(kc, { converged: true, poolRoutes: await poolRoutes() });
  });

  it('quota 50: 50 routes programmed, the rest RouteQuotaExceeded naming the table', async () => {
    const wanted = 60;
    await start();
    await createMany(kc, bed.fx.hosts.slice(0, wanted).map((h, i) => hostNetwork(`host-${i}`, { instanceID: h.instanceId, hostIP: h.privateIp })));
    const table = bed.fx.tableIds[0]!;
    await waitFor('50 Ready, 10 RouteQuotaExceeded', async () => {
      const hns = await listHn(kc);
      return hns.filter(isReady).length === 50 && hns.filter((h) => cond(h, 'RouteProgrammed')?.reason === 'RouteQuotaExceeded').length === wanted - 50;
    }, 120_000, 500);
    for (const h of (await listHn(kc)).filter((x) => cond(x, 'RouteProgrammed')?.reason === 'RouteQuotaExceeded')) {
      assert.match(cond(h, 'RouteProgrammed')!.message, new RegExp(table));
    }
    assert.equal((await routes()).length, 50);
    await checkInvariant(kc);
  });
});
