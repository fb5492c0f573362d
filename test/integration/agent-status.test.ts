// The agent's condition and the controller's status writes side by side on the real API server:
// the agent applies HostConfigured with server-side apply (field manager hostnet-agent); the
// controller's status write (server-side apply of its own fields and conditions, field manager
// hostnet-controller) keeps it, and the agent's apply leaves the controller's conditions alone.
import assert from 'node:assert/strict';
import { CustomObjectsApi, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { useHostNetworkApi } from '../helpers/hostnetwork-api.js';
import { waitFor } from '../helpers/kube.js';
import { ECS1, ECS2, HN, cond, hostNetwork, isReady } from '../helpers/invariants.js';
import { ConditionWriter, FIELD_MANAGER } from '../../agent/status.js';

describe('integration: HostConfigured (agent, server-side apply) and the controller\'s status', function () {
  this.timeout(120_000);
  const fx = useHostNetworkApi();
  const { get } = fx;
  let kc: KubeConfig;
  let api: CustomObjectsApi;
  before(() => ({ kc, api } = fx));

  it("the controller's status write keeps the agent's condition; the agent's apply keeps the controller's; Ready waits for the agent", async () => {
    await api.createClusterCustomObject({ ...HN, body: hostNetwork('st-1', { instanceID: ECS1, podCIDR: '10.0.7.0/24' }) });
    const writer = new ConditionWriter(kc);
    assert.ok(await writer.write(await get('st-1'), { status: 'False', reason: 'NetworkConflict', message: 'Docker network "other" overlaps the block' }));
    await fx.startController({ args: ['--cloud-provider=memory', '--leader-elect=false', '--resync-period=30s'], waitLeader: true });
    const routed = await waitFor('st-1 routed', async () => {
      const hn = await get('st-1');
      return cond(hn, 'RouteProgrammed')?.status === 'True' && hn.status?.observedGeneration === hn.metadata.generation ? hn : undefined;
    }, 60_000, 100);
    assert.equal(cond(routed, 'HostConfigured')?.reason, 'NetworkConflict', "the controller wrote its status and the agent's condition is still there");
    assert.equal(routed.status?.podCIDR, '10.0.7.0/24');
    assert.deepEqual([cond(routed, 'Ready')?.status, cond(routed, 'Ready')?.reason], ['False', 'NetworkConflict'], "Ready shows the agent's problem");
    // The agent reports the host configured: the controller's conditions stay, Ready follows.
    assert.ok(await writer.write(routed, { status: 'True', reason: 'Configured', message: 'in place' }));
    const ready = await waitFor('st-1 Ready', async () => {
      const hn = await get('st-1');
      return isReady(hn) ? hn : undefined;
    }, 60_000, 100);
    assert.equal(cond(ready, 'HostConfigured')?.status, 'True');
    for (const t of ['CIDRAllocated', 'RouteProgrammed']) assert.deepEqual(cond(ready, t), cond(routed, t), t);
    const managers = ((ready.metadata as { managedFields?: { manager?: string; subresource?: string }[] }).managedFields ?? []).filter((m) => m.subresource === 'status').map((m) => m.manager);
    assert.ok(managers.includes(FIELD_MANAGER), `status managers: ${managers.join(', ')}`);
    // Migrated: until the new server's agent reports on the new generation, not Ready.
    await api.patchClusterCustomObject({ ...HN, name: 'st-1', body: { spec: { instanceID: ECS2 } } }, setHeaderOptions('Content-Type', 'application/merge-patch+json'));
    const waiting = await waitFor('st-1 waiting for the new agent', async () => {
      const hn = await get('st-1');
      return hn.status?.observedGeneration === hn.metadata.generation && cond(hn, 'Ready')?.reason === 'WaitingForAgent' ? hn : undefined;
    }, 60_000, 100);
    assert.equal(cond(waiting, 'Ready')?.status, 'False');
    assert.ok(await writer.write(waiting, { status: 'True', reason: 'Configured', message: 'in place on the new server' }));
    await waitFor('st-1 Ready again', async () => isReady(await get('st-1')), 60_000, 100);
  });
});
