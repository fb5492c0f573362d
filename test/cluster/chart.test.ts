// The chart as users install it: `helm install` of manifests/charts/hostnet-controller with the
// image `make image` built, on the one-node cluster (hack/controlplane.ts withNode: kubelet on
// containerd, scheduler, controller-manager), the emulator on the address pods reach. Real pods:
// both replicas Running and Ready, the Lease, the seed hosts Ready, metrics on the pod port, the
// hardening the chart promises, a rolling upgrade with hosts churning, uninstall.
//
// The tests run in order on one release (install, observe, upgrade, uninstall), like a user's day.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import type { ControlPlane } from '../../hack/controlplane.js';
import { nodeCluster } from '../helpers/controlplane.js';
import { installCrd, repoRoot, waitFor } from '../helpers/kube.js';
import { chartDir, helm, kubectl, parseObjects, randomSuffix, run } from '../helpers/cli.js';
import { createHn, deleteHn, ECS1, ECS2, getHn, hostNetwork, isReady, listHn, ownedRoutes, tableRoutes } from '../helpers/invariants.js';
import { SEED, startEmulator, type Emulator } from '../emulator/server.js';
import { builtImage } from './image.js';

interface Pod {
  metadata: { name: string; uid: string; deletionTimestamp?: string; labels?: Record<string, string> };
  spec: { containers: { image: string }[] };
  status: { phase?: string; podIP?: string; conditions?: { type: string; status: string }[] };
}
interface Lease {
  spec: { holderIdentity?: string; acquireTime?: string; renewTime?: string; leaseDurationSeconds?: number };
}

const podReady = (p: Pod): boolean => p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

