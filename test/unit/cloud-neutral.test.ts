// The core is cloud-neutral (issue 12): a cloud's API operation names, route types, tricks and
// error codes stay inside its provider's folder. This test reads the working tree with git grep
// and names every line outside the allowed places.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** What only the Huawei provider (and the Huawei emulator and its tests) may say. */
const HUAWEI = [
  // API operations (the SDK's and the REST API's names) and request fields
  'UpdateRouteTable', 'ShowRouteTable', 'ListRouteTables', 'RouteTableRoute', 'UpdatePort', 'ListPorts', 'NeutronUpdatePort', 'NeutronListPorts',
  'SecurityGroupRule', 'allowed_address_pairs', 'routetable',
  // route types, as values
  "'ecs'", '"ecs"', 'type ecs', "'local'", '"local"',
  // the address pair that switches the source/destination check off
  '1.1.1.1/0',
  // error codes
  'VPC.0', 'VPC.1', 'VPC.2', 'APIG.0', 'APIGW.0',
];

/** What only the AWS provider (and moto's fault proxy, its tests) may say. */
const AWS = [
  // EC2 actions and request fields
  'CreateRoute', 'ReplaceRoute', 'DeleteRoute', 'DescribeRouteTables', 'DescribeInstances', 'DescribeNetworkInterfaces', 'DescribeSecurityGroups',
  'ModifyNetworkInterfaceAttribute', 'AuthorizeSecurityGroupIngress', 'NetworkInterfaceId', 'DestinationCidrBlock', 'RouteTableId',
  '@aws-sdk/',
  // error codes
  'RouteLimitExceeded', 'RouteAlreadyExists', 'RequestLimitExceeded', 'InvalidInstanceID', 'InvalidNetworkInterfaceID', 'InvalidPermission.Duplicate', 'InvalidRoute.NotFound',
  // an ENI as a route target (the core's next hop is a host)
  'eni-0',
];

/** What only the Alibaba provider (and its emulator and tests) may say. */
const ALIBABA = [
  // API operations, as the API and the SDK (camelCase methods) name them
  'CreateRouteEntries', 'DeleteRouteEntries', 'ModifyRouteEntry', 'DescribeRouteEntryList', 'DescribeRouteTableList', 'DescribeVSwitches',
  'AuthorizeSecurityGroup', 'DescribeSecurityGroupAttribute', 'createRouteEntries', 'deleteRouteEntries', 'modifyRouteEntry', 'describeRouteEntryList',
  // request and response fields
  'NextHopType', 'nextHopType', 'NewNextHopId', 'newNextHopId', 'RouteEntryName', 'routeEntryName', 'FailedRouteEntries', 'failedRouteEntries', 'DstCidrBlock', 'RouteEntryId',
  // the SDK packages
  '@alicloud/',
  // error codes
  'TaskConflict', 'OperationConflict', 'IncorrectRouteEntryStatus', 'Throttling.User', 'QuotaExceeded.RouteEntry', 'InvalidCIDRBlock.Duplicate', 'VPC_ROUTE_ENTRY_CIDR_BLOCK_DUPLICATE',
];

/** Lines outside the allowed places that name one of `words`. */
function offendingLines(words: readonly string[]): string[] {
  const args = ['grep', '--untracked', '-n', '-I', '-F', ...words.flatMap((p) => ['-e', p]), '--', ...SCANNED];
  let out = '';
  try {
    out = execFileSync('git', args, { cwd: root, encoding: 'utf8' });
  } catch (err) {
    // git grep exits 1 when nothing matches.
    if ((err as { status?: number }).status !== 1) throw err;
  }
  return out
    .split('\n')
    .filter((l) => l !== '')
    .filter((l) => !ALLOWED.some((a) => l.startsWith(a)));
}

/**
 * The core and what describes it to operators. Not scanned: the Huawei provider, the emulator of
 * the Huawei API (test/emulator/) and the tests that drive it (test/integration, test/e2e, the
 * huawei-* and emulator-* unit tests), and the chart and prose docs that describe Huawei setups.
 */
const SCANNED = ['controller/', 'manifests/monitoring/', 'manifests/charts/hostnet-controller/files/', 'test/unit/'];
// Every provider's folder and its own unit tests speak their cloud's words (AWS has 'local' routes too).
const ALLOWED = ['controller/provider/huawei/', 'controller/provider/aws/', 'controller/provider/alibaba/', 'test/unit/huawei-', 'test/unit/aws-', 'test/unit/alibaba-', 'test/unit/emulator', 'test/unit/soak.test.ts' /* the soak drives the Huawei emulator */, 'test/unit/fence.test.ts', 'test/unit/cloud-neutral.test.ts'];

describe('cloud-neutral core (issue 12)', () => {
  it('no Huawei API name, route type, address-pair trick or error code outside the Huawei provider', () => {
    const args = ['grep', '--untracked', '-n', '-I', '-F', ...HUAWEI.flatMap((p) => ['-e', p]), '--', ...SCANNED];
    let out = '';
    try {
      out = execFileSync('git', args, { cwd: root, encoding: 'utf8' });
    } catch (err) {
      // git grep exits 1 when nothing matches.
      if ((err as { status?: number }).status !== 1) throw err;
    }
    const offending = out
      .split('\n')
      .filter((l) => l !== '')
      .filter((l) => !ALLOWED.some((a) => l.startsWith(a)));
    assert.deepEqual(offending, [], `Huawei specifics outside controller/provider/huawei/:\n${offending.join('\n')}`);
  });

  it('no Alibaba API name, field, SDK package or error code outside the Alibaba provider', () => {
    const offending = offendingLines(ALIBABA);
    assert.deepEqual(offending, [], `Alibaba specifics outside controller/provider/alibaba/:\n${offending.join('\n')}`);
  });

  it('the Alibaba check finds what it looks for (the provider folder names its operations, fields and codes)', () => {
    const out = execFileSync('git', ['grep', '-c', '-F', '-e', 'CreateRouteEntries', '-e', 'nextHopType', '-e', 'TaskConflict', '--', 'controller/provider/alibaba/'], { cwd: root, encoding: 'utf8' });
    assert.match(out, /controller\/provider\/alibaba\/entries\.ts:\d+/);
    assert.match(out, /controller\/provider\/alibaba\/errors\.ts:\d+/);
  });

  it('no EC2 action, field, error code or id format outside the AWS provider', () => {
    const offending = offendingLines(AWS);
    assert.deepEqual(offending, [], `AWS specifics outside controller/provider/aws/:\n${offending.join('\n')}`);
  });

  it('the AWS check finds what it looks for (the AWS provider names its actions)', () => {
    const out = execFileSync('git', ['grep', '-c', '-F', '-e', 'ReplaceRoute', '-e', 'NetworkInterfaceId', '--', 'controller/provider/aws/'], { cwd: root, encoding: 'utf8' });
    assert.match(out, /controller\/provider\/aws\/routes\.ts:\d+/);
  });

  it('the check itself finds what it looks for (a Huawei file has all three kinds)', () => {
    const out = execFileSync('git', ['grep', '-c', '-F', '-e', 'UpdateRouteTable', '-e', "'ecs'", '-e', '1.1.1.1/0', '--', 'controller/provider/huawei/'], { cwd: root, encoding: 'utf8' });
    assert.match(out, /controller\/provider\/huawei\/provider\.ts:\d+/);
  });
});
