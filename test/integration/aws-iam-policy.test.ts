// The IAM policy in docs/operations.md must list exactly the EC2 actions the provider calls. The
// provider runs every one of its operations here (through the fault proxy, which records the
// Action of each request moto accepted), and the recorded set is compared with the document.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EniDirectory } from '../../controller/provider/aws/eni.js';
import { createRoute, deleteRoute, replaceRoute } from '../../controller/provider/aws/routes.js';
import { authorizePoolIngress } from '../../controller/provider/aws/security-group.js';
import { describeTables } from '../../controller/provider/aws/tables.js';
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
    const enis = new EniDirectory(bed.client, bed.fence);
    const eniA = await enis.primaryEni(a!.instanceId);
    const eniB = await enis.primaryEni(b!.instanceId);
    assert.equal(await enis.ensureSourceDestCheckOff(eniA), 'turned-off');
    await describeTables(bed.client, { kind: 'ids', tableIds: [tableId] });
    await createRoute(bed.client, bed.fence, { tableId, destination: '100.64.1.0/24', eniId: eniA });
    await replaceRoute(bed.client, bed.fence, { tableId, destination: '100.64.1.0/24', eniId: eniB });
    assert.equal(await deleteRoute(bed.client, bed.fence, { tableId, destination: '100.64.1.0/24' }), true);
    assert.equal(await authorizePoolIngress(bed.client, bed.fence, { groupId: bed.fx.securityGroupId, poolCidr: '100.64.0.0/16' }), 'added');
    const calls = providerCalls(bed);
    assert.ok(calls.every((c) => c.status === 200), JSON.stringify(calls.filter((c) => c.status !== 200)));
    const called = [...new Set(calls.map((c) => `ec2:${c.operation}`))].sort();
    assert.deepEqual(documentedActions(), called);
  });
});