describe('cluster: the chart as real pods on a one-node cluster', function () {
  this.timeout(240_000);
  const image = builtImage();
  const [repository, tag] = [image.slice(0, image.lastIndexOf(':')), image.slice(image.lastIndexOf(':') + 1)];
  const nextTag = `${tag}-next`;
  const release = 'hostnet-controller';
  const namespace = `hostnet-system-${randomSuffix()}`;
  const leaseName = 'hostnet-controller-default';
  let cp: ControlPlane;
  let kc: KubeConfig;
  let emu: Emulator;
  let installedAt = 0;
  const ns = ['-n', namespace];

  const k = (args: string[]): Promise<string> => kubectl(cp.kubeconfig, args, { timeoutMs: 60_000 });
  const getJson = async <T>(args: string[]): Promise<T> => JSON.parse(await k([...args, '-o', 'json'])) as T;
  const pods = async (): Promise<Pod[]> => (await getJson<{ items: Pod[] }>(['get', 'pods', ...ns, '-l', 'app.kubernetes.io/name=hostnet-controller'])).items;
  const lease = async (): Promise<Lease | undefined> => {
    const text = await k(['get', 'lease', leaseName, ...ns, '--ignore-not-found', '-o', 'json']);
    return text.trim() ? (JSON.parse(text) as Lease) : undefined;
  };
  const values = (imageTag: string): string[] => [
    '--set', `image.repository=${repository}`,
    '--set', `image.tag=${imageTag}`,
    // Loaded into containerd directly; no registry to pull from.
    '--set', 'image.pullPolicy=Never',
    '--set', 'installationId=default',
    '--set', `cloud.endpoint=${emu.url}`,
    '--set', `cloud.projectId=${SEED.projectId}`,
    '--set', `cloud.routeTableIds={${SEED.routeTableId}}`,
    '--set', `cloud.securityGroup.id=${SEED.securityGroupId}`,
    '--set', 'pool.cidr=10.0.0.0/16',
    '--set', 'pool.vpcSubnets={192.168.0.0/24}',
    '--set', 'cloud.credentials.existingSecret=emulator-credentials',
  ];
  const podLogs = async (): Promise<string> => {
    const out: string[] = [];
    for (const p of await pods().catch(() => [])) out.push(`--- ${p.metadata.name}\n${(await run(join(cp.binDir, 'kubectl'), [`--kubeconfig=${cp.kubeconfig}`, 'logs', ...ns, p.metadata.name, '--tail=30'])).stdout}`);
    return out.join('\n');
  };

  before(async function () {
    if (process.getuid?.() !== 0) this.skip(); // kubelet and containerd need root; CI runs as root
    this.timeout(300_000);
    const tar = execFileSync(join(repoRoot, 'hack', 'image.sh'), ['tar'], { encoding: 'utf8' }).trim();
    cp = await nodeCluster();
    cp.node!.importImage(tar);
    // A second tag of the same image: what `helm upgrade` to a new version changes in the pod
    // template (there is no registry to push a rebuilt image to).
    cp.node!.tagImage(image, `${repository}:${nextTag}`);
    kc = new KubeConfig();
    kc.loadFromFile(cp.kubeconfig);
    await installCrd(kc);
    emu = await startEmulator({ host: cp.node!.network.hostAddress });
    await k(['create', 'namespace', namespace]);
    // The chart promises the restricted Pod Security Standard: enforce it on the namespace.
    await k(['label', 'namespace', namespace, 'pod-security.kubernetes.io/enforce=restricted', 'pod-security.kubernetes.io/enforce-version=latest']);
    await k(['create', 'secret', 'generic', 'emulator-credentials', ...ns, `--from-literal=access-key=${SEED.ak}`, `--from-literal=secret-key=${SEED.sk}`]);
  });

  after(async () => {
    if (!cp) return;
    await helm(cp.kubeconfig, ['uninstall', release, ...ns, '--ignore-not-found', '--wait']);
    for (const hn of await listHn(kc).catch(() => [])) {
      // No controller runs any more: the finalizer has nobody to remove it.
      await k(['patch', 'hostnetwork', hn.metadata.name, '--type=merge', '-p', '{"metadata":{"finalizers":null}}']).catch(() => undefined);
      await deleteHn(kc, hn.metadata.name).catch(() => undefined);
    }
    await k(['delete', 'namespace', namespace, '--wait=false']).catch(() => undefined);
    await emu?.close();
  });

  it('helm install: both replicas Running and Ready, one holds the Lease, the seed hosts turn Ready', async function () {
    installedAt = Date.now();
    const r = await helm(cp.kubeconfig, ['install', release, chartDir, ...ns, ...values(tag)], { timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stderr);
    await waitFor('both replicas Running and Ready', async () => {
      const ps = await pods();
      return ps.length === 2 && ps.every((p) => p.status.phase === 'Running' && podReady(p)) ? ps : undefined;
    }, 180_000, 500).catch(async (err: Error) => {
      throw new Error(`${err.message}\n${await k(['get', 'events', ...ns]).catch(() => '')}\n${await podLogs()}`);
    });
    const names = (await pods()).map((p) => p.metadata.name);
    const held = await waitFor('the Lease held by one replica', async () => {
      const l = await lease();
      return l?.spec.holderIdentity ? l : undefined;
    }, 60_000, 250);
    assert.ok(names.some((n) => held.spec.holderIdentity!.startsWith(`${n}_`)), `holder ${held.spec.holderIdentity} is one of ${names.join(', ')}`);

    await createHn(kc, hostNetwork('ecs-1', { instanceID: ECS1, hostIP: '192.168.0.2', podCIDR: '10.0.2.0/24' }));
    await createHn(kc, hostNetwork('ecs-2', { instanceID: ECS2, hostIP: '192.168.0.3', podCIDR: '10.0.3.0/24' }));
    await waitFor('seed hosts Ready', async () => isReady(await getHn(kc, 'ecs-1')) && isReady(await getHn(kc, 'ecs-2')), 120_000, 250).catch(async (err: Error) => {
      throw new Error(`${err.message}\n${await podLogs()}`);
    });
    console.log(`      helm install to seed hosts Ready: ${((Date.now() - installedAt) / 1000).toFixed(1)} s`);
    const routes = tableRoutes(emu).filter((rt) => rt.type !== 'local');
    assert.deepEqual(routes.map((rt) => [rt.destination, rt.nexthop]).sort(), [['10.0.2.0/24', ECS1], ['10.0.3.0/24', ECS2]]);
  });

  it('metrics are served on each pod port; the ServiceMonitor selects the metrics Service', async () => {
    const ps = await pods();
    const holder = (await lease())!.spec.holderIdentity!;
    for (const p of ps) {
      const text = await (await fetch(`http://${p.status.podIP}:8080/metrics`)).text();
      const leading = holder.startsWith(`${p.metadata.name}_`);
      assert.match(text, new RegExp(`^hostnet_leader ${leading ? 1 : 0}$`, 'm'), `pod ${p.metadata.name} (leader: ${leading})`);
    }
    // No Prometheus Operator here: its CRD is absent, so the ServiceMonitor is rendered and its
    // selector checked against the labels of the Service the release runs.
    const rendered = await helm(undefined, ['template', release, chartDir, ...ns, ...values(tag), '--set', 'monitoring.serviceMonitor.enabled=true', '--api-versions', 'monitoring.coreos.com/v1']);
    assert.equal(rendered.code, 0, rendered.stderr);
    const sm = parseObjects(rendered.stdout).find((o) => o.kind === 'ServiceMonitor') as KubernetesObject & {
      spec: { selector: { matchLabels: Record<string, string> }; endpoints: { port: string }[]; namespaceSelector: { matchNames: string[] } };
    };
    const services = (await getJson<{ items: { metadata: { name: string; labels: Record<string, string> }; spec: { ports: { name: string }[] } }[] }>(['get', 'services', ...ns])).items;
    const selected = services.filter((s) => Object.entries(sm.spec.selector.matchLabels).every(([key, v]) => s.metadata.labels?.[key] === v));
    assert.deepEqual(selected.map((s) => s.metadata.name), [`${release}-metrics`]);
    assert.deepEqual(sm.spec.namespaceSelector.matchNames, [namespace]);
    for (const ep of sm.spec.endpoints) assert.ok(selected[0]!.spec.ports.some((p) => p.name === ep.port), `Service port ${ep.port}`);
    const endpoints = await getJson<{ subsets?: { addresses?: { ip: string }[] }[] }>(['get', 'endpoints', `${release}-metrics`, ...ns]);
    assert.deepEqual((endpoints.subsets?.[0]?.addresses ?? []).map((a) => a.ip).sort(), ps.map((p) => p.status.podIP).sort());
  });

  it('hardening on the running pod: user 65532, read-only root, a token limited to its RBAC, restricted Pod Security enforced', async () => {
    const pod = (await pods())[0]!.metadata.name;
    const exec = (cmd: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> =>
      run(join(cp.binDir, 'kubectl'), [`--kubeconfig=${cp.kubeconfig}`, 'exec', ...ns, pod, '-c', 'controller', '--', ...cmd]);
    const id = await exec(['id']);
    assert.equal(id.stdout.trim(), 'uid=65532 gid=65532 groups=65532', id.stderr);
    for (const path of ['/app/x', '/tmp/x', '/home/x', '/x']) {
      const w = await exec(['sh', '-c', `echo x > ${path}`]);
      assert.notEqual(w.code, 0, `writing ${path} must fail`);
      assert.match(w.stderr, /Read-only file system/, path);
    }
    // The controller itself never tried to write (an SDK caching in $HOME would log EROFS).
    assert.doesNotMatch(await podLogs(), /EROFS|read-only file system/i);

    // The pod's own token: what RBAC grants works, the rest is refused.
    const token = (await exec(['cat', '/var/run/secrets/kubernetes.io/serviceaccount/token'])).stdout.trim();
    assert.ok(token.length > 100, 'a projected service-account token is mounted');
    // The API server's certificate is self-signed: kubectl with the pod's token, not fetch.
    const status = async (path: string): Promise<string> => {
      const r = await run(join(cp.binDir, 'kubectl'), ['--server', cp.url, '--insecure-skip-tls-verify', '--token', token, 'get', '--raw', path]);
      return r.code === 0 ? 'ok' : /Forbidden|forbidden/.test(r.stderr) ? 'forbidden' : r.stderr;
    };
    assert.equal(await status('/apis/hostnet.io/v1alpha1/hostnetworks'), 'ok');
    assert.equal(await status('/api/v1/secrets'), 'forbidden');
    assert.equal(await status(`/api/v1/namespaces/${namespace}/secrets`), 'forbidden');
    assert.equal(await status('/api/v1/pods'), 'forbidden');

    const nsObj = await getJson<{ metadata: { labels: Record<string, string> } }>(['get', 'namespace', namespace]);
    assert.equal(nsObj.metadata.labels['pod-security.kubernetes.io/enforce'], 'restricted');
    // Enforcement is live: a pod breaking the restricted profile is refused in the same namespace.
    const refused = await run(join(cp.binDir, 'kubectl'), [`--kubeconfig=${cp.kubeconfig}`, 'run', 'privileged-probe', ...ns, `--image=${image}`, '--dry-run=server', '--overrides={"spec":{"containers":[{"name":"privileged-probe","image":"' + image + '","securityContext":{"privileged":true}}]}}']);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /violates PodSecurity "restricted:latest"/);
  });

  it('helm upgrade to a new tag with hosts churning: one pod at a time, the Lease moves within its duration, no route lost, no write from a stopped pod, every new host Ready', async function () {
    this.timeout(300_000);
    const before = await pods();
    const oldIps = new Map(before.map((p) => [p.status.podIP!, p.metadata.name]));
    const durationMs = ((await lease())!.spec.leaseDurationSeconds ?? 15) * 1000;
    const problems: string[] = [];
    const leaseHistory: { holder: string; acquireTime?: string; renewTime?: string }[] = [];
    let maxTerminating = 0;
    let minReady = Infinity;
    let maxLive = 0;
    let watching = true;
    // Hosts the churn deletes (added before the delete call): their routes go on purpose.
    const deleting = new Set<string>();
    // Hosts seen Ready, by name: from then on their route must stay in the table.
    const readyHosts = new Map<string, string>();

    // Observers: pods, Lease, seed routes; every 200 ms until the rollout is over.
    const observe = (async () => {
      while (watching) {
        const [ps, l] = await Promise.all([pods().catch(() => undefined), lease().catch(() => undefined)]);
        if (ps) {
          const live = ps.filter((p) => !p.metadata.deletionTimestamp);
          maxTerminating = Math.max(maxTerminating, ps.length - live.length);
          minReady = Math.min(minReady, live.filter(podReady).length);
          maxLive = Math.max(maxLive, live.length);
        }
        const holder = l?.spec.holderIdentity ?? '';
        if (l && (leaseHistory.length === 0 || leaseHistory.at(-1)!.holder !== holder || leaseHistory.at(-1)!.renewTime !== l.spec.renewTime)) {
          leaseHistory.push({ holder, ...(l.spec.acquireTime ? { acquireTime: l.spec.acquireTime } : {}), ...(l.spec.renewTime ? { renewTime: l.spec.renewTime } : {}) });
        }
        const hosts = await listHn(kc).catch(() => undefined);
        const have = new Set(ownedRoutes(emu).map((r) => r.destination));
        for (const d of ['10.0.2.0/24', '10.0.3.0/24']) if (!have.has(d)) problems.push(`seed route ${d} missing at ${new Date().toISOString()}`);
        for (const [name, cidr] of readyHosts) {
          if (!deleting.has(name) && !have.has(cidr)) problems.push(`route ${cidr} of Ready host ${name} missing at ${new Date().toISOString()}`);
        }
        for (const h of hosts ?? []) if (isReady(h) && h.status?.podCIDR && !deleting.has(h.metadata.name)) readyHosts.set(h.metadata.name, h.status.podCIDR);
        await new Promise((r) => setTimeout(r, 200));
      }
    })();

    // Churn: hosts created (each on a new server) and deleted while the pods roll.
    const created: string[] = [];
    const deleted: string[] = [];
    let churning = true;
    const churn = (async () => {
      for (let i = 0; churning && i < 40; i++) {
        const name = `churn-${i}`;
        const server = emu.addServer({ name, ip: `192.168.0.${20 + i}` });
        await createHn(kc, hostNetwork(name, { instanceID: server.id, hostIP: `192.168.0.${20 + i}` }));
        created.push(name);
        if (i % 3 === 2) {
          const victim = created.shift()!;
          deleting.add(victim);
          await deleteHn(kc, victim);
          deleted.push(victim);
        }
        await new Promise((r) => setTimeout(r, 500));
      }
    })();

    const started = Date.now();
    const r = await helm(cp.kubeconfig, ['upgrade', release, chartDir, ...ns, ...values(nextTag), '--wait', '--timeout', '4m'], { timeoutMs: 270_000 });
    churning = false;
    await churn;
    assert.equal(r.code, 0, `${r.stderr}\n${await podLogs()}`);
    // `--wait` returns once the new pods are Ready; the last old pod may still be stopping and
    // holding the Lease. Keep observing until only new pods are left and one of them leads.
    const newPods = await waitFor('only the new pods left, one of them leading', async () => {
      const ps = await pods();
      const holder = (await lease())?.spec.holderIdentity ?? '';
      return ps.length === 2 && ps.every((p) => !oldIps.has(p.status.podIP!)) && ps.some((p) => holder.startsWith(`${p.metadata.name}_`)) ? ps : undefined;
    }, 90_000, 250);
    watching = false;
    await observe;
    assert.ok(newPods.length === 2);
    console.log(`      rollout took ${((Date.now() - started) / 1000).toFixed(1)} s; ${created.length + deleted.length} hosts created, ${deleted.length} deleted meanwhile`);

    const after = await pods();
    assert.equal(after.length, 2);
    assert.ok(after.every((p) => p.spec.containers[0]!.image === `${repository}:${nextTag}` && podReady(p)));
    assert.ok(after.every((p) => !oldIps.has(p.status.podIP!)), 'new pods have new addresses (the call log tells them apart)');
    // One at a time: maxSurge 1 / maxUnavailable 0 with the PDB's minAvailable 1 (a pod that is
    // terminating no longer counts against the surge, as in the Deployment controller).
    assert.ok(maxLive <= 3, `at most replicas + 1 live pods at once (saw ${maxLive})`);
    assert.ok(maxTerminating <= 1, `one pod terminating at a time (saw ${maxTerminating})`);
    assert.ok(minReady >= 1, `a Ready replica at every moment (saw ${minReady})`);
    assert.deepEqual(problems, []);
    assert.ok(readyHosts.size > 10, `the route check covered the churned hosts (${readyHosts.size} seen Ready)`);

    // The Lease: every change of holder came within the lease duration of the previous holder's
    // last renewal (or its release).
    let longestGap = 0;
    const holders = new Set<string>();
    for (let i = 1; i < leaseHistory.length; i++) {
      const [prev, cur] = [leaseHistory[i - 1]!, leaseHistory[i]!];
      if (cur.holder === '' || cur.holder === prev.holder) continue;
      holders.add(cur.holder);
      let j = i - 1;
      while (j > 0 && leaseHistory[j]!.holder === '') j--;
      const lastHeld = Date.parse(prev.renewTime ?? leaseHistory[j]!.renewTime!);
      const gap = Date.parse(cur.acquireTime!) - lastHeld;
      longestGap = Math.max(longestGap, gap);
    }
    const finalHolder = (await lease())!.spec.holderIdentity!;
    assert.ok(after.some((p) => finalHolder.startsWith(`${p.metadata.name}_`)), `a new pod leads (${finalHolder})`);
    assert.ok(holders.size >= 1, `the Lease moved (${JSON.stringify(leaseHistory.map((h) => h.holder))})`);
    console.log(`      longest leaderless gap: ${(longestGap / 1000).toFixed(2)} s (lease duration ${durationMs / 1000} s)`);
    assert.ok(longestGap <= durationMs, `leaderless gap ${longestGap} ms exceeds the lease duration ${durationMs} ms`);

    // No write from an old pod once a new pod held the Lease.
    const takeover = leaseHistory.find((h) => after.some((p) => h.holder.startsWith(`${p.metadata.name}_`)))!;
    const takeoverAt = Date.parse(takeover.acquireTime!);
    const late = emu.calls.filter((c) => c.method !== 'GET' && oldIps.has(c.remote ?? '') && Date.parse(c.time) >= takeoverAt);
    assert.deepEqual(late.map((c) => `${oldIps.get(c.remote!)} ${c.operation} ${c.time}`), []);
    // Not vacuous: the call log does tell the pods apart (the old leader's writes carry its address).
    const remotes = [...new Set(emu.calls.map((c) => c.remote))];
    assert.ok(emu.calls.some((c) => c.method !== 'GET' && oldIps.has(c.remote ?? '')), `writes of an old pod in the call log (remotes: ${remotes.join(', ')})`);

    // Every host created during the upgrade is Ready; the deleted ones and their routes are gone.
    await waitFor('hosts created during the upgrade Ready', async () => {
      for (const name of created) if (!isReady(await getHn(kc, name))) return false;
      return true;
    }, 120_000, 500);
    await waitFor('deleted hosts gone', async () => {
      for (const name of deleted) if (await getHn(kc, name)) return false;
      return true;
    }, 60_000, 500);
    // A host after the upgrade: the new leader writes it, from its own address.
    const server = emu.addServer({ name: 'after-upgrade', ip: '192.168.0.99' });
    await createHn(kc, hostNetwork('after-upgrade', { instanceID: server.id, hostIP: '192.168.0.99' }));
    await waitFor('the host created after the upgrade Ready', async () => isReady(await getHn(kc, 'after-upgrade')), 60_000, 250);
    const leaderIp = after.find((p) => finalHolder.startsWith(`${p.metadata.name}_`))!.status.podIP!;
    assert.ok(emu.calls.some((c) => c.method !== 'GET' && c.remote === leaderIp), `the new leader (${leaderIp}) wrote through the emulator`);
    const owned = ownedRoutes(emu);
    assert.equal(owned.length, created.length + 3, `one route per live host: ${JSON.stringify(owned)}`);
  });

  it('helm uninstall removes every object of the release but the CRD and the HostNetworks; the routes stay as they were', async () => {
    const manifest = (await helm(cp.kubeconfig, ['get', 'manifest', release, ...ns])).stdout;
    const objects = parseObjects(manifest);
    assert.ok(objects.length > 5);
    const routesBefore = tableRoutes(emu);
    const hostsBefore = (await listHn(kc)).map((h) => h.metadata.name).sort();
    const r = await helm(cp.kubeconfig, ['uninstall', release, ...ns, '--wait', '--timeout', '2m'], { timeoutMs: 150_000 });
    assert.equal(r.code, 0, r.stderr);
    await waitFor('the pods gone', async () => (await pods()).length === 0, 90_000, 500);
    for (const o of objects) {
      const group = o.apiVersion?.includes('/') ? `.${o.apiVersion.split('/')[0]}` : '';
      const left = await k(['get', `${o.kind}${group}`, o.metadata!.name!, ...(o.metadata?.namespace ? ['-n', o.metadata.namespace] : []), '--ignore-not-found', '-o', 'name']);
      assert.equal(left.trim(), '', `${o.kind} ${o.metadata!.name} removed`);
    }
    assert.ok(await k(['get', 'crd', 'hostnetworks.hostnet.io', '-o', 'name']));
    assert.deepEqual((await listHn(kc)).map((h) => h.metadata.name).sort(), hostsBefore);
    assert.deepEqual(tableRoutes(emu), routesBefore);
    const writesAfter = emu.calls.filter((c) => c.method !== 'GET' && Date.parse(c.time) > Date.now() - 1000);
    assert.deepEqual(writesAfter, []);
  });
});
