// The chart with cloud.provider=aws: the flags the deployment passes, no credentials Secret or
// mount (the AWS SDK's default chain: IRSA through the ServiceAccount annotation, pod identity,
// instance metadata), and the schema's aws rules. Rendered by the pinned helm.
import assert from 'node:assert/strict';
import type { V1Deployment, V1ServiceAccount } from '@kubernetes/client-node';
import { chartDir, helm, parseObjects } from '../helpers/cli.js';

async function render(set: string[]): Promise<{ code: number; stderr: string; objects: ReturnType<typeof parseObjects> }> {
  const r = await helm(undefined, ['template', 'hn', chartDir, '-n', 'hostnet-system', ...set.flatMap((s) => ['--set', s])]);
  return { code: r.code ?? 1, stderr: r.stderr, objects: r.code === 0 ? parseObjects(r.stdout) : [] };
}

describe('chart: cloud.provider=aws', function () {
  this.timeout(60_000);

  it('tables by tag of the VPC, region and endpoint flags, no credentials Secret or mount, the IRSA annotation', async () => {
    const r = await render([
      'cloud.provider=aws',
      'cloud.region=eu-central-1',
      'cloud.vpcId=vpc-0123456789abcdef0',
      'cloud.endpoint=https://ec2.eu-central-1.amazonaws.com',
      'cloud.routeTableCapacity=50',
      'cloud.securityGroup.id=sg-0123456789abcdef0',
      'serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn=arn:aws:iam::111122223333:role/hostnet',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const dep = r.objects.find((o) => o.kind === 'Deployment') as V1Deployment;
    const args = dep.spec!.template.spec!.containers[0]!.args!;
    for (const want of ['--cloud-provider=aws', '--cloud-region=eu-central-1', '--cloud-vpc-id=vpc-0123456789abcdef0', '--route-table-tag=hostnet.io/routes', '--cloud-endpoint=https://ec2.eu-central-1.amazonaws.com', '--route-table-capacity=50', '--security-group-id=sg-0123456789abcdef0']) {
      assert.ok(args.includes(want), `${want} in ${args.join(' ')}`);
    }
    assert.ok(!args.some((a) => a.startsWith('--cloud-credentials-dir')), 'no credentials dir');
    assert.ok(!args.some((a) => a.startsWith('--cloud-project-id')), 'no project id');
    assert.equal(dep.spec!.template.spec!.volumes, undefined, 'no credentials volume');
    assert.equal(r.objects.filter((o) => o.kind === 'Secret').length, 0, 'no Secret');
    const sa = r.objects.find((o) => o.kind === 'ServiceAccount') as V1ServiceAccount;
    assert.equal(sa.metadata!.annotations!['eks.amazonaws.com/role-arn'], 'arn:aws:iam::111122223333:role/hostnet');
  });

  it('configured table ids: no tag flag', async () => {
    const r = await render(['cloud.provider=aws', 'cloud.region=eu-central-1', 'cloud.routeTableIds={rtb-0123456789abcdef0}']);
    assert.equal(r.code, 0, r.stderr);
    const args = (r.objects.find((o) => o.kind === 'Deployment') as V1Deployment).spec!.template.spec!.containers[0]!.args!;
    assert.ok(args.includes('--route-table-ids=rtb-0123456789abcdef0'));
    assert.ok(!args.some((a) => a.startsWith('--route-table-tag')));
  });

  it('the schema wants a region with aws', async () => {
    const r = await render(['cloud.provider=aws', 'cloud.vpcId=vpc-0123456789abcdef0']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /cloud\/region/);
  });
});
