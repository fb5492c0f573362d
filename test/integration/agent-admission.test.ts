// Each host's agent may write only what belongs to its own server, proven against the real API
// server with the chart's objects (agent.enabled=true) and a real per-host token made by the
// project's own command (agent/kubeconfig.ts): agent A writes its condition on A's HostNetwork
// and registers a HostNetwork of its own server, but cannot create, patch, delete or write the
// status of B's. The controller's identity is not limited by the policy.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi, KubeConfig, setHeaderOptions, type KubernetesObject } from '@kubernetes/client-node';
import { controlPlane } from '../helpers/controlplane.js';
import { freshCluster } from '../helpers/controller.js';
import { waitFor } from '../helpers/kube.js';
import { chartDir, kubectl, parseObjects, tool } from '../helpers/cli.js';
import { ECS1, ECS2, HN, hostNetwork } from '../helpers/invariants.js';
import type { HostNetwork } from '../../controller/api/types.js';
import { agentKubeconfig } from '../../agent/kubeconfig.js';
import { ConditionWriter } from '../../agent/status.js';
import { registerSelf } from '../../agent/register.js';

const NS = 'hostnet-system';
const MERGE = setHeaderOptions('Content-Type', 'application/merge-patch+json');
const APPLIED_KINDS = new Set(['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding']);

function codeOf(err: unknown): number | undefined {
  return (err as { code?: number }).code;
}

async function refused(what: string, fn: () => Promise<unknown>, want: RegExp): Promise<void> {
  try {
    await fn();
  } catch (err) {
    const e = err as { code?: number; body?: unknown };
    assert.equal(e.code, 403, `${what}: ${String(e.body)}`);
    assert.match(String(e.body), want, what);
    return;
  }
  assert.fail(`${what}: the API server accepted it`);
}

