// --cloud-provider=alibaba: the flags it needs, errors that name the flag, and the provider's
// configuration derived from them (endpoint URL → host:port + protocol, ECS next to VPC).

import assert from 'node:assert/strict';
import { ConfigError, parseConfig, type Config } from '../../controller/config.js';
import { alibabaConfigFrom } from '../../controller/provider/alibaba/provider.js';

function config(args: string[]): Config {
  const r = parseConfig(args, {});
  assert.equal(r.kind, 'config');
  return (r as { config: Config }).config;
}

describe('alibaba configuration', () => {
  it('needs a region and a VPC or route tables, not a project id; each error names its flag', () => {
    assert.throws(() => parseConfig(['--cloud-provider=alibaba', '--cloud-vpc-id=vpc-1'], {}), (e: unknown) => e instanceof ConfigError && /--cloud-region/.test(e.message));
    assert.throws(() => parseConfig(['--cloud-provider=alibaba', '--cloud-region=EU central'], {}), (e: unknown) => e instanceof ConfigError && /--cloud-region.*Alibaba Cloud region id/.test(e.message));
    assert.throws(() => parseConfig(['--cloud-provider=alibaba', '--cloud-region=eu-central-1'], {}), (e: unknown) => e instanceof ConfigError && /--route-table-ids/.test(e.message));
    assert.throws(() => parseConfig(['--cloud-provider=alibaba', '--cloud-region=eu-central-1', '--cloud-vpc-id=v', '--alibaba-ecs-endpoint=ecs.x'], {}), (e: unknown) => e instanceof ConfigError && /--alibaba-ecs-endpoint/.test(e.message));
    const c = config(['--cloud-provider=alibaba', '--cloud-region=eu-central-1', '--cloud-vpc-id=vpc-1']);
    assert.equal(c.cloudProvider, 'alibaba');
    assert.equal(c.cloudProjectId, undefined);
  });

  it('maps the flags onto the provider: the VPC endpoint serves ECS too unless told otherwise', () => {
    const c = config(['--cloud-provider=alibaba', '--cloud-region=eu-central-1', '--route-table-ids=vtb-1,vtb-2', '--cloud-endpoint=http://127.0.0.1:18181', '--cloud-credentials-dir=/etc/ali']);
    assert.deepEqual(alibabaConfigFrom(c), {
      regionId: 'eu-central-1',
      vpcEndpoint: '127.0.0.1:18181',
      ecsEndpoint: '127.0.0.1:18181',
      protocol: 'http',
      credentialsDir: '/etc/ali',
      timeoutMs: 10_000,
      routeTableIds: ['vtb-1', 'vtb-2'],
    });
    const d = config(['--cloud-provider=alibaba', '--cloud-region=eu-central-1', '--cloud-vpc-id=vpc-1']);
    assert.deepEqual(alibabaConfigFrom(d), { regionId: 'eu-central-1', timeoutMs: 10_000, vpcId: 'vpc-1' });
  });
});
