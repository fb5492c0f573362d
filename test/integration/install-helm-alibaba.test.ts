// The chart with cloud.provider=alibaba (pinned helm): the flags the controller needs, the
// Secret's keys as the Alibaba provider reads them (access-key-id, access-key-secret), no Secret
// at all with the SDK's credential chain, and the schema refusing a missing region.
import assert from 'node:assert/strict';
import type { V1Deployment, V1Secret } from '@kubernetes/client-node';
import { chartDir, helm, parseObjects } from '../helpers/cli.js';
import { ALIBABA_CREDENTIAL_FILES } from '../../controller/provider/alibaba/client.js';

const BASE = ['--set', 'cloud.provider=alibaba', '--set', 'cloud.region=eu-central-1', '--set', 'cloud.vpcId=vpc-gw8note0vector0vpc0001'];

async function render(args: string[]): Promise<{ args: string[]; secret?: V1Secret; deployment: V1Deployment }> {
  const r = await helm(undefined, ['template', 'hn', chartDir, '--namespace', 'hostnet-system', ...BASE, ...args]);
  assert.equal(r.code, 0, r.stderr);
  const objs = parseObjects(r.stdout);
  const deployment = objs.find((o) => o.kind === 'Deployment') as V1Deployment;
  const secret = objs.find((o) => o.kind === 'Secret') as V1Secret | undefined;
  return { args: deployment.spec!.template.spec!.containers[0]!.args ?? [], deployment, ...(secret ? { secret } : {}) };
}

describe('install: Helm chart with cloud.provider=alibaba', function () {
  this.timeout(60_000);

  it('passes the Alibaba flags and writes the Secret with the keys the provider reads', async () => {
    const { args, secret, deployment } = await render(['--set', 'cloud.credentials.accessKey=LTAIexample', '--set', 'cloud.credentials.secretKey=s3cr3t', '--set', 'cloud.alibaba.ecsEndpoint=https://ecs-vpc.eu-central-1.aliyuncs.com']);
    for (const a of ['--cloud-provider=alibaba', '--cloud-region=eu-central-1', '--cloud-vpc-id=vpc-gw8note0vector0vpc0001', '--alibaba-ecs-endpoint=https://ecs-vpc.eu-central-1.aliyuncs.com', '--cloud-credentials-dir=/etc/hostnet/cloud']) assert.ok(args.includes(a), `${a} in ${args.join(' ')}`);
    assert.ok(!args.some((a) => a.startsWith('--cloud-project-id')));
    assert.deepEqual(Object.keys(secret!.data!).sort(), [ALIBABA_CREDENTIAL_FILES.accessKeyId, ALIBABA_CREDENTIAL_FILES.accessKeySecret].sort());
    assert.equal(Buffer.from(secret!.data![ALIBABA_CREDENTIAL_FILES.accessKeyId]!, 'base64').toString(), 'LTAIexample');
    assert.ok(deployment.spec!.template.spec!.volumes?.some((v) => v.secret?.secretName === secret!.metadata!.name));
  });

  it('with the credential chain: no Secret, no mount, no --cloud-credentials-dir', async () => {
    const { args, secret, deployment } = await render(['--set', 'cloud.alibaba.credentialChain=true']);
    assert.equal(secret, undefined);
    assert.ok(!args.some((a) => a.startsWith('--cloud-credentials-dir')));
    assert.equal(deployment.spec!.template.spec!.volumes, undefined);
  });

  it('the schema refuses alibaba without a region, naming the field', async () => {
    const r = await helm(undefined, ['template', 'hn', chartDir, '--set', 'cloud.provider=alibaba', '--set', 'cloud.vpcId=vpc-1']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /cloud\/region/);
  });
});
