// End to end on AWS at scale: 100 hosts through a storm of RequestLimitExceeded and 5xx, and a
// table whose quota (AWS's default, 50) is smaller than the hosts that want a route in it.
// Controller process + real kube-apiserver + moto behind the EC2 fault proxy.
import assert from 'node:assert/strict';
import { DescribeRouteTablesCommand, type Route } from '@aws-sdk/client-ec2';
import type { KubeConfig } from '@kubernetes/client-node';
import { startController, freshCluster, type ControllerProcess } from '../helpers/controller.js';
import { waitFor } from '../helpers/kube.js';
import { MOTO_CREDENTIALS, MOTO_REGION } from '../helpers/moto.js';
import { checkInvariant, cond, createMany, deleteHn, hostNetwork, isReady, listHn, waitAllReady } from '../helpers/invariants.js';
import { providerCalls, useAwsTestbed } from '../aws/testbed.js';

const HOSTS = 100;

describe('e2e: AWS at scale (controller + moto + real API server)', function () {
  this.timeout(300_000);
  const bed = useAwsTestbed({ hosts: HOSTS });
  let kc: KubeConfig;
  let ctl: ControllerProcess | undefined;

  before(async () => {
    ({ kc } = await freshCluster());
  });

  afterEach(async function () {
    await Promise.all((await listHn(kc)).map((h) => deleteHn(kc, h.metadata.name).catch(() => undefined)));
    if (ctl) {
      await waitFor('hostnetworks gone', async () => (await listHn(kc)).length === 0, 120_000).catch(() => undefined);
      await ctl.stop();
      if (this.currentTest?.state === 'failed') console.log(ctl.logs().slice(-6000));
    }
    ctl = undefined;
  });

  async function start(extra: string[] = []): Promise<void> {
    const { cp } = await freshCluster();
    ctl = await startController({
      kubeconfig: cp.kubeconfig,
      args: [
        '--cloud-provider=aws',
        `--cloud-region=${MOTO_REGION}`,
        `--cloud-endpoint=${bed.proxy.endpoint}`,
        `--route-table-ids=${bed.fx.tableIds[0]}`,
        `--vpc-subnets=${bed.fx.vpcCidr}`,
        '--pool-cidr=100.64.0.0/16',
        '--resync-period=10s',
        '--leader-elect=false',
        '--cloud-qps=1000',
        '--cloud-burst=1000',
        '--log-level=info',
        ...extra,
      ],
      env: { AWS_ACCESS_KEY_ID: MOTO_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: MOTO_CREDENTIALS.secretAccessKey, AWS_EC2_METADATA_DISABLED: 'true' },
      waitLeader: true,
    });
  }

  async function routes(): Promise<Route[]> {
    const out = await bed.fx.ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [bed.fx.tableIds[0]!] }));
    return (out.RouteTables?.[0]?.Routes ?? []).filter((r) => r.GatewayId !== 'local');
  }
  /** The table's routes to ENIs, next hop as the instance (for checkInvariant's poolRoutes). */
  async function poolRoutes(): Promise<{ destination: string; nexthop: string }[]> {
    const instanceOf = new Map(bed.fx.hosts.map((h) => [h.eniId, h.instanceId]));
    return (await routes()).filter((r) => r.NetworkInterfaceId).map((r) => ({ destination: r.DestinationCidrBlock!, nexthop: instanceOf.get(r.NetworkInterfaceId!) ?? r.NetworkInterfaceId! }));
  }


  it(`${HOSTS} hosts through RequestLimitExceeded and 5xx: all programmed, every call bounded`, async () => {
    bed.proxy.set({ routeLimit: 1000, throttle: { ratePerSec: 40, burst: 20 } });
    bed.proxy.faults.set({ errorRate: { CreateRoute: 0.15, ModifyNetworkInterfaceAttribute: 0.15, status: 500, code: 'InternalError' } });
    await start(['--route-table-capacity=1000']);
    await createMany(kc, bed.fx.hosts.map((h, i) => hostNetwork(`host-${i}`, { instanceID: h.instanceId, hostIP: h.privateIp })));
    const hns = await waitAllReady(kc, HOSTS, 240_000);
    const calls = providerCalls(bed);
    const failed = (op: string): number => calls.filter((c) => c.operation === op && c.status >= 400).length;
    assert.ok(calls.some((c) => c.code === 'RequestLimitExceeded'), 'the storm throttled some calls');
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
