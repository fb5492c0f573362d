// The IAM policy in docs/operations.md must list exactly the EC2 actions the provider calls. The
// provider runs every one of its operations here (through the fault proxy, which records the
// Action of each request moto accepted), and the recorded set is compared with the document.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AwsProvider } from '../../controller/provider/aws/provider.js';
import { providerCalls, useAwsTestbed } from '../aws/testbed.js';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The ec2:* actions of the first JSON block after "### IAM policy" in docs/operations.md. */
function documentedActions(): string[] {
  const doc = readFileSync(join(repoRoot, 'docs', 'operations.md'), 'utf8');
  const section = doc.slice(doc.indexOf('### IAM policy'));
  const json = /```json\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(json, 'docs/operations.md has no JSON policy under "### IAM policy"');
  const policy = JSON.parse(json) as { Statement: { Action: string[] }[] };
  return policy.Statement.flatMap((s) => s.Action).sort();
}

describe('AWS IAM policy in docs/operations.md', function () {
  const bed = useAwsTestbed({ hosts: 2, tables: 1 });

  it('lists exactly the actions the provider calls', async () => {
    const [a, b] = bed.fx.hosts;
    const tableId = bed.fx.tableIds[0]!;
    const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
    // Every operation of the CloudProvider contract, as the controller calls them.
    const p = new AwsProvider({ region: 'eu-central-1', tables: { kind: 'ids', tableIds: [tableId] }, qps: 100, burst: 100 }, quiet, { client: bed.client, fence: bed.fence });
    await p.listRouteTables();
    assert.equal((await p.ensureSourceDestCheck(a!.instanceId, 'disable', '100.64.1.0/24')).changed, true);
    await p.writeRoute(tableId, { op: 'create', route: { destination: '100.64.1.0/24', nexthop: a!.instanceId, description: '' } });
    await p.writeRoute(tableId, { op: 'replace', route: { destination: '100.64.1.0/24', nexthop: b!.instanceId, description: '' } });
    assert.deepEqual((await p.listRoutes(tableId)).filter((r) => r.kind === 'host').map((r) => r.nexthop), [b!.instanceId]);
    await p.writeRoute(tableId, { op: 'delete', destination: '100.64.1.0/24' });
    assert.deepEqual(await p.removeSourceDestCheck(a!.instanceId, p.sourceDestCheckRecord('disable', '100.64.1.0/24')), { removed: true });
    assert.deepEqual(await p.ensureIngressRule({ securityGroupId: bed.fx.securityGroupId, remoteIpPrefix: '100.64.0.0/16', protocols: ['all'] }), { created: 1 });
    const calls = providerCalls(bed);
    assert.ok(calls.every((c) => c.status === 200), JSON.stringify(calls.filter((c) => c.status !== 200)));
    const called = [...new Set(calls.map((c) => `ec2:${c.operation}`))].sort();
    assert.deepEqual(documentedActions(), called);
  });
});
