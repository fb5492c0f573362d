// The Helm chart and the plain manifests against the real API server and the pinned helm and
// kubectl: lint, install (with and without the chart's CRD), every object accepted and present,
// uninstall, schema violations, and manifests/install.yaml up to date and accepted.
// No kubelet runs here, so pods never start: the tests check what the API server can check.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiextensionsV1Api, type KubeConfig, type KubernetesObject, type V1Deployment } from '@kubernetes/client-node';
import { adminKubeConfig, controlPlane } from '../helpers/controlplane.js';
import { crdPath, installCrd, repoRoot, resetCluster, waitFor } from '../helpers/kube.js';
import { chartDir, helm, kubectl, parseObjects, randomSuffix, run, tool } from '../helpers/cli.js';

const CRD = 'hostnetworks.hostnet.io';

/** "Deployment.apps", "ServiceAccount": what `kubectl get` takes for an object's kind. */
function kindArg(o: KubernetesObject): string {
  const group = o.apiVersion?.includes('/') ? o.apiVersion.split('/')[0] : '';
  return group ? `${o.kind}.${group}` : o.kind!;
}

function describeObj(o: KubernetesObject): string {
  return `${o.kind} ${o.metadata?.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata?.name}`;
}

/** The live copy of every object, or undefined for those that do not exist. */
async function getLive(kubeconfig: string, objects: KubernetesObject[]): Promise<(KubernetesObject | undefined)[]> {
  const out: (KubernetesObject | undefined)[] = [];
  for (const o of objects) {
    const ns = o.metadata?.namespace ? ['-n', o.metadata.namespace] : [];
    const text = await kubectl(kubeconfig, ['get', kindArg(o), o.metadata!.name!, ...ns, '--ignore-not-found', '-o', 'json']);
    out.push(text.trim() ? (JSON.parse(text) as KubernetesObject) : undefined);
  }
  return out;
}

async function deleteCrd(kc: KubeConfig): Promise<void> {
  const api = kc.makeApiClient(ApiextensionsV1Api);
  await api.deleteCustomResourceDefinition({ name: CRD }).catch((err: { code?: number }) => {
    if (err.code !== 404) throw err;
  });
  await waitFor('CRD deleted', () => api.readCustomResourceDefinition({ name: CRD }).then(() => false, () => true), 30_000, 200);
}

