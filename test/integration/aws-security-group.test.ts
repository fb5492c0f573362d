// controller/provider/aws/security-group.ts through the real SDK against moto.
import assert from 'node:assert/strict';
import { DescribeSecurityGroupsCommand } from '@aws-sdk/client-ec2';
import { authorizePoolIngress } from '../../controller/provider/aws/security-group.js';
import { CloudError } from '../../controller/provider/errors.js';
import { providerCalls, useAwsTestbed } from '../aws/testbed.js';

describe('AWS security group (SDK → fault proxy → moto)', function () {
  const bed = useAwsTestbed({ hosts: 1, tables: 1 });

  async function ingress(): Promise<string[]> {
    const out = await bed.fx.ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [bed.fx.securityGroupId] }));
    return (out.SecurityGroups?.[0]?.IpPermissions ?? []).flatMap((p) => (p.IpRanges ?? []).map((r) => `${p.IpProtocol}:${p.FromPort ?? ''}:${r.CidrIp}`)).sort();
  }

  it('adds the pool rule beside the existing ones; a second time is "present" (moto: InvalidPermission.Duplicate)', async () => {
    assert.equal(await authorizePoolIngress(bed.client, bed.fence, { groupId: bed.fx.securityGroupId, poolCidr: '100.64.0.0/16' }), 'added');
    assert.deepEqual(await ingress(), ['-1::100.64.0.0/16', 'tcp:22:192.0.2.0/24']);
    assert.equal(await authorizePoolIngress(bed.client, bed.fence, { groupId: bed.fx.securityGroupId, poolCidr: '100.64.0.0/16' }), 'present');
    assert.deepEqual(
      providerCalls(bed).map((c) => c.code),
      [undefined, 'InvalidPermission.Duplicate'],
    );
    assert.deepEqual(await ingress(), ['-1::100.64.0.0/16', 'tcp:22:192.0.2.0/24']);
  });

  it('an unknown group is notFound naming it', async () => {
    await assert.rejects(
      authorizePoolIngress(bed.client, bed.fence, { groupId: 'sg-0123456789abcdef0', poolCidr: '100.64.0.0/16' }),
      (err: unknown) => err instanceof CloudError && err.kind === 'notFound' && /security group sg-0123456789abcdef0/.test(err.message),
    );
  });
});
