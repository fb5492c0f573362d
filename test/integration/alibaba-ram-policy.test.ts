// The RAM policy of docs/operations.md ("Alibaba Cloud" → "RAM policy") names exactly the
// actions the provider calls: every CloudProvider operation is run against the emulator (real
// SDK) and the call log's actions, with their product (vpc / ecs by API version), are compared
// with the documented policy. A new call without its action in the docs fails here.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createAlibabaClients } from '../../controller/provider/alibaba/client.js';
import { AlibabaCloudProvider } from '../../controller/provider/alibaba/provider.js';
import { ACTIONS, ECS_VERSION } from '../emulator/alibaba/api.js';
import { ALI_SEED, startAliEmulator } from '../emulator/alibaba/server.js';
import { aliCredentialsDir } from '../helpers/alibaba.js';
import { repoRoot, waitFor } from '../helpers/kube.js';

function documentedActions(): string[] {
  const text = readFileSync(join(repoRoot, 'docs', 'operations.md'), 'utf8');
  const m = /<!-- alibaba-ram-policy -->\s*```json\n([\s\S]*?)```\s*<!-- \/alibaba-ram-policy -->/.exec(text);
  assert.ok(m, 'docs/operations.md has the marked RAM policy block');
  const policy = JSON.parse(m[1]!) as { Statement: { Effect: string; Action: string[] }[] };
  return policy.Statement.filter((s) => s.Effect === 'Allow').flatMap((s) => s.Action).sort();
}

describe('alibaba RAM policy in docs/operations.md', function () {
  this.timeout(60_000);

  it('lists exactly the actions the provider calls, each under its product', async () => {
    const em = await startAliEmulator({ entryDelayMs: 20 });
    const dir = await aliCredentialsDir('hostnet-ali-ram-');
    try {
      const cfg = { regionId: ALI_SEED.regionId, vpcEndpoint: em.endpoint, ecsEndpoint: em.endpoint, protocol: 'http' as const, credentialsDir: dir, vpcId: ALI_SEED.vpcId };
      const fast = { initialMs: 10, maxMs: 100, maxAttempts: 40 };
      const p = new AlibabaCloudProvider(cfg, { debug() {}, info() {}, warn() {}, error() {} }, { clients: createAlibabaClients(cfg), writeRetry: fast, availablePoll: fast });
      const [I1, I2] = [ALI_SEED.instances[0].id, ALI_SEED.instances[1].id];
      const rt = (await p.listRouteTables())[0]!.id;
      await p.applyRoutes(rt, { add: [{ destination: '10.0.1.0/24', nexthop: I1, description: 'hostnet:ram:a' }], mod: [], del: [] });
      await waitFor('entry available', async () => (await p.listRoutes(rt)).some((r) => r.destination === '10.0.1.0/24' && r.state === undefined));
      await p.applyRoutes(rt, { add: [], mod: [{ destination: '10.0.1.0/24', nexthop: I2, description: 'hostnet:ram:a' }], del: [] });
      await waitFor('entry moved', async () => (await p.listRoutes(rt)).some((r) => r.nexthop === I2 && r.state === undefined));
      await p.applyRoutes(rt, { add: [], mod: [], del: [{ destination: '10.0.1.0/24' }] });
      await p.ensureIngressRule({ securityGroupId: ALI_SEED.securityGroupId, remoteIpPrefix: '10.0.0.0/16', protocols: ['all'] });

      const ecs = new Set(ACTIONS.filter((a) => a.version === ECS_VERSION).map((a) => a.name));
      const called = [...new Set(em.callsSince(0).map((c) => `${ecs.has(c.operation) ? 'ecs' : 'vpc'}:${c.operation}`))].sort();
      assert.ok(em.callsSince(0).every((c) => c.status === 200), 'every call was answered (none refused)');
      assert.deepEqual(documentedActions(), called);
    } finally {
      await em.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
