// End to end on AWS: the controller process (--cloud-provider=aws), the real kube-apiserver, and
// moto behind the EC2 fault proxy (test/aws/). Assertions read the proxy's call log (what the
// controller sent) and moto's state through the SDK (what AWS would hold).
import assert from 'node:assert/strict';
import { CreateRouteCommand, DeleteRouteCommand, TerminateInstancesCommand, DescribeNetworkInterfacesCommand, DescribeSecurityGroupsCommand } from '@aws-sdk/client-ec2';
import type { KubeConfig } from '@kubernetes/client-node';
import { waitFor } from '../helpers/kube.js';
import { checkInvariant, cond, createHn, deleteHn, getHn, hostNetwork, isReady, listHn, patchSpec } from '../helpers/invariants.js';
import { providerCalls, useAwsE2e, useAwsTestbed } from '../aws/testbed.js';

describe('e2e: controller + moto (AWS SDK, fault proxy) + real API server', function () {
  this.timeout(120_000);
  const bed = useAwsTestbed({ hosts: 3 });
  const e2e = useAwsE2e(bed, { args: (b) => [`--security-group-id=${b.fx.securityGroupId}`, '--resync-period=3s'] });
  const { start, routes, poolRoutes } = e2e;
  let kc: KubeConfig;
  before(() => ({ kc } = e2e));

  async function seed(): Promise<void> {
    const [a, b] = bed.fx.hosts;
    await createHn(kc, hostNetwork('host-a', { instanceID: a!.instanceId, hostIP: a!.privateIp }));
    await createHn(kc, hostNetwork('host-b', { instanceID: b!.instanceId, hostIP: b!.privateIp }));
    await waitFor('both hosts Ready', async () => isReady(await getHn(kc, 'host-a')) && isReady(await getHn(kc, 'host-b')), 60_000, 200);
  }

  it('the seed scenario: routes to the primary ENIs, source/dest check off, the SG rule, Ready', async () => {
    await start();
    await seed();
    const [a, b] = bed.fx.hosts;
    const ha = (await getHn(kc, 'host-a'))!;
    const hb = (await getHn(kc, 'host-b'))!;
    assert.notEqual(ha.status?.podCIDR, hb.status?.podCIDR);
    const got = (await routes()).map((r) => [r.DestinationCidrBlock, r.NetworkInterfaceId, r.State]).sort();
    assert.deepEqual(got, [
      [ha.status!.podCIDR, a!.eniId, 'active'],
      [hb.status!.podCIDR, b!.eniId, 'active'],
    ].sort());
    assert.equal(providerCalls(bed, 'CreateRoute').length, 2);
    const nics = await bed.fx.ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [a!.eniId, b!.eniId] }));
    for (const n of nics.NetworkInterfaces ?? []) assert.equal(n.SourceDestCheck, false, `source/dest check of ${n.NetworkInterfaceId}`);
    const sg = await bed.fx.ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [bed.fx.securityGroupId] }));
    const perms = sg.SecurityGroups?.[0]?.IpPermissions ?? [];
    assert.ok(perms.some((p) => p.IpProtocol === '-1' && p.IpRanges?.some((r) => r.CidrIp === '100.64.0.0/16')), 'pool ingress rule');
    assert.ok(perms.some((p) => p.IpProtocol === 'tcp' && p.FromPort === 22), "someone else's rule kept");
    assert.equal(ha.status?.hostIP, a!.privateIp);
    assert.equal(cond(ha, 'HostIPVerified')?.status, 'True');
    await checkInvariant(kc, { converged: true, poolRoutes: await poolRoutes() });
  });

  it('migration is exactly one ReplaceRoute; deletion is one DeleteRoute', async () => {
    await start();
    await seed();
    const c = bed.fx.hosts[2]!;
    const block = (await getHn(kc, 'host-b'))!.status!.podCIDR!;
    const before = providerCalls(bed).length;
    await patchSpec(kc, 'host-b', { instanceID: c.instanceId, hostIP: c.privateIp });
    await waitFor('host-b on the third instance', async () => {
      const hn = await getHn(kc, 'host-b');
      return isReady(hn) && hn?.status?.nextHop === c.instanceId;
    }, 60_000, 200);
    const writes = providerCalls(bed).slice(before).filter((x) => /Route$/.test(x.operation) && x.operation !== 'DescribeRouteTables');
    assert.deepEqual(writes.map((w) => [w.operation, w.params.DestinationCidrBlock, w.params.NetworkInterfaceId]), [['ReplaceRoute', block, c.eniId]]);
    assert.equal((await routes()).find((r) => r.DestinationCidrBlock === block)?.NetworkInterfaceId, c.eniId);

    const del0 = providerCalls(bed).length;
    await deleteHn(kc, 'host-b');
    await waitFor('host-b gone', async () => (await getHn(kc, 'host-b')) === undefined, 30_000, 200);
    const dels = providerCalls(bed).slice(del0).filter((x) => x.operation === 'DeleteRoute');
    assert.deepEqual(dels.map((d) => d.params.DestinationCidrBlock), [block]);
    assert.equal((await routes()).some((r) => r.DestinationCidrBlock === block), false);
  });

  it('drift: a deleted route comes back; a foreign route on a wanted destination is a RouteConflict, untouched', async () => {
    await start();
    await seed();
    const [a, b, c] = bed.fx.hosts;
    const blockA = (await getHn(kc, 'host-a'))!.status!.podCIDR!;
    await bed.fx.ec2.send(new DeleteRouteCommand({ RouteTableId: bed.fx.tableIds[0], DestinationCidrBlock: blockA }));
    await waitFor('route of host-a back', async () => (await routes()).some((r) => r.DestinationCidrBlock === blockA && r.NetworkInterfaceId === a!.eniId), 30_000, 200);

    // A block pinned by the user whose destination someone else's route already holds.
    await bed.fx.ec2.send(new CreateRouteCommand({ RouteTableId: bed.fx.tableIds[0], DestinationCidrBlock: '100.64.200.0/24', NetworkInterfaceId: c!.eniId }));
    await createHn(kc, hostNetwork('host-p', { instanceID: b!.instanceId, podCIDR: '100.64.200.0/24' }));
    await waitFor('host-p RouteConflict', async () => cond(await getHn(kc, 'host-p'), 'RouteProgrammed')?.reason === 'RouteConflict', 30_000, 200);
    assert.equal((await routes()).find((r) => r.DestinationCidrBlock === '100.64.200.0/24')?.NetworkInterfaceId, c!.eniId);
    // The controller's view of the table predates the foreign route, so one CreateRoute may go out
    // and meet RouteAlreadyExists; nothing may change or delete the route.
    const sent = providerCalls(bed).filter((x) => x.params.DestinationCidrBlock === '100.64.200.0/24').map((x) => x.operation);
    assert.ok(sent.every((op) => op === 'CreateRoute') && sent.length <= 1, `calls on the foreign destination: ${sent.join(', ')}`);
  });

  it('a blackhole (the host\'s instance terminated) is reported on the host, and replaced once the host names a live instance', async () => {
    await start();
    await seed();
    const [, b, c] = bed.fx.hosts;
    const block = (await getHn(kc, 'host-b'))!.status!.podCIDR!;
    // Through the proxy, which then shows the route as AWS does: State=blackhole.
    await bed.viaProxy.send(new TerminateInstancesCommand({ InstanceIds: [b!.instanceId] }));
    await waitFor('host-b reports its instance', async () => {
      const rp = cond(await getHn(kc, 'host-b'), 'RouteProgrammed');
      return rp?.status === 'False' && rp.message.includes(b!.instanceId);
    }, 30_000, 200);
    assert.equal(isReady(await getHn(kc, 'host-b')), false);
    const since = providerCalls(bed).length;
    await patchSpec(kc, 'host-b', { instanceID: c!.instanceId, hostIP: c!.privateIp });
    await waitFor('host-b Ready on the third instance', async () => {
      const hn = await getHn(kc, 'host-b');
      return isReady(hn) && hn?.status?.nextHop === c!.instanceId;
    }, 60_000, 200);
    const r = (await routes()).find((x) => x.DestinationCidrBlock === block);
    assert.equal(r?.NetworkInterfaceId, c!.eniId);
    assert.deepEqual(providerCalls(bed).slice(since).filter((x) => x.params.DestinationCidrBlock === block && x.operation !== 'DescribeRouteTables').map((x) => x.operation), ['ReplaceRoute']);
  });

  it('a restart with everything converged costs reads only', async () => {
    await start();
    await seed();
    await e2e.stopController();
    const since = providerCalls(bed).length;
    await start();
    await waitFor('a route table read after the restart', async () => providerCalls(bed).slice(since).some((x) => x.operation === 'DescribeRouteTables'), 30_000, 100);
    // Two resync periods: every host reconciled and every table re-read at least once more.
    const reads = (): number => providerCalls(bed).slice(since).filter((x) => x.operation === 'DescribeRouteTables').length;
    const r0 = reads();
    await waitFor('two more table reads (resyncs)', async () => reads() >= r0 + 2, 30_000, 200);
    for (const h of await listHn(kc)) assert.ok(isReady(h), `${h.metadata.name} Ready`);
    const writes = providerCalls(bed).slice(since).filter((x) => !x.operation.startsWith('Describe'));
    assert.deepEqual(writes.map((w) => w.operation), []);
  });
});
