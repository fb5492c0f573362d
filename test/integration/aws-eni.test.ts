// controller/provider/aws/eni.ts through the real SDK against moto: instance → primary ENI
// (cached), source/destination check read first and changed only when on.
import assert from 'node:assert/strict';
import { DescribeNetworkInterfacesCommand, ModifyNetworkInterfaceAttributeCommand, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import { EniDirectory } from '../../controller/provider/aws/eni.js';
import { CloudError } from '../../controller/provider/errors.js';
import { providerCalls, useAwsTestbed } from '../aws/testbed.js';

describe('AWS ENIs (SDK → fault proxy → moto)', function () {
  const bed = useAwsTestbed({ hosts: 3, tables: 1 });

  async function checkOf(eniId: string): Promise<boolean | undefined> {
    const out = await bed.fx.ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [eniId] }));
    return out.NetworkInterfaces?.[0]?.SourceDestCheck;
  }

  it('resolves many instances in one DescribeInstances, then from the cache', async () => {
    const dir = new EniDirectory(bed.client, bed.fence);
    const ids = bed.fx.hosts.map((h) => h.instanceId);
    const first = await dir.resolve(ids);
    assert.deepEqual(
      ids.map((id) => first.get(id)),
      bed.fx.hosts.map((h) => ({ instanceId: h.instanceId, eniId: h.eniId })),
    );
    assert.equal(providerCalls(bed, 'DescribeInstances').length, 1);
    assert.equal(await dir.primaryEni(ids[1]!), bed.fx.hosts[1]!.eniId);
    assert.equal(providerCalls(bed).length, 1);
  });

  it('an unknown instance id is notFound naming it; the others still resolve', async () => {
    const dir = new EniDirectory(bed.client, bed.fence);
    const r = await dir.resolve([bed.fx.hosts[0]!.instanceId, 'i-0123456789abcdef0']);
    assert.deepEqual(r.get(bed.fx.hosts[0]!.instanceId), { instanceId: bed.fx.hosts[0]!.instanceId, eniId: bed.fx.hosts[0]!.eniId });
    const err = r.get('i-0123456789abcdef0');
    assert.ok(err instanceof CloudError);
    assert.equal(err.kind, 'notFound');
    assert.match(err.message, /instance i-0123456789abcdef0 does not exist/);
  });

  it('a terminated instance is notFound saying so', async () => {
    await bed.fx.ec2.send(new TerminateInstancesCommand({ InstanceIds: [bed.fx.hosts[2]!.instanceId] }));
    const dir = new EniDirectory(bed.client, bed.fence);
    await assert.rejects(dir.primaryEni(bed.fx.hosts[2]!.instanceId), (err: unknown) => err instanceof CloudError && err.kind === 'notFound' && /is terminated|does not exist/.test(err.message));
  });

  it('source/dest check: read first, turned off once, then known; a recheck finds it switched back on', async () => {
    const dir = new EniDirectory(bed.client, bed.fence);
    const eni = bed.fx.hosts[0]!.eniId;
    assert.equal(await checkOf(eni), true);
    assert.equal(await dir.ensureSourceDestCheckOff(eni), 'turned-off');
    assert.equal(await checkOf(eni), false);
    assert.deepEqual(
      providerCalls(bed).map((c) => c.operation),
      ['DescribeNetworkInterfaces', 'ModifyNetworkInterfaceAttribute'],
    );
    assert.equal(await dir.ensureSourceDestCheckOff(eni), 'known-off');
    assert.equal(providerCalls(bed).length, 2);
    assert.equal(await dir.ensureSourceDestCheckOff(eni, { recheck: true }), 'already-off');
    assert.deepEqual(providerCalls(bed, 'ModifyNetworkInterfaceAttribute').length, 1);
    await bed.fx.ec2.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: eni, SourceDestCheck: { Value: true } }));
    assert.equal(await dir.ensureSourceDestCheckOff(eni, { recheck: true }), 'turned-off');
    assert.equal(await checkOf(eni), false);
  });

  it('an ENI already off costs one read and no write', async () => {
    const eni = bed.fx.hosts[1]!.eniId;
    await bed.fx.ec2.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: eni, SourceDestCheck: { Value: false } }));
    const dir = new EniDirectory(bed.client, bed.fence);
    assert.equal(await dir.ensureSourceDestCheckOff(eni), 'already-off');
    assert.deepEqual(
      providerCalls(bed).map((c) => c.operation),
      ['DescribeNetworkInterfaces'],
    );
  });

  it('an unknown ENI is notFound naming it', async () => {
    const dir = new EniDirectory(bed.client, bed.fence);
    await assert.rejects(dir.ensureSourceDestCheckOff('eni-0123456789abcdef0'), (err: unknown) => err instanceof CloudError && err.kind === 'notFound' && /eni-0123456789abcdef0/.test(err.message));
  });
});
