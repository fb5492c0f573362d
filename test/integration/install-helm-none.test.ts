// The chart with cloud.provider=none (direct routing, no cloud router; docs/agent.md): helm
// install on the real API server renders no credentials Secret or mount and no cloud flag, NOTES
// tell what the hosts need, the cloud values the controller would refuse are refused by the chart
// naming them, and the controller started with the installed Deployment's own arguments leads
// and gives a host its block with RouteProgrammed=NoCloudRouter.
import assert from 'node:assert/strict';
import { CustomObjectsApi, type KubeConfig, type V1Deployment } from '@kubernetes/client-node';
import { freshCluster, startController, type ControllerProcess } from '../helpers/controller.js';
import { chartDir, helm, kubectl, parseObjects, randomSuffix } from '../helpers/cli.js';
import { waitFor } from '../helpers/kube.js';
import { HN, cond, hostNetwork, isReady } from '../helpers/invariants.js';
import type { HostNetwork } from '../../controller/api/types.js';

describe('install: Helm chart with cloud.provider=none', function () {
  this.timeout(120_000);
  let kc: KubeConfig;
  let kubeconfig = '';
  let ctl: ControllerProcess | undefined;
  const release = `hn-none-${randomSuffix()}`;
  const namespace = `hostnet-none-${randomSuffix()}`;

  before(async () => {
    const f = await freshCluster();
    kc = f.kc;
    kubeconfig = f.cp.kubeconfig;
  });

  after(async () => {
    await ctl?.stop();
    await helm(kubeconfig, ['uninstall', release, '-n', namespace, '--ignore-not-found']);
    await kubectl(kubeconfig, ['delete', 'namespace', namespace, '--ignore-not-found', '--wait=false']).catch(() => undefined);
  });

  it('installs without credentials or cloud flags, and the controller it runs gives a host its block (NoCloudRouter)', async () => {
    const r = await helm(kubeconfig, ['install', release, chartDir, '-n', namespace, '--create-namespace', '--set', 'cloud.provider=none', '--set', 'agent.enabled=true']);
    assert.equal(r.code, 0, `helm install failed:\n${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /STATUS: deployed/);
    // NOTES: what a direct-routing installation needs, and no request for cloud credentials.
    assert.match(r.stdout, /Direct routing \(cloud\.provider=none\): no cloud is called and no credentials are needed/);
    assert.match(r.stdout, /hostnet-agent --routing=direct/);
    assert.match(r.stdout, new RegExp(`hostnet-agent-kubeconfig --instance-id=<host id> --namespace=${namespace}`));
    assert.doesNotMatch(r.stdout, /credentials Secret|WARNING/, 'no credentials to create, agent enabled');

    const objects = parseObjects((await helm(kubeconfig, ['get', 'manifest', release, '-n', namespace])).stdout);
    assert.equal(objects.filter((o) => o.kind === 'Secret').length, 0, 'no credentials Secret');
    assert.ok(objects.some((o) => o.kind === 'ValidatingAdmissionPolicy'), "the agents' admission policy is installed");
    const deployment = objects.find((o) => o.kind === 'Deployment')!.metadata!.name!;
    const live = JSON.parse(await kubectl(kubeconfig, ['-n', namespace, 'get', 'deployment', deployment, '-o', 'json'])) as V1Deployment;
    const pod = live.spec!.template.spec!;
    const args = pod.containers[0]!.args!;
    assert.ok(args.includes('--cloud-provider=none'), args.join(' '));
    const cloudFlags = args.filter((a) => /^--(cloud-|route-table|security-group|source-dest-check|alibaba-)/.test(a) && a !== '--cloud-provider=none');
    assert.deepEqual(cloudFlags, [], 'no cloud flag is passed');
    assert.equal(pod.volumes, undefined, 'no credentials volume');
    assert.equal(pod.containers[0]!.volumeMounts, undefined);

    // The controller as the Deployment runs it (its listen addresses and log settings are the
    // helper's), with the installation id chosen at start-up as in the chart.
    const chartArgs = args.filter((a) => !/^--(metrics-bind-address|health-bind-address|log-level|log-format)=/.test(a));
    ctl = await startController({ kubeconfig, args: chartArgs, env: { HOSTNET_INSTALLATION_ID: '' }, waitLeader: true });
    const api = kc.makeApiClient(CustomObjectsApi);
    await api.createClusterCustomObject({ ...HN, body: hostNetwork('none-helm-1', { instanceID: 'host-1', hostIP: '127.0.0.2' }) });
    const ready = await waitFor('none-helm-1 Ready', async () => {
      const hn = (await api.getClusterCustomObject({ ...HN, name: 'none-helm-1' })) as HostNetwork;
      return isReady(hn) ? hn : undefined;
    }, 60_000, 100);
    assert.match(ready.status?.podCIDR ?? '', /^10\.0\.\d+\.0\/24$/);
    assert.deepEqual([cond(ready, 'RouteProgrammed')?.status, cond(ready, 'RouteProgrammed')?.reason], ['True', 'NoCloudRouter']);
    assert.deepEqual(ready.status?.routeTables, []);
    await api.deleteClusterCustomObject({ ...HN, name: 'none-helm-1' });
    await waitFor('none-helm-1 finalized', () => api.getClusterCustomObject({ ...HN, name: 'none-helm-1' }).then(() => false, (e: { code?: number }) => e.code === 404), 30_000, 100);
  });

  it('refuses the cloud values the controller would refuse, naming each', async () => {
    const cases: [string[], string][] = [
      [['cloud.region=eu-de'], 'cloud.region'],
      [['cloud.endpoint=https://vpc.example'], 'cloud.endpoint'],
      [['cloud.projectId=p1', 'cloud.vpcId=vpc-1'], 'cloud.projectId, cloud.vpcId'],
      [['cloud.routeTableIds={rtb-1}'], 'cloud.routeTableIds'],
      [['cloud.securityGroup.id=sg-1'], 'cloud.securityGroup.id'],
      [['cloud.credentials.existingSecret=keys'], 'cloud.credentials.existingSecret'],
      [['cloud.credentials.accessKey=AKNONE', 'cloud.credentials.secretKey=sk-none-secret'], 'cloud.credentials.accessKey, cloud.credentials.secretKey'],
    ];
    for (const [set, named] of cases) {
      const r = await helm(undefined, ['template', 'hn', chartDir, '--set', 'cloud.provider=none', ...set.flatMap((s) => ['--set', s])]);
      assert.notEqual(r.code, 0, `${set.join(' ')} was accepted`);
      assert.ok(r.stderr.includes(`takes no cloud values; unset ${named}`), `${set.join(' ')}: ${r.stderr}`);
      assert.ok(!r.stderr.includes('sk-none-secret'), 'no secret printed');
    }
    // The cloud's tuning values have no effect and are simply not passed.
    const ok = await helm(undefined, ['template', 'hn', chartDir, '--set', 'cloud.provider=none', '--set', 'cloud.qps=5', '--set', 'cloud.sourceDestCheck=off']);
    assert.equal(ok.code, 0, ok.stderr);
    const args = (parseObjects(ok.stdout).find((o) => o.kind === 'Deployment') as V1Deployment).spec!.template.spec!.containers[0]!.args!;
    assert.ok(!args.some((a) => a.startsWith('--cloud-qps') || a.startsWith('--source-dest-check')), args.join(' '));
  });
});
