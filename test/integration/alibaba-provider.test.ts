// The Alibaba provider's SDK-side pieces against the emulator through the real SDK: batches of
// 50 serialized per VPC, a storm of TaskConflict / Throttling / 5xx converging with bounded
// calls, a partly failed batch, a duplicate after an ambiguous timeout resolved by reading, a
// foreign entry left untouched, migration as exactly one ModifyRouteEntry, polling for Available.

import assert from 'node:assert/strict';
import { AlibabaRouteEntries, type WantedEntry } from '../../controller/provider/alibaba/entries.js';
import { createAlibabaClients } from '../../controller/provider/alibaba/client.js';
import { ensurePoolIngress } from '../../controller/provider/alibaba/security-group.js';
import { ALI_SEED, aliSeedState, startAliEmulator, type AliEmulator } from '../emulator/alibaba/server.js';
import { useAliEmulator } from '../helpers/alibaba.js';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const RT = ALI_SEED.routeTableId;
const VPC = ALI_SEED.vpcId;
const I1 = ALI_SEED.instances[0].id;
const I2 = ALI_SEED.instances[1].id;
const FAST = { initialMs: 20, maxMs: 200, maxAttempts: 40 };

const wanted = (n: number, hop: string = I1): WantedEntry[] =>
  Array.from({ length: n }, (_, i) => ({ routeTableId: RT, destination: `172.${16 + Math.floor(i / 250)}.${i % 250}.0/24`, instanceId: hop, name: 'hostnet-controller', description: 'hostnet inst=test host=h' + i }));

