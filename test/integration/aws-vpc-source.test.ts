// The netns VPC router's AWS source (test/netns/vpc-source-aws.ts) against moto: what the router
// would do for a route table and the ENIs' source/destination check. No root needed: this checks
// the mapping; test/e2e/netns-* send the packets.
import assert from 'node:assert/strict';
import { CreateRouteCommand, ModifyNetworkInterfaceAttributeCommand, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import { awsSource } from '../netns/vpc-source-aws.js';
import { useAwsTestbed } from '../aws/testbed.js';

describe('netns VPC router: the AWS route source (moto)', () => {
  const bed = useAwsTestbed({ hosts: 2 });

  it('routes to ENIs become routes via their private address; the source/dest check becomes the port rule; a blackhole is left out', async () => {
    const [a, b] = bed.fx.hosts;
    const tableId = bed.fx.tableIds[0]!;
    await bed.fx.ec2.send(new CreateRouteCommand({ RouteTableId: tableId, DestinationCidrBlock: '100.64.1.0/24', NetworkInterfaceId: a!.eniId }));
    await bed.fx.ec2.send(new CreateRouteCommand({ RouteTableId: tableId, DestinationCidrBlock: '100.64.2.0/24', NetworkInterfaceId: b!.eniId }));
    await bed.fx.ec2.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: a!.eniId, SourceDestCheck: { Value: false } }));
    const names = new Map([[a!.instanceId, 'ecs-1'], [b!.instanceId, 'ecs-2']]);
    const source = awsSource(bed.fx.ec2, { routeTableId: tableId, serverNameOf: (id) => names.get(id) });
    const d = await source.desired();
    assert.deepEqual([...d.routes].sort(), [['100.64.1.0/24', a!.privateIp], ['100.64.2.0/24', b!.privateIp]]);
    assert.deepEqual(d.ports.map((p) => [p.server, p.port]).sort(), [['ecs-1', 'vp-ecs-1'], ['ecs-2', 'vp-ecs-2']], 'each rule on the switch port of its instance');
    const ports = new Map(d.ports.map((p) => [p.server, p.allowed]));
    assert.equal(ports.get('ecs-1'), null, 'check off: every address');
    assert.deepEqual(ports.get('ecs-2'), [b!.privateIp], 'check on: only its own address');

    // Through the fault proxy, which shows the route as AWS does after a termination: blackhole.
    await bed.viaProxy.send(new TerminateInstancesCommand({ InstanceIds: [b!.instanceId] }));
    const viaProxy = awsSource(bed.client, { routeTableId: tableId, serverNameOf: (id) => names.get(id) });
    const after = await viaProxy.desired();
    assert.deepEqual([...after.routes.keys()], ['100.64.1.0/24']);
    assert.ok(after.warnings.some((w) => w.includes('100.64.2.0/24') && w.includes('blackhole')), after.warnings.join('; '));
  });
});
