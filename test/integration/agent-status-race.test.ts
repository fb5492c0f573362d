// The race the agent's engineer noted (issue 13): a controller that writes its whole status as a
// merge patch built from the object it read undoes an agent write (HostConfigured, server-side
// apply) landing between that read and its write, until the agent's next check. Driven
// deterministically on the real API server: the controller's status writer (KubeStatusWriter,
// the one the reconciler uses) is handed the object as read before the agent's apply, with one of
// the controller's conditions changed, as a reconcile pass would. Both cases failed with the merge
// patch writer; they pass since KubeStatusWriter applies only the controller's own fields and
// condition types (server-side apply, field manager hostnet-controller).
import assert from 'node:assert/strict';
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { freshCluster } from '../helpers/controller.js';
import { HN, cond, hostNetwork } from '../helpers/invariants.js';
import { setCondition } from '../../controller/api/conditions.js';
import type { HostNetwork } from '../../controller/api/types.js';
import { KubeStatusWriter } from '../../controller/kube/status.js';
import { ConditionWriter } from '../../agent/status.js';

describe("race: the agent's HostConfigured applied between the controller's read and its status write", function () {
  this.timeout(60_000);
  let kc: KubeConfig;
  let api: CustomObjectsApi;

  before(async () => {
    kc = (await freshCluster()).kc;
    api = kc.makeApiClient(CustomObjectsApi);
  });

  const get = async (name: string): Promise<HostNetwork> => (await api.getClusterCustomObject({ ...HN, name })) as HostNetwork;

  /** What a reconcile pass writes: the status as read, with one of the controller's conditions changed. */
  const controllerStatus = (read: HostNetwork, reason: string) => ({
    ...read.status,
    podCIDR: '10.0.8.0/24',
    conditions: setCondition(read.status?.conditions, { type: 'CIDRAllocated', status: 'True', reason, message: `Pinned block 10.0.8.0/24 (${reason})` }),
  });

  it("the agent's first report survives a controller write from an object read before it", async () => {
    await api.createClusterCustomObject({ ...HN, body: hostNetwork('race-1', { instanceID: 'srv-race-1', podCIDR: '10.0.8.0/24' }) });
    const status = new KubeStatusWriter(kc);
    const first = await status.write(await get('race-1'), controllerStatus(await get('race-1'), 'Pinned'));
    const read = first; // the controller's read
    assert.ok(await new ConditionWriter(kc).write(await get('race-1'), { status: 'True', reason: 'Configured', message: 'in place' }));
    await status.write(read, { ...controllerStatus(read, 'Pinned'), observedGeneration: 1 });
    const now = await get('race-1');
    assert.equal(now.status?.observedGeneration, 1, "the controller's write landed");
    assert.equal(cond(now, 'HostConfigured')?.status, 'True', "the agent's condition is still there");
  });

  it("the agent's change survives a controller write from an object read before it", async () => {
    await api.createClusterCustomObject({ ...HN, body: hostNetwork('race-2', { instanceID: 'srv-race-2', podCIDR: '10.0.9.0/24' }) });
    const agent = new ConditionWriter(kc);
    assert.ok(await agent.write(await get('race-2'), { status: 'False', reason: 'DockerUnavailable', message: 'no Docker' }));
    const read = await get('race-2'); // the controller's read: the agent's old condition in it
    assert.equal(cond(read, 'HostConfigured')?.status, 'False');
    assert.ok(await agent.write(read, { status: 'True', reason: 'Configured', message: 'in place' }));
    await new KubeStatusWriter(kc).write(read, { ...controllerStatus(read, 'Pinned'), observedGeneration: 1 });
    const now = await get('race-2');
    assert.equal(now.status?.observedGeneration, 1, "the controller's write landed");
    assert.deepEqual([cond(now, 'HostConfigured')?.status, cond(now, 'HostConfigured')?.reason], ['True', 'Configured'], "the agent's newer condition is kept");
  });
});