describe('install: Helm chart and plain manifests on the real API server', function () {
  this.timeout(120_000);
  let kc: KubeConfig;
  let kubeconfig: string;
  const releases: { name: string; namespace: string }[] = [];

  before(async () => {
    kubeconfig = (await controlPlane()).kubeconfig;
    kc = await adminKubeConfig();
    await installCrd(kc);
    await resetCluster(kc);
  });

  afterEach(async () => {
    // A failed test may leave its release behind: remove it, so its cluster-scoped objects go.
    for (const r of releases.splice(0)) await helm(kubeconfig, ['uninstall', r.name, '-n', r.namespace, '--ignore-not-found']);
  });

  after(async () => {
    // Leave the CRD the other suites expect.
    await installCrd(kc);
    await resetCluster(kc);
  });

  it('helm lint passes (default values and the strict check)', async () => {
    for (const args of [['lint', chartDir], ['lint', chartDir, '--strict', '--set', 'cloud.provider=memory']]) {
      const r = await helm(undefined, args);
      assert.equal(r.code, 0, `helm ${args.join(' ')}:\n${r.stdout}${r.stderr}`);
      assert.match(r.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    }
  });

  it('helm install creates the CRD and every object; helm uninstall removes them and keeps the CRD', async () => {
    await resetCluster(kc);
    await deleteCrd(kc);
    const release = `hn-${randomSuffix()}`;
    const namespace = `hostnet-system-${randomSuffix()}`;
    const ak = `AKTEST${randomSuffix().toUpperCase()}`;
    const sk = `sk-${randomSuffix()}-${randomSuffix()}-secret`;
    releases.push({ name: release, namespace });
    const r = await helm(kubeconfig, [
      'install', release, chartDir, '-n', namespace, '--create-namespace',
      '--set', 'cloud.region=eu-de',
      '--set', 'cloud.projectId=0123456789abcdef0123456789abcdef',
      '--set', 'cloud.vpcId=3ec3b33f-ac1c-4630-ad1c-7dba1ed79d85',
      '--set', `cloud.credentials.accessKey=${ak}`,
      '--set', `cloud.credentials.secretKey=${sk}`,
      '--set', 'monitoring.grafanaDashboard.enabled=true',
    ]);
    assert.equal(r.code, 0, `helm install failed:\n${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /STATUS: deployed/);
    assert.ok(!r.stdout.includes(ak) && !r.stdout.includes(sk), `helm install printed a credential:\n${r.stdout}`);

    // crds/: created by helm install, Established, and not part of the release manifest.
    const crdApi = kc.makeApiClient(ApiextensionsV1Api);
    await waitFor('CRD Established', async () => (await crdApi.readCustomResourceDefinition({ name: CRD })).status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True'));

    const manifest = (await helm(kubeconfig, ['get', 'manifest', release, '-n', namespace])).stdout;
    const objects = parseObjects(manifest);
    const kinds = objects.map((o) => o.kind).sort();
    assert.deepEqual(kinds, [
      'ClusterRole', 'ClusterRoleBinding', 'ConfigMap', 'Deployment', 'PodDisruptionBudget',
      'Role', 'Role', 'RoleBinding', 'RoleBinding', 'Secret', 'Service', 'ServiceAccount',
    ]);
    const live = await getLive(kubeconfig, objects);
    objects.forEach((o, i) => {
      const got = live[i];
      assert.ok(got, `${describeObj(o)} of the release does not exist`);
      assert.equal(got.kind, o.kind);
      assert.equal(got.metadata?.labels?.['app.kubernetes.io/instance'], release, `${describeObj(o)} carries the release label`);
      assert.equal(got.metadata?.annotations?.['meta.helm.sh/release-name'], release, `${describeObj(o)} is owned by the release`);
    });
    // The chart-created Secret holds exactly the keys the controller reads, and the Deployment
    // mounts it (and passes the cloud settings as flags).
    const secret = live[objects.findIndex((o) => o.kind === 'Secret')] as unknown as { data: Record<string, string> };
    assert.deepEqual(Object.keys(secret.data).sort(), ['access-key', 'secret-key']);
    assert.equal(Buffer.from(secret.data['secret-key']!, 'base64').toString(), sk);
    const dep = live[objects.findIndex((o) => o.kind === 'Deployment')] as V1Deployment;
    const c = dep.spec!.template.spec!.containers[0]!;
    assert.ok(c.args?.includes('--cloud-credentials-dir=/etc/hostnet/cloud'), JSON.stringify(c.args));
    assert.ok(c.args?.includes(`--leader-election-namespace=${namespace}`), JSON.stringify(c.args));
    assert.ok(!JSON.stringify(dep).includes(sk), 'the secret key is not in the Deployment');
    assert.equal(dep.spec!.replicas, 2);

    const un = await helm(kubeconfig, ['uninstall', release, '-n', namespace, '--wait', '--timeout', '60s']);
    assert.equal(un.code, 0, `helm uninstall failed:\n${un.stdout}${un.stderr}`);
    releases.pop();
    const after = await getLive(kubeconfig, objects);
    objects.forEach((o, i) => assert.equal(after[i], undefined, `${describeObj(o)} still exists after helm uninstall`));
    const crd = await crdApi.readCustomResourceDefinition({ name: CRD });
    assert.ok(!crd.metadata?.deletionTimestamp, 'helm uninstall leaves the CRD (crds/ is never deleted)');
  });

  it('helm install --skip-crds next to a CRD applied by hand: the CRD is left alone', async () => {
    await resetCluster(kc);
    await deleteCrd(kc);
    const release = `hn-${randomSuffix()}`;
    const namespace = `hostnet-system-${randomSuffix()}`;
    releases.push({ name: release, namespace });

    // --skip-crds really skips: with no CRD in the cluster, none appears.
    const r = await helm(kubeconfig, ['install', release, chartDir, '-n', namespace, '--create-namespace', '--skip-crds', '--set', 'cloud.provider=memory']);
    assert.equal(r.code, 0, `helm install --skip-crds failed:\n${r.stdout}${r.stderr}`);
    const crdApi = kc.makeApiClient(ApiextensionsV1Api);
    await assert.rejects(crdApi.readCustomResourceDefinition({ name: CRD }), (err: { code?: number }) => err.code === 404, 'no CRD after --skip-crds');

    // The documented way: apply the CRD yourself (server-side), helm never touches it.
    await kubectl(kubeconfig, ['apply', '--server-side', '-f', crdPath]);
    await waitFor('CRD Established', async () => (await crdApi.readCustomResourceDefinition({ name: CRD })).status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True'));
    const crd = await crdApi.readCustomResourceDefinition({ name: CRD });
    const managers = new Set((crd.metadata?.managedFields ?? []).map((f) => f.manager));
    assert.ok(managers.has('kubectl'), `kubectl manages the CRD: ${[...managers].join(', ')}`);
    assert.ok(![...managers].some((m) => /helm/i.test(m ?? '')), `helm does not manage the CRD: ${[...managers].join(', ')}`);

    const objects = parseObjects((await helm(kubeconfig, ['get', 'manifest', release, '-n', namespace])).stdout);
    assert.deepEqual(objects.map((o) => o.kind).sort(), [
      'ClusterRole', 'ClusterRoleBinding', 'Deployment', 'PodDisruptionBudget', 'Role', 'Role', 'RoleBinding', 'RoleBinding', 'Service', 'ServiceAccount',
    ], 'memory provider: no credentials Secret');
    const live = await getLive(kubeconfig, objects);
    objects.forEach((o, i) => assert.ok(live[i], `${describeObj(o)} of the release does not exist`));
    const dep = live[objects.findIndex((o) => o.kind === 'Deployment')] as V1Deployment;
    assert.equal(dep.spec!.template.spec!.volumes, undefined, 'memory provider mounts no credentials');

    const un = await helm(kubeconfig, ['uninstall', release, '-n', namespace, '--wait', '--timeout', '60s']);
    assert.equal(un.code, 0, `helm uninstall failed:\n${un.stdout}${un.stderr}`);
    releases.pop();
    const after = await getLive(kubeconfig, objects);
    objects.forEach((o, i) => assert.equal(after[i], undefined, `${describeObj(o)} still exists after helm uninstall`));
    assert.ok(await crdApi.readCustomResourceDefinition({ name: CRD }), 'the CRD stays');
  });

  it('a values.schema.json violation fails helm install with a message naming the key', async () => {
    const namespace = `hostnet-system-${randomSuffix()}`;
    const cases: [string[], RegExp][] = [
      [['--set', 'replicaCont=3'], /additional propert(y|ies) 'replicaCont' not allowed/],
      [['--set', 'cloud.provider=gce'], /cloud\/provider'?: value must be one of 'huaweicloud', 'otc', ('[a-z]+', )*'memory'/],
      [['--set', 'cloud.provider=aws'], /cloud\/region/],
      [['--set', 'controller.logLevel=verbose'], /controller\/logLevel/],
      [['--set', 'pool.cidr=10.0.0.0'], /pool\/cidr/],
    ];
    for (const [args, want] of cases) {
      const release = `hn-${randomSuffix()}`;
      const r = await helm(kubeconfig, ['install', release, chartDir, '-n', namespace, '--create-namespace', ...args]);
      assert.notEqual(r.code, 0, `helm install ${args.join(' ')} should fail:\n${r.stdout}`);
      assert.match(r.stderr, /values don't meet the specifications of the schema/);
      assert.match(r.stderr, want, `helm install ${args.join(' ')}:\n${r.stderr}`);
      const list = await helm(kubeconfig, ['list', '-n', namespace, '-a', '-q']);
      assert.ok(!list.stdout.includes(release), 'no release was recorded');
    }
  });

  it('manifests/install.yaml is not stale and the API server accepts every object of it', async () => {
    const check = await run(join(repoRoot, 'hack', 'render-manifests.sh'), ['--check']);
    assert.equal(check.code, 0, `hack/render-manifests.sh --check:\n${check.stdout}${check.stderr}`);
    assert.match(check.stderr, /up to date/);

    const file = join(repoRoot, 'manifests', 'install.yaml');
    const objects = parseObjects(readFileSync(file, 'utf8'));
    const ns = objects.find((o) => o.kind === 'Namespace')!.metadata!.name!;
    // Step 1 of "Install without Helm": the namespace exists (a dry run cannot create it for
    // the objects inside it). Applied for real, it also gets the Pod Security label.
    await kubectl(kubeconfig, ['apply', '--server-side', '-f', '-'], { input: JSON.stringify(objects.find((o) => o.kind === 'Namespace')) });
    const out = await kubectl(kubeconfig, ['apply', '--server-side', '--dry-run=server', '-f', file]);
    for (const o of objects) {
      const want = `${o.kind!.toLowerCase()}${o.apiVersion?.includes('/') ? `.${o.apiVersion.split('/')[0]}` : ''}/${o.metadata!.name!} serverside-applied (server dry run)`;
      assert.ok(out.includes(want), `missing "${want}" in:\n${out}`);
    }

    // The pod template passes the namespace's `restricted` Pod Security level: a Pod made from
    // it is admitted (dry run) by the API server's PodSecurity admission.
    const dep = objects.find((o) => o.kind === 'Deployment') as V1Deployment;
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'pss-probe', namespace: ns, labels: dep.spec!.template.metadata!.labels }, spec: dep.spec!.template.spec };
    const r = await run(tool('kubectl'), [`--kubeconfig=${kubeconfig}`, 'create', '--dry-run=server', '-f', '-'], { input: JSON.stringify(pod) });
    assert.equal(r.code, 0, `the pod template is rejected:\n${r.stderr}`);
    assert.ok(!/would violate PodSecurity/.test(r.stderr), r.stderr);
    // ... and the check can fail: the same pod with privilege escalation is refused.
    const bad = structuredClone(pod);
    bad.spec!.containers[0]!.securityContext = { ...bad.spec!.containers[0]!.securityContext, allowPrivilegeEscalation: true };
    const rb = await run(tool('kubectl'), [`--kubeconfig=${kubeconfig}`, 'create', '--dry-run=server', '-f', '-'], { input: JSON.stringify(bad) });
    assert.notEqual(rb.code, 0);
    assert.match(rb.stderr, /violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false/);
  });
});
