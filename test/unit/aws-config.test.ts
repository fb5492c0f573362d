// --cloud-provider=aws: its flags, defaults and the errors that name the flag.
import assert from 'node:assert/strict';
import { ConfigError, parseConfig, usage, type Config } from '../../controller/config.js';

function parse(args: string[], env: NodeJS.ProcessEnv = {}): Config {
  const r = parseConfig(['--cloud-provider=aws', ...args], env);
  assert.equal(r.kind, 'config');
  return (r as { config: Config }).config;
}

function refused(args: string[], flag: string, why: RegExp): void {
  assert.throws(
    () => parseConfig(['--cloud-provider=aws', ...args], {}),
    (err: unknown) => err instanceof ConfigError && err.message.includes(`--${flag}=`) && why.test(err.message),
  );
}

describe('config: --cloud-provider=aws', () => {
  it('tables by id, region and endpoint; the route quota defaults to AWS\'s 50', () => {
    const c = parse(['--cloud-region=eu-central-1', '--route-table-ids=rtb-0123456789abcdef0', '--cloud-endpoint=http://127.0.0.1:5000']);
    assert.equal(c.cloudProvider, 'aws');
    assert.equal(c.cloudRegion, 'eu-central-1');
    assert.deepEqual(c.routeTableIds, ['rtb-0123456789abcdef0']);
    assert.equal(c.routeTableCapacity, 50);
    assert.equal(parse(['--cloud-region=eu-central-1', '--route-table-ids=rtb-0123456789abcdef0', '--route-table-capacity=200']).routeTableCapacity, 200);
  });

  it('tables by tag: the default key, or key=value', () => {
    assert.deepEqual(parse(['--cloud-region=eu-central-1', '--cloud-vpc-id=vpc-0123456789abcdef0']).routeTableTag, { key: 'hostnet.io/routes' });
    assert.deepEqual(parse(['--cloud-region=eu-central-1', '--cloud-vpc-id=vpc-0123456789abcdef0', '--route-table-tag=team=net']).routeTableTag, { key: 'team', value: 'net' });
  });

  it('bad values are refused naming the flag', () => {
    refused(['--route-table-ids=rtb-0123456789abcdef0'], 'cloud-region', /required/);
    refused(['--cloud-region=frankfurt', '--route-table-ids=rtb-0123456789abcdef0'], 'cloud-region', /region name/);
    refused(['--cloud-region=eu-central-1'], 'route-table-ids', /--cloud-vpc-id/);
    refused(['--cloud-region=eu-central-1', '--route-table-ids=rt-1'], 'route-table-ids', /rt-1 is not a route table id/);
    refused(['--cloud-region=eu-central-1', '--cloud-vpc-id=vpc-0123456789abcdef0', '--route-table-tag=aws:x'], 'route-table-tag', /tag key/);
    refused(['--cloud-region=eu-central-1', '--route-table-ids=rtb-0123456789abcdef0', '--cloud-credentials-dir=/x'], 'cloud-credentials-dir', /default chain/);
    refused(['--cloud-region=eu-central-1', '--route-table-ids=rtb-0123456789abcdef0', '--cloud-project-id=p'], 'cloud-project-id', /not used/);
  });

  it('--help names aws and the tag flag', () => {
    assert.match(usage(), /aws \(Amazon EC2\)/);
    assert.match(usage(), /--route-table-tag/);
  });
});
