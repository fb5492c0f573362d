// `kubectl apply -f manifests/install.yaml` on the one-node cluster, the way its header tells a
// user to: the cloud settings added to the Deployment's args, the credentials Secret created.
// It must create exactly what the chart's defaults create (plus the Namespace) and run the same
// way: two Ready replicas as 65532 in a namespace enforcing the restricted profile, one leader,
// the seed hosts Ready.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig, dumpYaml, type KubernetesObject, type V1Deployment } from '@kubernetes/client-node';
import type { ControlPlane } from '../../hack/controlplane.js';
import { nodeCluster } from '../helpers/controlplane.js';
import { installCrd, repoRoot, waitFor } from '../helpers/kube.js';
import { chartDir, helm, kubectl, parseObjects, run } from '../helpers/cli.js';
import { createHn, deleteHn, ECS1, ECS2, getHn, hostNetwork, isReady, listHn } from '../helpers/invariants.js';
import { SEED, startEmulator, type Emulator } from '../emulator/server.js';
import { builtImage } from './image.js';

const id = (o: KubernetesObject): string => `${o.kind} ${o.metadata?.namespace ?? ''}/${o.metadata?.name}`;

describe('cluster: kubectl apply -f manifests/install.yaml runs like the chart defaults', function () {
  this.timeout(240_000);
  const namespace = 'hostnet-system';
  const manifestPath = join(repoRoot, 'manifests', 'install.yaml');
  let cp: ControlPlane;
  let kc: KubeConfig;
  let emu: Emulator;
  let objects: KubernetesObject[];
  const k = (args: string[], input?: string): Promise<string> => kubectl(cp.kubeconfig, args, { timeoutMs: 90_000, ...(input ? { input } : {}) });

  before(async function () {
    if (process.getuid?.() !== 0) this.skip(); // kubelet and containerd need root; CI runs as root
    this.timeout(300_000);
    cp = await nodeCluster();
    cp.node!.importImage((await run(join(repoRoot, 'hack', 'image.sh'), ['tar'])).stdout.trim());
    kc = new KubeConfig();
    kc.loadFromFile(cp.kubeconfig);
    emu = await startEmulator({ host: cp.node!.network.hostAddress });
    objects = parseObjects(readFileSync(manifestPath, 'utf8'));
  });

  after(async () => {
    if (!cp) return;
    // Hosts first, while the controller still runs (their finalizer), then everything else.
    for (const hn of await listHn(kc).catch(() => [])) await deleteHn(kc, hn.metadata.name).catch(() => undefined);
    await waitFor('hosts gone', async () => (await listHn(kc)).length === 0, 60_000, 250).catch(() => undefined);
    for (const hn of await listHn(kc).catch(() => [])) {
      await k(['patch', 'hostnetwork', hn.metadata.name, '--type=merge', '-p', '{"metadata":{"finalizers":null}}']).catch(() => undefined);
    }
    await k(['delete', '-f', manifestPath, '--ignore-not-found', '--wait']).catch(() => undefined);
    await installCrd(kc); // the other suites expect the CRD
    await emu?.close();
  });

  it('holds exactly the objects of the chart with default values, plus the Namespace, on the image `make image` builds', async () => {
    const rendered = await helm(undefined, ['template', 'hostnet-controller', chartDir, '-n', namespace, '--include-crds']);
    assert.equal(rendered.code, 0, rendered.stderr);
    const chart = parseObjects(rendered.stdout).map((o) => ({ ...o, metadata: { ...o.metadata, namespace: o.metadata?.namespace ?? (o.kind === 'CustomResourceDefinition' || o.kind!.startsWith('Cluster') ? undefined : namespace) } }));
    const want = [...chart.map(id), `Namespace /${namespace}`].sort();
    assert.deepEqual(objects.map(id).sort(), want);
    const deployment = objects.find((o) => o.kind === 'Deployment') as V1Deployment;
    assert.equal(deployment.spec!.template.spec!.containers[0]!.image, builtImage());
  });

  it('applied with the cloud settings a user adds: two Ready replicas, one leader, the seed hosts Ready', async () => {
    const edited = objects.map((o) => {
      if (o.kind !== 'Deployment') return o;
      const d = structuredClone(o) as V1Deployment;
      const c = d.spec!.template.spec!.containers[0]!;
      // What the header of install.yaml asks for: the cloud settings in the args.
      c.args = [...c.args!, `--cloud-endpoint=${emu.url}`, `--cloud-project-id=${SEED.projectId}`, `--route-table-ids=${SEED.routeTableId}`];
      return d;
    });
    await k(['apply', '--server-side', '--force-conflicts', '-f', '-'], edited.map((o) => dumpYaml(o)).join('---\n'));
    await k(['-n', namespace, 'create', 'secret', 'generic', 'hostnet-controller-cloud-credentials', `--from-literal=access-key=${SEED.ak}`, `--from-literal=secret-key=${SEED.sk}`]);
    const ns = await k(['get', 'namespace', namespace, '-o', 'jsonpath={.metadata.labels.pod-security\\.kubernetes\\.io/enforce}']);
    assert.equal(ns, 'restricted');
    await waitFor('two Ready replicas', async () => {
      const d = JSON.parse(await k(['-n', namespace, 'get', 'deployment', 'hostnet-controller', '-o', 'json'])) as V1Deployment;
      return d.status?.readyReplicas === 2 && d.status.updatedReplicas === 2;
    }, 180_000, 500).catch(async (err: Error) => {
      throw new Error(`${err.message}\n${await k(['-n', namespace, 'get', 'events']).catch(() => '')}`);
    });
    const held = await waitFor('a leader', async () => {
      const l = (JSON.parse(await k(['-n', namespace, 'get', 'leases', '-o', 'json'])) as { items: { metadata: { name: string }; spec: { holderIdentity?: string } }[] }).items.find((x) => x.metadata.name.startsWith('hostnet-controller-'));
      return l?.spec.holderIdentity ? l : undefined;
    }, 60_000, 250);
    const pods = (JSON.parse(await k(['-n', namespace, 'get', 'pods', '-o', 'json'])) as { items: { metadata: { name: string } }[] }).items.map((p) => p.metadata.name);
    assert.ok(pods.some((p) => held.spec.holderIdentity!.startsWith(`${p}_`)), `${held.spec.holderIdentity} is one of ${pods.join(', ')}`);
    await createHn(kc, hostNetwork('ecs-1', { instanceID: ECS1, hostIP: '192.168.0.2', podCIDR: '10.0.2.0/24' }));
    await createHn(kc, hostNetwork('ecs-2', { instanceID: ECS2, hostIP: '192.168.0.3', podCIDR: '10.0.3.0/24' }));
    await waitFor('seed hosts Ready', async () => isReady(await getHn(kc, 'ecs-1')) && isReady(await getHn(kc, 'ecs-2')), 120_000, 250);
  });
});