describe('alibaba provider entries against the emulator (real SDK)', function () {
  const bed = useAliEmulator({ entryDelayMs: 50 }, 'hostnet-ali-it-');
  let em: AliEmulator;
  let dir: string;
  let entries: AlibabaRouteEntries;
  let fenced = 0;
  before(() => ({ em, dir } = bed));
  beforeEach(() => {
    em.reset();
    fenced = 0;
    const clients = createAlibabaClients({ regionId: ALI_SEED.regionId, vpcEndpoint: em.endpoint, ecsEndpoint: em.endpoint, protocol: 'http', credentialsDir: dir, timeoutMs: 2000 });
    entries = new AlibabaRouteEntries(clients.vpc, { regionId: ALI_SEED.regionId, writeRetry: FAST, availablePoll: FAST, secrets: clients.secrets, fence: () => void fenced++ });
  });

  it('two callers of one VPC (60 + 60 entries): batches of at most 50, never two in flight (no TaskConflict), all Available', async () => {
    const want = wanted(120);
    const [a, b] = await Promise.all([entries.create(VPC, want.slice(0, 60)), entries.create(VPC, want.slice(60))]);
    assert.ok([...a, ...b].every((o) => o.ok));
    const creates = em.callsSince(0, 'CreateRouteEntries');
    // Two callers of one VPC: batches 50+10 and 50+10, all serialized, none refused.
    assert.deepEqual(creates.map((c) => [c.status, c.code]).filter(([s]) => s !== 200), []);
    assert.deepEqual(creates.map((c) => c.entries).sort(), [10, 10, 50, 50]);
    assert.equal(fenced, 4, 'every write attempt passed the fence');
    const ready = await entries.waitAvailable(RT, want.map((w) => ({ destination: w.destination, instanceId: w.instanceId })));
    assert.deepEqual(ready.notYet, []);
    assert.equal(ready.available.length, 120);
  });

  it('converges through a storm of TaskConflict, Throttling.User and 5xx with bounded calls', async () => {
    em.faults.set({
      failNext: [
        { operation: 'CreateRouteEntries', status: 400, code: 'TaskConflict', count: 3 },
        { operation: 'CreateRouteEntries', status: 400, code: 'Throttling.User', count: 1 },
        { operation: 'CreateRouteEntries', status: 503, code: 'ServiceUnavailable', count: 2 },
      ],
    });
    const out = await entries.create(VPC, wanted(100));
    assert.ok(out.every((o) => o.ok));
    // 2 batches + 6 refusals: every refused call was retried, nothing more.
    assert.equal(em.callsSince(0, 'CreateRouteEntries').length, 2 + 6);
    assert.equal(em.state.tableEntries(RT).filter((e) => e.type === 'Custom').length, 100);
  });

  it('reports the one bad entry of a batch of 50 with its code; the other 49 are created', async () => {
    const want = wanted(50);
    want[7] = { ...want[7]!, destination: '192.168.0.128/25' }; // inside the vSwitch
    const out = await entries.create(VPC, want);
    const bad = out.filter((o) => !o.ok);
    assert.equal(out.filter((o) => o.ok).length, 49);
    assert.equal(bad.length, 1);
    assert.equal(bad[0]!.destination, '192.168.0.128/25');
    assert.equal(!bad[0]!.ok && bad[0]!.error.code, 'InvalidDestinationCidrBlock.OverlapVSwitch');
    assert.equal(!bad[0]!.ok && bad[0]!.error.kind, 'conflict');
  });

  it('resolves a duplicate after an ambiguous timeout by reading (ours: ok; a foreign entry: conflict, untouched)', async () => {
    em.state.adminAddEntry(RT, { destination: '172.16.1.0/24', nextHop: I2, name: 'someone-else', description: 'manual' }, false);
    // The first attempt lands but its answer never arrives (read timeout 2 s); the retry meets duplicates.
    em.faults.set({ timeoutNext: { operation: 'CreateRouteEntries', apply: true } });
    const want = wanted(2);
    const out = await entries.create(VPC, want);
    assert.deepEqual(out.map((o) => [o.destination, o.ok]), [['172.16.0.0/24', true], ['172.16.1.0/24', false]]);
    assert.equal(!out[1]!.ok && out[1]!.error.kind, 'conflict');
    assert.equal(em.callsSince(0, 'DeleteRouteEntries').length, 0, 'nothing deleted');
    const foreign = em.state.tableEntries(RT).find((e) => e.destination === '172.16.1.0/24')!;
    assert.deepEqual([foreign.nextHopId, foreign.name], [I2, 'someone-else']);
  });

  it('migrates with exactly one ModifyRouteEntry (same entry id) and deletes by id', async () => {
    await entries.create(VPC, wanted(1));
    await entries.waitAvailable(RT, [{ destination: '172.16.0.0/24', instanceId: I1 }]);
    const [before] = await entries.list(RT);
    assert.deepEqual(await entries.moveNextHop(VPC, before!, I2), { available: true });
    assert.equal((await entries.list(RT))[0]!.nextHopId, I2);
    assert.equal(em.callsSince(0, 'ModifyRouteEntry').length, 1);
    assert.equal((await entries.list(RT))[0]!.id, before!.id);
    const removed = await entries.remove(VPC, [{ id: before!.id, routeTableId: RT, destination: '172.16.0.0/24' }]);
    assert.ok(removed[0]!.ok);
    assert.deepEqual(await entries.list(RT), [], 'gone once remove() returns');
  });

  it('gives up polling after its bound and says which entries are not Available yet', async () => {
    await entries.create(VPC, wanted(1));
    em.state.adminModifyEntry(RT, '172.16.0.0/24', { nextHop: I2 }); // drift: not what we want
    const seq = em.lastSeq;
    const BOUND = { initialMs: 10, maxMs: 50, maxAttempts: 10 };
    const bounded = new AlibabaRouteEntries(createAlibabaClients({ regionId: ALI_SEED.regionId, vpcEndpoint: em.endpoint, protocol: 'http', credentialsDir: dir }).vpc, { regionId: ALI_SEED.regionId, availablePoll: BOUND });
    const res = await bounded.waitAvailable(RT, [{ destination: '172.16.0.0/24', instanceId: I1 }]);
    assert.deepEqual(res, { available: [], notYet: ['172.16.0.0/24'] });
    assert.equal(em.callsSince(seq, 'DescribeRouteEntryList').length, BOUND.maxAttempts);
  });

  it('signs with an STS token from the Secret (RAM role credentials) and is refused without it', async () => {
    const sts = { accessKeyId: 'STS.NTESTSTSACCESSKEY01', accessKeySecret: 'TESTSTSSECRETabcdefghijklmnopq', securityToken: 'CAIS-test-security-token-value' };
    const stsEm = await startAliEmulator({ state: { ...aliSeedState(), accounts: [sts] } });
    const stsDir = await mkdtemp(join(tmpdir(), 'hostnet-ali-sts-'));
    try {
      await writeFile(join(stsDir, 'access-key-id'), sts.accessKeyId);
      await writeFile(join(stsDir, 'access-key-secret'), sts.accessKeySecret);
      const client = (): AlibabaRouteEntries => {
        const c = createAlibabaClients({ regionId: ALI_SEED.regionId, vpcEndpoint: stsEm.endpoint, protocol: 'http', credentialsDir: stsDir });
        return new AlibabaRouteEntries(c.vpc, { regionId: ALI_SEED.regionId, secrets: c.secrets });
      };
      const refused = await client().list(RT).then(() => undefined, (e: unknown) => e as { kind: string; code: string; message: string });
      assert.deepEqual([refused?.kind, refused?.code], ['auth', 'MissingSecurityToken']);
      await writeFile(join(stsDir, 'security-token'), sts.securityToken);
      const c = createAlibabaClients({ regionId: ALI_SEED.regionId, vpcEndpoint: stsEm.endpoint, protocol: 'http', credentialsDir: stsDir });
      assert.match(c.credentialsSource, /^STS token of AccessKey STS\.\*\*\*\*01 from /);
      assert.deepEqual(await client().list(RT), []);
      assert.ok(!JSON.stringify(stsEm.calls).includes(sts.securityToken));
    } finally {
      await stsEm.close();
      await rm(stsDir, { recursive: true, force: true });
    }
  });

  it('opens the security group for the pool once: a second pass reads and writes nothing', async () => {
    const { ecs } = createAlibabaClients({ regionId: ALI_SEED.regionId, ecsEndpoint: em.endpoint, vpcEndpoint: em.endpoint, protocol: 'http', credentialsDir: dir });
    const want = { regionId: ALI_SEED.regionId, securityGroupId: ALI_SEED.securityGroupId, poolCidr: '172.16.0.0/12', description: 'hostnet-controller inst=test' };
    assert.deepEqual(await ensurePoolIngress(ecs, want, { fence: () => void fenced++ }), { written: true, created: 1 });
    assert.deepEqual(await ensurePoolIngress(ecs, want, { fence: () => void fenced++ }), { written: false, created: 0 });
    assert.equal(em.callsSince(0, 'AuthorizeSecurityGroup').length, 1);
    assert.equal(fenced, 1);
    assert.deepEqual(em.state.groupPermissions(ALI_SEED.securityGroupId).map((p) => [p.ipProtocol, p.sourceCidrIp]), [['ALL', '172.16.0.0/12']]);
    const missing = await ensurePoolIngress(ecs, { ...want, securityGroupId: 'sg-missing' }).then(() => undefined, (e: unknown) => e as { kind: string });
    assert.equal(missing?.kind, 'notFound');
  });
});
