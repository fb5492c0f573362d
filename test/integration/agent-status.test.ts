// The agent's condition and the controller's status writes side by side on the real API server:
// the agent applies HostConfigured with server-side apply (field manager hostnet-agent); the
// controller's status write (today a merge patch of its whole status, built from the object it
// read) keeps it, and the agent's apply leaves the controller's conditions alone.
import assert from 'node:assert/strict';
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { freshCluster, startController, type ControllerProcess } from '../helpers/controller.js';
import { waitFor } from '../helpers/kube.js';
import { ECS1, HN, cond, hostNetwork, isReady } from '../helpers/invariants.js';
import type { HostNetwork } from '../../controller/api/types.js';
import { ConditionWriter, FIELD_MANAGER } from '../../agent/status.js';

describe('integration: HostConfigured (agent, server-side apply) and the controller\'s status', function () {
  this.timeout(120_000);
  let kc: KubeConfig;
  let api: CustomObjectsApi;
  let kubeconfig = '';
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

  it("the controller's status write keeps the agent's condition; the agent's apply keeps the controller's", async () => {
    await api.createClusterCustomObject({ ...HN, body: hostNetwork('st-1', { instanceID: ECS1, podCIDR: '10.0.7.0/24' }) });
    const writer = new ConditionWriter(kc);
    assert.ok(await writer.write(await get('st-1'), { status: 'False', reason: 'WaitingForCIDR', message: 'no block yet' }));
    ctl = await startController({ kubeconfig, args: ['--cloud-provider=memory', '--leader-elect=false', '--resync-period=30s'], waitLeader: true });
    const ready = await waitFor('st-1 Ready', async () => {
      const hn = await get('st-1');
      return isReady(hn) ? hn : undefined;
    }, 60_000, 100);
    assert.equal(cond(ready, 'HostConfigured')?.reason, 'WaitingForCIDR', 'the controller wrote its status and the agent\'s condition is still there');
    assert.equal(ready.status?.podCIDR, '10.0.7.0/24');
    // Now the agent reports; the controller's conditions and fields stay as they were.
    assert.ok(await writer.write(ready, { status: 'True', reason: 'Configured', message: 'in place' }));
    const both = await get('st-1');
    assert.equal(cond(both, 'HostConfigured')?.status, 'True');
    for (const t of ['CIDRAllocated', 'RouteProgrammed', 'Ready']) assert.deepEqual(cond(both, t), cond(ready, t), t);
    assert.equal(both.status?.podCIDR, '10.0.7.0/24');
    const managers = ((both.metadata as { managedFields?: { manager?: string; subresource?: string }[] }).managedFields ?? []).filter((m) => m.subresource === 'status').map((m) => m.manager);
    assert.ok(managers.includes(FIELD_MANAGER), `status managers: ${managers.join(', ')}`);
  });
});
