// The controller with --cloud-provider=none (direct routing: each host's hostnet-agent routes the
// peers) on the real API server: a host gets its block (ledger + status.podCIDR), the NIC
// condition says NotApplicable, RouteProgrammed says NoCloudRouter, Ready follows the agent's HostConfigured, and no provider call
// of any kind is made but the (local, empty) list of route tables. No cloud, no cloud flag.
import assert from 'node:assert/strict';
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { useHostNetworkApi } from '../helpers/hostnetwork-api.js';
import { waitFor } from '../helpers/kube.js';
import { HN, cond, hostNetwork, isReady, readLedger } from '../helpers/invariants.js';
import { ConditionWriter } from '../../agent/status.js';

const INSTALLATION = 'direct-it';

describe('integration: the controller with --cloud-provider=none', function () {
  this.timeout(120_000);
  const fx = useHostNetworkApi();
  const { get } = fx;
  let kc: KubeConfig;
  let api: CustomObjectsApi;
  before(() => ({ kc, api } = fx));

  it("allocates and records the block, NIC NotApplicable, Ready follows HostConfigured, no cloud call", async () => {
    const ctl = await fx.startController({
      args: ['--cloud-provider=none', `--installation-id=${INSTALLATION}`, '--leader-elect=false', '--resync-period=30s'],
      // Nothing of a cloud in the environment either: the helper's defaults are for Huawei.
      env: { HUAWEICLOUD_SDK_AK: '', HUAWEICLOUD_SDK_SK: '' },
      waitLeader: true,
    });
    await api.createClusterCustomObject({ ...HN, body: hostNetwork('direct-1', { instanceID: 'host-1', hostIP: '127.0.0.2' }) });
    const allocated = await waitFor('direct-1 allocated', async () => {
      const hn = await get('direct-1');
      return hn.status?.observedGeneration === hn.metadata.generation && cond(hn, 'SourceDestCheckDisabled')?.status === 'True' ? hn : undefined;
    }, 60_000, 100);
    const block = allocated.status?.podCIDR;
    assert.match(block ?? '', /^10\.0\.\d+\.0\/24$/);
    assert.equal((await readLedger(kc, INSTALLATION)).records.get(block!), 'direct-1', 'the ledger records the block for the host');
    assert.deepEqual([cond(allocated, 'CIDRAllocated')?.status, cond(allocated, 'CIDRAllocated')?.reason], ['True', 'Allocated']);
    assert.deepEqual([cond(allocated, 'SourceDestCheckDisabled')?.status, cond(allocated, 'SourceDestCheckDisabled')?.reason], ['True', 'NotApplicable']);
    assert.deepEqual(allocated.status?.routeTables, [], 'no route table is managed');
    // No route exists anywhere: RouteProgrammed says there is no cloud router (not RouteCreated).
    assert.deepEqual([cond(allocated, 'RouteProgrammed')?.status, cond(allocated, 'RouteProgrammed')?.reason], ['True', 'NoCloudRouter']);
    assert.match(cond(allocated, 'RouteProgrammed')?.message ?? '', /^No cloud router \(--cloud-provider=none\).*hostnet-agents \(--routing=direct\) route 10\.0\.\d+\.0\/24 to host-1 directly$/);

    // The agent reports a problem, then the host configured: Ready follows it.
    const writer = new ConditionWriter(kc);
    assert.ok(await writer.write(allocated, { status: 'False', reason: 'DockerUnavailable', message: 'no Docker' }));
    await waitFor('direct-1 not Ready on the agent\'s problem', async () => cond(await get('direct-1'), 'Ready')?.reason === 'DockerUnavailable' || undefined, 60_000, 100);
    assert.ok(await writer.write(await get('direct-1'), { status: 'True', reason: 'Configured', message: 'in place' }));
    const ready = await waitFor('direct-1 Ready', async () => {
      const hn = await get('direct-1');
      return isReady(hn) ? hn : undefined;
    }, 60_000, 100);
    assert.equal(ready.status?.podCIDR, block, 'the block stays');
    assert.equal(cond(ready, 'Ready')?.message, `Containers in ${block} are on host-1; with no cloud router the hosts' hostnet-agents route the block directly`, 'Ready claims no NIC step and no cloud route');

    // No provider call but the list of (no) route tables: every other operation's counter is 0.
    const text = await (await fetch(ctl.metricsUrl)).text();
    const calls = text
      .split('\n')
      .filter((l) => l.startsWith('hostnet_cloud_requests_total{'))
      .filter((l) => Number(l.split(' ').pop()) > 0);
    assert.ok(calls.length > 0 && calls.every((l) => l.includes('operation="routeTables.list"') && l.includes('outcome="success"')), `cloud calls:\n${calls.join('\n')}`);
    assert.ok(calls.every((l) => l.includes('provider="none"')), calls.join('\n'));
  });
});
