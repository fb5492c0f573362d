// End to end on Alibaba Cloud: the controller process (--cloud-provider=alibaba), the real
// kube-apiserver, and the Alibaba emulator reached through the real SDKs (ACS3 signature,
// asynchronous entries, TaskConflict per VPC, FailedRouteEntries, quota). The seed scenario
// (seed 003), migration as exactly one ModifyRouteEntry, deletion, drift, a storm of
// TaskConflict / Throttling / 5xx on 100 hosts, the quota of 200, one failed entry of 50.

import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { freshCluster, startController, type ControllerProcess } from '../helpers/controller.js';
import { checkInvariant, cond, createMany, deleteHn, getHn, hostNetwork, isReady, listHn, patchSpec, waitAllReady, type OwnedRoute } from '../helpers/invariants.js';
import { resetCluster, waitFor } from '../helpers/kube.js';
import { ALI_SEED, startAliEmulator, type AliEmulator } from '../emulator/alibaba/server.js';

const RT = ALI_SEED.routeTableId;
const I1 = ALI_SEED.instances[0].id;
const I2 = ALI_SEED.instances[1].id;
const MARK = 'hostnet:default:';

/** Entries of the table carrying this installation's mark, in the invariant helper's terms. */
function ownedEntries(em: AliEmulator): OwnedRoute[] {
  return em.state
    .tableEntries(RT)
    .filter((e) => e.type === 'Custom' && e.description.startsWith(MARK))
    .map((e) => ({ destination: e.destination, nexthop: e.nextHopId, owner: e.description.slice(MARK.length) }));
}

const writes = (em: AliEmulator, seq: number): string[] =>
  em
    .callsSince(seq)
    .filter((c) => !c.operation.startsWith('Describe'))
    .map((c) => c.operation);