describe('integration: agent identities are limited to their own server (chart VAP + RBAC, real tokens)', function () {
  this.timeout(120_000);
  let admin: KubeConfig;
  let agentA: CustomObjectsApi;
  let kcA: KubeConfig;
  let adminApi: CustomObjectsApi;
  let adminKubeconfig = '';
  let dir = '';

  before(async () => {
    ({ kc: admin } = await freshCluster());
    adminKubeconfig = (await controlPlane()).kubeconfig;
    adminApi = admin.makeApiClient(CustomObjectsApi);
    await admin
      .makeApiClient(CoreV1Api)
      .createNamespace({ body: { metadata: { name: NS } } })
      .catch((err: unknown) => {
        if (codeOf(err) !== 409) throw err;
      });
    const rendered = execFileSync(tool('helm'), ['template', 'hostnet-controller', chartDir, '--namespace', NS, '--set', 'cloud.provider=memory', '--set', 'agent.enabled=true'], { encoding: 'utf8' });
    const objects = parseObjects(rendered).filter((o: KubernetesObject) => APPLIED_KINDS.has(o.kind ?? ''));
    assert.ok(objects.some((o) => o.kind === 'ValidatingAdmissionPolicy'), 'the chart ships the policy');
    await kubectl(adminKubeconfig, ['apply', '--server-side', '-f', '-'], { input: objects.map((o) => JSON.stringify(o)).join('\n') });
    const text = await agentKubeconfig(admin, { instanceId: ECS1, namespace: NS, clusterRole: 'hostnet-controller-agent', durationSeconds: 3600 });
    dir = mkdtempSync(join(tmpdir(), 'hn-agent-kc-'));
    writeFileSync(join(dir, 'a.kubeconfig'), text, { mode: 0o600 });
    kcA = new KubeConfig();
    kcA.loadFromFile(join(dir, 'a.kubeconfig'));
    assert.equal(kcA.getCurrentUser()?.name, `hostnet-agent-${ECS1}`);
    agentA = kcA.makeApiClient(CustomObjectsApi);
    await adminApi.createClusterCustomObject({ ...HN, body: hostNetwork('host-a', { instanceID: ECS1, podCIDR: '10.0.2.0/24' }) });
    await adminApi.createClusterCustomObject({ ...HN, body: hostNetwork('host-b', { instanceID: ECS2, podCIDR: '10.0.3.0/24' }) });
    // The policy is compiled in the background after it is created: wait until it answers.
    await waitFor('the policy in force', async () => {
      try {
        await agentA.createClusterCustomObject({ ...HN, body: hostNetwork('probe', { instanceID: ECS2 }) });
        await adminApi.deleteClusterCustomObject({ ...HN, name: 'probe' });
        return false;
      } catch (err) {
        return codeOf(err) === 403;
      }
    }, 30_000, 200);
  });

  after(async () => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("agent A writes its condition on A's HostNetwork by server-side apply", async () => {
    const a = (await agentA.getClusterCustomObject({ ...HN, name: 'host-a' }).catch(() => undefined)) as HostNetwork | undefined;
    assert.equal(a, undefined, 'RBAC gives agents list/watch, not get (the informer needs no more)');
    const list = (await agentA.listClusterCustomObject({ ...HN, fieldSelector: `spec.instanceID=${ECS1}` })) as { items: HostNetwork[] };
    assert.deepEqual(list.items.map((h) => h.metadata.name), ['host-a'], 'the field selector on spec.instanceID (CRD selectableFields)');
    assert.ok(await new ConditionWriter(kcA).write(list.items[0]!, { status: 'True', reason: 'Configured', message: 'ok' }));
    const now = (await adminApi.getClusterCustomObject({ ...HN, name: 'host-a' })) as HostNetwork;
    assert.equal(now.status?.conditions?.find((c) => c.type === 'HostConfigured')?.status, 'True');
  });

  it("agent A cannot write B's status, patch or delete B, create a HostNetwork of B's server, or move its own to B", async () => {
    const b = (await adminApi.getClusterCustomObject({ ...HN, name: 'host-b' })) as HostNetwork;
    await refused("A applies B's status", () => new ConditionWriter(kcA).write(b, { status: 'True', reason: 'Configured', message: 'not mine' }), /may only change HostNetworks of its own server/);
    await refused("A patches B's spec", () => agentA.patchClusterCustomObject({ ...HN, name: 'host-b', body: { spec: { podCIDR: '10.0.9.0/24' } } }, MERGE), /forbidden/);
    await refused('A deletes B', () => agentA.deleteClusterCustomObject({ ...HN, name: 'host-b' }), /forbidden/);
    await refused("A creates a HostNetwork of B's server", () => agentA.createClusterCustomObject({ ...HN, body: hostNetwork('sneaky', { instanceID: ECS2 }) }), /may only create HostNetworks of its own server/);
    await refused("A merge-patches B's status", () => agentA.patchClusterCustomObjectStatus({ ...HN, name: 'host-b', body: { status: { podCIDR: '10.0.9.0/24' } } }, MERGE), /may only change HostNetworks of its own server/);
    await refused('A moves its own HostNetwork to B', () => agentA.patchClusterCustomObject({ ...HN, name: 'host-a', body: { spec: { instanceID: ECS2 } } }, MERGE), /forbidden/);
    const after = (await adminApi.getClusterCustomObject({ ...HN, name: 'host-b' })) as HostNetwork;
    assert.deepEqual(after.spec, b.spec);
    assert.deepEqual(after.status ?? {}, b.status ?? {});
  });

  it('agent A registers a HostNetwork of its own server (self-registration)', async () => {
    await agentA.createClusterCustomObject({ ...HN, body: hostNetwork('host-a2', { instanceID: ECS1 }) });
    const got = (await adminApi.getClusterCustomObject({ ...HN, name: 'host-a2' })) as HostNetwork;
    assert.equal(got.spec.instanceID, ECS1);
  });

  it('self-registration (agent/register.ts with A\'s token): creates one when none serves the server, never touches a name taken by another', async () => {
    assert.equal(await registerSelf(agentA, { name: 'self-a', instanceId: ECS1, hostIp: '192.168.0.2' }, []), 'created');
    const got = (await adminApi.getClusterCustomObject({ ...HN, name: 'self-a' })) as HostNetwork;
    assert.deepEqual(got.spec, { instanceID: ECS1, hostIP: '192.168.0.2' });
    assert.equal(await registerSelf(agentA, { name: 'self-a', instanceId: ECS1 }, []), 'served', 'a second start finds its own');
    const before = (await adminApi.getClusterCustomObject({ ...HN, name: 'host-b' })) as HostNetwork;
    await assert.rejects(registerSelf(agentA, { name: 'host-b', instanceId: ECS1 }, []), /HostNetwork host-b already exists for server .*002; give this host another --register-name/);
    assert.deepEqual(((await adminApi.getClusterCustomObject({ ...HN, name: 'host-b' })) as HostNetwork).spec, before.spec);
  });

  it("the controller's identity is not limited by the policy (its RBAC is the chart's, unchanged)", async () => {
    // As the chart's controller ServiceAccount (impersonated by the admin): a merge patch of
    // B's status, which the policy would refuse to any agent.
    const user = admin.getCurrentUser()!;
    const asController = new KubeConfig();
    asController.loadFromOptions({
      clusters: admin.clusters,
      users: [{ ...user, impersonateUser: `system:serviceaccount:${NS}:hostnet-controller` }],
      contexts: admin.contexts,
      currentContext: admin.currentContext,
    });
    const patched = (await asController
      .makeApiClient(CustomObjectsApi)
      .patchClusterCustomObjectStatus({ ...HN, name: 'host-b', body: { status: { nextHop: ECS2 } } }, MERGE)) as HostNetwork;
    assert.equal(patched.status?.nextHop, ECS2);
    // And without the chart's binding the same identity has no right at all: the grant above is RBAC's, not a gap.
    const nobody = new KubeConfig();
    nobody.loadFromOptions({ clusters: admin.clusters, users: [{ ...user, impersonateUser: `system:serviceaccount:${NS}:someone-else` }], contexts: admin.contexts, currentContext: admin.currentContext });
    await refused('an unbound identity', () => nobody.makeApiClient(CustomObjectsApi).patchClusterCustomObjectStatus({ ...HN, name: 'host-b', body: { status: { nextHop: 'y' } } }, MERGE), /forbidden/);
  });
});
