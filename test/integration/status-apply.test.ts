// The controller's status write by server-side apply (controller/kube/status.ts) on the real API
// server: it carries only the controller's fields and condition types, fields it leaves out are
// removed (also on objects whose status the merge-patch controller of earlier versions wrote:
// client-node's merge patch records them under the manager "node-fetch", and an apply alone
// leaves a field that manager co-owns in place), other managers' conditions are never touched,
// and a write to an object deleted meanwhile creates nothing.
import assert from 'node:assert/strict';
import { CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { freshCluster, startController, type ControllerProcess } from '../helpers/controller.js';
import { waitFor } from '../helpers/kube.js';
import { ECS1, HN, cond, hostNetwork } from '../helpers/invariants.js';
import type { Condition, HostNetwork, HostNetworkStatus } from '../../controller/api/types.js';
import { FIELD_MANAGER, KubeStatusWriter } from '../../controller/kube/status.js';
import { ConditionWriter, FIELD_MANAGER as AGENT_MANAGER } from '../../agent/status.js';

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

interface ManagedFields {
  manager?: string;
  operation?: string;
  subresource?: string;
  fieldsV1?: { 'f:status'?: Record<string, unknown> };
}

const condition = (type: string, reason: string, observedGeneration = 1): Condition => ({ type, status: 'True', reason, message: `${type} ${reason}`, lastTransitionTime: '2026-01-01T00:00:00Z', observedGeneration });

/** Which managers own status field `f` (e.g. 'f:addedPair', 'k:{"type":"Ready"}' under conditions). */
function owners(hn: HostNetwork, f: string, under?: 'f:conditions'): string[] {
  const entries = ((hn.metadata as { managedFields?: ManagedFields[] }).managedFields ?? []).filter((m) => m.subresource === 'status');
  return entries
    .filter((m) => {
      const s = m.fieldsV1?.['f:status'] ?? {};
      const scope = under ? ((s[under] ?? {}) as Record<string, unknown>) : s;
      return f in scope;
    })
    .map((m) => `${m.manager}/${m.operation}`);
}

describe("integration: the controller's status by server-side apply (field manager hostnet-controller)", function () {
  this.timeout(120_000);
  let kc: KubeConfig;
  let kubeconfig = '';
  let api: CustomObjectsApi;
  let ctl: ControllerProcess | undefined;

  before(async () => {
    const f = await freshCluster();
    kc = f.kc;
    kubeconfig = f.cp.kubeconfig;
    api = kc.makeApiClient(CustomObjectsApi);
  });

  after(async () => {
    await ctl?.stop();
  });

  const get = async (name: string): Promise<HostNetwork> => (await api.getClusterCustomObject({ ...HN, name })) as HostNetwork;

  /** What the controller wrote before server-side apply: a merge patch of its whole status. */
  const oldControllerWrite = async (name: string, status: HostNetworkStatus): Promise<void> => {
    await api.patchClusterCustomObjectStatus({ ...HN, name, body: { status } }, mergePatch);
  };

  const full = (instanceID: string, block: string): HostNetworkStatus => ({
    podCIDR: block,
    nextHop: instanceID,
    hostIP: '192.168.0.9',
    addedPair: { instanceID, portId: `port-${instanceID}`, pair: '1.1.1.1/0' },
    observedGeneration: 1,
    routeTables: [{ id: 'rtb-1', state: 'Programmed' }],
    conditions: ['CIDRAllocated', 'RouteProgrammed', 'SourceDestCheckDisabled', 'HostIPVerified', 'Ready'].map((t) => condition(t, 'Done')),
  });

  it('fields and condition types the controller leaves out are removed; the agent keeps its condition', async () => {
    await api.createClusterCustomObject({ ...HN, body: hostNetwork('ssa-1', { instanceID: 'srv-ssa-1' }) });
    const agent = new ConditionWriter(kc);
    assert.ok(await agent.write(await get('ssa-1'), { status: 'True', reason: 'Configured', message: 'in place' }));
    const writer = new KubeStatusWriter(kc);
    const first = await writer.write(await get('ssa-1'), full('srv-ssa-1', '10.0.11.0/24'));
    assert.equal(first.status?.addedPair?.portId, 'port-srv-ssa-1');
    assert.deepEqual(owners(await get('ssa-1'), 'f:addedPair'), [`${FIELD_MANAGER}/Apply`]);
    // The pair released, the address no longer shown, Ready no longer reported: all three go.
    const next = { ...full('srv-ssa-1', '10.0.11.0/24'), conditions: full('srv-ssa-1', '10.0.11.0/24').conditions!.filter((c) => c.type !== 'Ready') };
    delete next.addedPair;
    delete next.hostIP;
    await writer.write(first, next);
    const now = await get('ssa-1');
    assert.equal(now.status?.addedPair, undefined, 'addedPair removed');
    assert.equal(now.status?.hostIP, undefined, 'hostIP removed');
    assert.equal(cond(now, 'Ready'), undefined, 'Ready removed');
    assert.equal(cond(now, 'CIDRAllocated')?.reason, 'Done');
    assert.equal(cond(now, 'HostConfigured')?.reason, 'Configured', "the agent's condition stays");
    assert.deepEqual(owners(now, 'k:{"type":"HostConfigured"}', 'f:conditions'), [`${AGENT_MANAGER}/Apply`], 'HostConfigured is owned by the agent alone');
    assert.deepEqual(owners(now, 'k:{"type":"CIDRAllocated"}', 'f:conditions'), [`${FIELD_MANAGER}/Apply`]);
  });

  it('an object written by the merge-patch controller: the new writer removes what it leaves out, and owns what it writes again', async () => {
    await api.createClusterCustomObject({ ...HN, body: hostNetwork('ssa-2', { instanceID: 'srv-ssa-2' }) });
    const agent = new ConditionWriter(kc);
    assert.ok(await agent.write(await get('ssa-2'), { status: 'False', reason: 'DockerUnavailable', message: 'no Docker' }));
    // The old controller's write, from a read that held the agent's condition, plus a condition
    // type of someone else's that the controller never wrote.
    const legacy = full('srv-ssa-2', '10.0.12.0/24');
    legacy.conditions!.push({ ...condition('HostConfigured', 'DockerUnavailable'), status: 'False', message: 'no Docker' }, condition('ExampleComOther', 'Theirs'));
    await oldControllerWrite('ssa-2', legacy);
    const upgraded = await get('ssa-2');
    const old = owners(upgraded, 'f:addedPair');
    assert.equal(old.length, 1);
    assert.notEqual(old[0], `${FIELD_MANAGER}/Apply`, 'the merge patch recorded another manager');

    const writer = new KubeStatusWriter(kc);
    const next = { ...full('srv-ssa-2', '10.0.12.0/24'), conditions: full('srv-ssa-2', '10.0.12.0/24').conditions!.filter((c) => c.type !== 'HostIPVerified') };
    delete next.addedPair;
    delete next.hostIP;
    next.observedGeneration = 2;
    await writer.write(upgraded, next);
    const now = await get('ssa-2');
    assert.equal(now.status?.observedGeneration, 2, 'the write landed');
    assert.equal(now.status?.addedPair, undefined, 'addedPair removed');
    assert.equal(now.status?.hostIP, undefined, 'hostIP removed');
    assert.equal(cond(now, 'HostIPVerified'), undefined, 'HostIPVerified removed');
    assert.deepEqual([cond(now, 'HostConfigured')?.status, cond(now, 'HostConfigured')?.reason], ['False', 'DockerUnavailable'], "the agent's condition stays");
    assert.equal(cond(now, 'ExampleComOther')?.reason, 'Theirs', 'a condition type not the controller\'s stays');
    assert.equal(writer.writes, 1);

    // Written again and left out again: one apply removes it now, as on a new object.
    const again = await writer.write(now, { ...next, addedPair: { instanceID: 'srv-ssa-2', portId: 'port-2', pair: '1.1.1.1/0' } });
    assert.deepEqual(owners(await get('ssa-2'), 'f:addedPair'), [`${FIELD_MANAGER}/Apply`], 'the pair written again is the controller\'s alone');
    const after = await writer.write(again, next);
    assert.equal(after.status?.addedPair, undefined);
    assert.equal((await get('ssa-2')).status?.addedPair, undefined);
  });

  it('nothing is sent when only other managers\' conditions differ, and a deleted object is not created again', async () => {
    await api.createClusterCustomObject({ ...HN, body: hostNetwork('ssa-3', { instanceID: 'srv-ssa-3' }) });
    const writer = new KubeStatusWriter(kc);
    const mine = full('srv-ssa-3', '10.0.13.0/24');
    const stored = await writer.write(await get('ssa-3'), mine);
    assert.equal(writer.writes, 1);
    // The reconciler's status carries the agent's condition as it read it: not the controller's
    // to write, so no request.
    const withAgent = { ...mine, conditions: [...mine.conditions!, condition('HostConfigured', 'Configured')] };
    assert.equal(await writer.write(stored, withAgent), stored);
    assert.equal(writer.writes, 1);
    assert.equal(cond(await get('ssa-3'), 'HostConfigured'), undefined, 'the copy of the agent\'s condition was not written');

    await api.deleteClusterCustomObject({ ...HN, name: 'ssa-3' });
    await waitFor('ssa-3 gone', async () => api.getClusterCustomObject({ ...HN, name: 'ssa-3' }).then(() => false, (e: { code?: number }) => e.code === 404));
    await assert.rejects(writer.write(stored, { ...mine, observedGeneration: 2 }), (e: { code?: number }) => e.code === 404);
    await assert.rejects(api.getClusterCustomObject({ ...HN, name: 'ssa-3' }), (e: { code?: number }) => e.code === 404, 'not created by the apply');
  });

  it('upgrade: a host whose status the merge-patch controller wrote loses the field the new controller no longer reports', async () => {
    for (const name of ['ssa-1', 'ssa-2']) await api.deleteClusterCustomObject({ ...HN, name });
    await api.createClusterCustomObject({ ...HN, body: { ...hostNetwork('ssa-up', { instanceID: ECS1 }), metadata: { name: 'ssa-up', finalizers: ['hostnet.io/routes'] } } });
    // Written by an earlier controller with --source-dest-check=disable: the NIC's address shown.
    const legacy = full(ECS1, '10.0.14.0/24');
    delete legacy.addedPair;
    delete legacy.routeTables;
    await oldControllerWrite('ssa-up', legacy);
    assert.equal((await get('ssa-up')).status?.hostIP, '192.168.0.9');
    // Now run with --source-dest-check=off: the NIC is not read, so no address is shown.
    ctl = await startController({ kubeconfig, args: ['--cloud-provider=memory', '--leader-elect=false', '--source-dest-check=off'], waitLeader: true });
    await waitFor('ssa-up reconciled', async () => cond(await get('ssa-up'), 'SourceDestCheckDisabled')?.reason === 'NotManaged', 60_000, 100);
    // The same write removes the address (its apply, then the one JSON patch for what the old
    // manager co-owns): a few milliseconds apart, so it is waited for, briefly.
    const now = await waitFor('status.hostIP removed', async () => {
      const hn = await get('ssa-up');
      return hn.status?.hostIP === undefined ? hn : undefined;
    }, 10_000, 100).catch((err: Error) => assert.fail(`${err.message}; controller log:\n${ctl?.logs().slice(-4000)}`));
    assert.equal(now.status?.podCIDR, '10.0.14.0/24', 'the block stays');
    assert.deepEqual([cond(now, 'HostIPVerified')?.status, cond(now, 'HostIPVerified')?.reason], ['Unknown', 'NotChecked']);
    assert.equal(cond(now, 'Ready')?.status, 'True', `Ready: ${cond(now, 'Ready')?.message}`);
  });
});
