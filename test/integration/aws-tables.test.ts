// controller/provider/aws/tables.ts through the real SDK against moto; pagination and blackholes
// come from the fault layer (test/aws/fault-proxy.ts), which pages and marks like real AWS.
import assert from 'node:assert/strict';
import { CreateRouteCommand, CreateRouteTableCommand, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import { DEFAULT_TABLE_TAG_KEY, describeTables } from '../../controller/provider/aws/tables.js';
import { CloudError } from '../../controller/provider/errors.js';
import { providerCalls, useAwsTestbed } from '../aws/testbed.js';

async function rejection(p: Promise<unknown>): Promise<CloudError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof CloudError, String(err));
    return err;
  }
  throw new Error('expected a rejection');
}

describe('AWS route tables (SDK → fault proxy → moto)', function () {
  const bed = useAwsTestbed({ hosts: 2, tables: 2, tableTags: { [DEFAULT_TABLE_TAG_KEY]: 'inst-a' } });

  it('configured ids: their routes, the local route recognisably not ours', async () => {
    const tableId = bed.fx.tableIds[0]!;
    await bed.fx.ec2.send(new CreateRouteCommand({ RouteTableId: tableId, DestinationCidrBlock: '100.64.1.0/24', NetworkInterfaceId: bed.fx.hosts[0]!.eniId }));
    const [t] = await describeTables(bed.client, { kind: 'ids', tableIds: [tableId] });
    assert.equal(t!.id, tableId);
    assert.equal(t!.vpcId, bed.fx.vpcId);
    const local = t!.routes.find((r) => r.destination === bed.fx.vpcCidr)!;
    assert.deepEqual([local.target, local.origin, local.candidate], [{ kind: 'local' }, 'CreateRouteTable', false]);
    const ours = t!.routes.find((r) => r.destination === '100.64.1.0/24')!;
    assert.deepEqual([ours.target, ours.origin, ours.state, ours.candidate], [{ kind: 'eni', id: bed.fx.hosts[0]!.eniId }, 'CreateRoute', 'active', true]);
  });

  it('a configured id that does not exist is notFound naming it', async () => {
    const err = await rejection(describeTables(bed.client, { kind: 'ids', tableIds: [bed.fx.tableIds[0]!, 'rtb-0000000000000dead'] }));
    assert.equal(err.kind, 'notFound');
    assert.match(err.message, /rtb-0000000000000dead/);
    assert.doesNotMatch(err.message, new RegExp(bed.fx.tableIds[0]!));
  });

  it('tag selection: only the VPC tables carrying the tag (and the value, when given)', async () => {
    // An untagged table and one tagged for another installation in the same VPC.
    const untagged = (await bed.fx.ec2.send(new CreateRouteTableCommand({ VpcId: bed.fx.vpcId }))).RouteTable!.RouteTableId!;
    const other = (
      await bed.fx.ec2.send(
        new CreateRouteTableCommand({ VpcId: bed.fx.vpcId, TagSpecifications: [{ ResourceType: 'route-table', Tags: [{ Key: DEFAULT_TABLE_TAG_KEY, Value: 'inst-b' }] }] }),
      )
    ).RouteTable!.RouteTableId!;
    const byValue = await describeTables(bed.client, { kind: 'tag', vpcId: bed.fx.vpcId, tagValue: 'inst-a' });
    assert.deepEqual(byValue.map((t) => t.id).sort(), [...bed.fx.tableIds].sort());
    const byKey = await describeTables(bed.client, { kind: 'tag', vpcId: bed.fx.vpcId });
    assert.deepEqual(byKey.map((t) => t.id).sort(), [...bed.fx.tableIds, other].sort());
    assert.ok(!byKey.some((t) => t.id === untagged));
  });

  it('no table carries the tag: notFound naming the VPC and the tag', async () => {
    const err = await rejection(describeTables(bed.client, { kind: 'tag', vpcId: bed.fx.vpcId, tagKey: 'example.com/none' }));
    assert.equal(err.kind, 'notFound');
    assert.match(err.message, new RegExp(`${bed.fx.vpcId} tagged example\\.com/none`));
  });

  it('follows NextToken through every page (fault layer pages like AWS)', async () => {
    for (let i = 0; i < 3; i++) {
      await bed.fx.ec2.send(
        new CreateRouteTableCommand({ VpcId: bed.fx.vpcId, TagSpecifications: [{ ResourceType: 'route-table', Tags: [{ Key: DEFAULT_TABLE_TAG_KEY, Value: 'inst-a' }] }] }),
      );
    }
    bed.proxy.set({ pageSize: 2 });
    const tables = await describeTables(bed.client, { kind: 'tag', vpcId: bed.fx.vpcId, tagValue: 'inst-a' });
    assert.equal(new Set(tables.map((t) => t.id)).size, 5);
    const calls = providerCalls(bed, 'DescribeRouteTables');
    assert.deepEqual(
      calls.map((c) => c.params.NextToken),
      [undefined, 'page-2', 'page-4'],
    );
  });

  it('a route whose instance was terminated shows as blackhole (fault layer: moto keeps it active)', async () => {
    const tableId = bed.fx.tableIds[0]!;
    const [a, b] = bed.fx.hosts;
    await bed.fx.ec2.send(new CreateRouteCommand({ RouteTableId: tableId, DestinationCidrBlock: '100.64.1.0/24', NetworkInterfaceId: a!.eniId }));
    await bed.fx.ec2.send(new CreateRouteCommand({ RouteTableId: tableId, DestinationCidrBlock: '100.64.2.0/24', NetworkInterfaceId: b!.eniId }));
    await bed.viaProxy.send(new TerminateInstancesCommand({ InstanceIds: [a!.instanceId] }));
    const [t] = await describeTables(bed.client, { kind: 'ids', tableIds: [tableId] });
    const state = Object.fromEntries(t!.routes.filter((r) => r.candidate).map((r) => [r.destination, r.state]));
    assert.deepEqual(state, { '100.64.1.0/24': 'blackhole', '100.64.2.0/24': 'active' });
  });
});