describe('e2e: controller + Alibaba emulator (real SDK) + real API server', function () {
  this.timeout(180_000);
  let kc: KubeConfig;
  let kubeconfig: string;
  let em: AliEmulator;
  let dir: string;
  let ctl: ControllerProcess | undefined;

  before(async () => {
    const { cp, kc: k } = await freshCluster();
    kc = k;
    kubeconfig = cp.kubeconfig;
    em = await startAliEmulator({ entryDelayMs: 100 });
    dir = await mkdtemp(join(tmpdir(), 'hostnet-ali-e2e-'));
    await writeFile(join(dir, 'access-key-id'), ALI_SEED.accessKeyId);
    await writeFile(join(dir, 'access-key-secret'), ALI_SEED.accessKeySecret);
  });
  after(async () => {
    await em.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function start(extra: string[] = []): Promise<ControllerProcess> {
    ctl = await startController({
      kubeconfig,
      args: [
        '--cloud-provider=alibaba',
        `--cloud-region=${ALI_SEED.regionId}`,
        `--cloud-endpoint=http://${em.endpoint}`,
        `--cloud-vpc-id=${ALI_SEED.vpcId}`,
        `--cloud-credentials-dir=${dir}`,
        `--security-group-id=${ALI_SEED.securityGroupId}`,
        '--route-batch-window=300ms',
        // Not under test here: a generous lease so a starved API server on a loaded machine does
        // not end the run with a lost leadership (fencing has its own suite).
        '--lease-duration=60s',
        '--renew-deadline=45s',
        ...extra,
      ],
      waitLeader: true,
    });
    return ctl;
  }

  beforeEach(async () => {
    await resetCluster(kc);
    em.reset();
  });
  afterEach(async function () {
    if (ctl) {
      if (this.currentTest?.state === 'failed') console.log(ctl.logs().slice(-6000));
      await ctl.stop();
      ctl = undefined;
    }
    await resetCluster(kc);
  });

  /** `n` extra instances on the seed's vSwitch (192.168.0.100 + i). */
  function addInstances(n: number): string[] {
    return Array.from({ length: n }, (_, i) => em.state.addInstance({ id: `i-e2e${String(i).padStart(4, '0')}`, vswitchId: ALI_SEED.vswitchId, ip: `192.168.0.${100 + (i % 150)}` }).id);
  }

  it('seed 003: two hosts get blocks, entries to their instances carrying the mark, Ready without a source/dest check, the pool let into the group', async () => {
    await start();
    await createMany(kc, [hostNetwork('node-1', { instanceID: I1 }), hostNetwork('node-2', { instanceID: I2 })]);
    const hosts = await waitAllReady(kc, 2, 60_000);
    for (const h of hosts) {
      assert.deepEqual([cond(h, 'SourceDestCheckDisabled')?.status, cond(h, 'SourceDestCheckDisabled')?.reason], ['True', 'NotApplicable']);
    }
    const entries = em.state.tableEntries(RT).filter((e) => e.type === 'Custom');
    assert.equal(entries.length, 2);
    for (const h of hosts) {
      const e = entries.find((x) => x.destination === h.status!.podCIDR)!;
      assert.deepEqual([e.nextHopType, e.nextHopId, e.name, e.description, e.status], ['Instance', h.spec.instanceID, `${MARK}${h.metadata.name}`, `${MARK}${h.metadata.name}`, 'Available']);
    }
    assert.ok(em.state.groupPermissions(ALI_SEED.securityGroupId).some((p) => p.sourceCidrIp === '10.0.0.0/16' && p.ipProtocol === 'ALL'));
    await checkInvariant(kc, { converged: true, routes: ownedEntries(em) });
    assert.equal(em.callsSince(0).filter((c) => c.operation === 'DescribeInstances').length, 0, 'no NIC read on a cloud without the check');
    assert.ok(!ctl!.logs().includes(ALI_SEED.accessKeySecret), 'the AccessKey secret is never logged');
    assert.match(ctl!.logs(), /AccessKey LTAI\*{4}01 from/);
  });

  it('migration is exactly one ModifyRouteEntry (in place); deletion removes the entry; nothing else is written', async () => {
    await start();
    await createMany(kc, [hostNetwork('node-1', { instanceID: I1 })]);
    const [h] = await waitAllReady(kc, 1, 60_000);
    const id = em.state.tableEntries(RT).find((e) => e.destination === h!.status!.podCIDR)!.id;
    const seq = em.lastSeq;
    await patchSpec(kc, 'node-1', { instanceID: I2 });
    await waitFor('entry moved to instance 2 and the host Ready', async () => {
      const e = em.state.tableEntries(RT).find((x) => x.destination === h!.status!.podCIDR);
      const now = await getHn(kc, 'node-1');
      return e?.nextHopId === I2 && e.status === 'Available' && isReady(now) && now!.status?.observedGeneration === now!.metadata.generation;
    }, 60_000);
    assert.deepEqual(writes(em, seq), ['ModifyRouteEntry']);
    assert.equal(em.state.tableEntries(RT).find((x) => x.destination === h!.status!.podCIDR)!.id, id, 'the same entry');

    const del = em.lastSeq;
    await deleteHn(kc, 'node-1');
    await waitFor('host and entry gone', async () => (await listHn(kc)).length === 0 && ownedEntries(em).length === 0, 60_000);
    assert.deepEqual(writes(em, del), ['DeleteRouteEntries']);
  });

  it('drift: an entry deleted and one re-pointed in the console are repaired; a foreign entry is left alone', async () => {
    await start(['--resync-period=2s']);
    await createMany(kc, [hostNetwork('node-1', { instanceID: I1 }), hostNetwork('node-2', { instanceID: I2 })]);
    const hosts = await waitAllReady(kc, 2, 60_000);
    const [a, b] = hosts.map((h) => h.status!.podCIDR!);
    em.state.adminAddEntry(RT, { destination: '10.99.0.0/24', nextHop: I2, name: 'theirs', description: 'someone else' }, false);
    em.state.adminDeleteEntry(RT, a!);
    em.state.adminModifyEntry(RT, b!, { nextHop: I1 });
    await waitFor('both entries back as the controller wants them', async () => {
      const es = em.state.tableEntries(RT);
      const ea = es.find((e) => e.destination === a);
      const eb = es.find((e) => e.destination === b);
      return ea?.status === 'Available' && ea.nextHopId === I1 && eb?.status === 'Available' && eb.nextHopId === I2;
    }, 60_000);
    const foreign = em.state.tableEntries(RT).find((e) => e.destination === '10.99.0.0/24')!;
    assert.deepEqual([foreign.nextHopId, foreign.name, foreign.description], [I2, 'theirs', 'someone else']);
    await waitAllReady(kc, 2, 60_000);
    await checkInvariant(kc, { converged: true, routes: ownedEntries(em) });
  });

  it('one failed entry of a batch of 50: that host says why (code and message), the other 49 are Programmed', async () => {
    await start();
    // An instance the cloud does not know: CreateRouteEntries lists its entry in FailedRouteEntries.
    const objs = Array.from({ length: 50 }, (_, i) => hostNetwork(`h-${String(i).padStart(2, '0')}`, { instanceID: i === 17 ? 'i-doesnotexist000000000' : i % 2 ? I1 : I2 }));
    await createMany(kc, objs);
    await waitFor('49 hosts Ready', async () => (await listHn(kc)).filter(isReady).length === 49, 90_000);
    const bad = await waitFor('h-17 says why its route failed', async () => {
      const h = await getHn(kc, 'h-17');
      const c = cond(h, 'RouteProgrammed');
      return c?.status === 'False' && /InvalidNextHop\.NotFound/.test(c.message) ? h : undefined;
    }, 60_000);
    assert.match(cond(bad, 'RouteProgrammed')!.message, /i-doesnotexist000000000/, 'the cloud message is kept');
    const all = await listHn(kc);
    const ready = all.filter((h) => isReady(h) && h.metadata.name !== 'h-17');
    assert.equal(ready.length, 49);
    const creates = em.callsSince(0, 'CreateRouteEntries');
    assert.ok(creates.some((c) => (c.failed ?? 0) === 1 && (c.entries ?? 0) > 1), 'the failure came back inside a batch, entry by entry');
    assert.equal(ownedEntries(em).length, 49);
  });

  it('quota: 201 hosts on a table of 200 custom entries: 200 Programmed, one RouteQuotaExceeded', async () => {
    const ids = addInstances(201);
    await start();
    await createMany(kc, ids.map((id, i) => hostNetwork(`q-${String(i).padStart(3, '0')}`, { instanceID: id })));
    const over = await waitFor('one host over the quota', async () => {
      const all = await listHn(kc);
      const ready = all.filter(isReady);
      const quota = all.filter((h) => cond(h, 'RouteProgrammed')?.reason === 'RouteQuotaExceeded');
      return ready.length === 200 && quota.length === 1 ? quota[0] : undefined;
    }, 150_000);
    assert.ok(over);
    assert.equal(em.state.customCount(RT), 200);
    await checkInvariant(kc, {});
  });

  it('a storm of TaskConflict, Throttling.User and 5xx on 100 hosts converges with bounded calls, nothing created twice', async () => {
    const ids = addInstances(100);
    em.faults.set({
      failNext: [
        { operation: 'CreateRouteEntries', status: 400, code: 'TaskConflict', count: 4 },
        { operation: 'CreateRouteEntries', status: 400, code: 'Throttling.User', count: 3 },
        { operation: 'CreateRouteEntries', status: 503, code: 'ServiceUnavailable', count: 3 },
        { operation: 'DescribeRouteEntryList', status: 500, code: 'InternalError', count: 3 },
      ],
    });
    await start();
    await createMany(kc, ids.map((id, i) => hostNetwork(`s-${String(i).padStart(3, '0')}`, { instanceID: id })));
    await waitAllReady(kc, 100, 150_000);
    await checkInvariant(kc, { converged: true, routes: ownedEntries(em) });
    const creates = em.callsSince(0, 'CreateRouteEntries');
    const accepted = creates.filter((c) => c.status === 200);
    // Every entry reached the cloud once: what the accepted calls carried, less what they refused.
    assert.equal(accepted.reduce((n, c) => n + (c.entries ?? 0) - (c.failed ?? 0), 0), 100);
    assert.ok(accepted.every((c) => (c.entries ?? 0) <= 50));
    // Bounded: the 10 refused calls, plus batches of 50 at best; a loose ceiling for how the
    // hosts trickle in from the API server.
    assert.ok(creates.length <= 10 + 20, `${creates.length} CreateRouteEntries calls`);
    assert.equal(em.callsSince(0, 'DeleteRouteEntries').length, 0);
  });
});

