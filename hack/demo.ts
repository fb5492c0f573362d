// `make demo`: the whole path on one machine, on local defaults.
//   1. a throw-away Kubernetes control plane (real etcd + kube-apiserver on loopback)
//   2. the Huawei Cloud VPC API emulator with the seed topology (subnet 192.168.0.0/24,
//      servers ecs-1 192.168.0.2, ecs-2 192.168.0.3, ecs-3 192.168.0.4)
//   3. the controller, talking to both (the real Huawei SDK, signed requests)
//   4. examples/ applied; `kubectl get hn` and the emulator's route table printed
//   5. as root: containers in network namespaces ping each other across the emulated VPC
// It stays up until Ctrl-C, then stops everything and removes every file it made.
//
// `make demo-cluster` (`tsx hack/demo.ts --with-node`, root, after `make image`): the same on a
// one-node cluster (hack/node.ts), with the controller installed by `helm install` of the chart as
// two real pods of the image, instead of a process of this machine.
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { startControlPlane, type ControlPlane } from './controlplane.js';
import { startEmulator, SEED, type Emulator } from '../test/emulator/server.js';
import { emulatorArgs, emulatorEnv, startController, type ControllerProcess } from '../test/helpers/controller.js';
import { repoRoot } from '../test/helpers/kube.js';
import { showContainersTalking } from './demo-netns.js';

const say = (line = ''): void => console.log(line);
const heading = (text: string): void => say(`\n\x1b[1m== ${text}\x1b[0m`);

async function main(): Promise<void> {
  let cp: ControlPlane | undefined;
  let emu: Emulator | undefined;
  let ctl: ControllerProcess | undefined;
  const withNode = process.argv.includes('--with-node');
  let netns: { stop(): Promise<void> } | undefined;
  let stopping = false;
  const stop = async (code: number): Promise<never> => {
    if (!stopping) {
      stopping = true;
      say('\nstopping: network namespaces, controller, emulator, control plane...');
      await netns?.stop().catch(() => undefined);
      await ctl?.stop().catch(() => undefined);
      await emu?.close().catch(() => undefined);
      await cp?.stop().catch(() => undefined);
      say('stopped; nothing left behind.');
    }
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));

  try {
    heading('1/5 control plane');
    cp = await startControlPlane({ withNode });
    // Asynchronous: the emulator runs in this process and must keep answering meanwhile.
    const run = promisify(execFile);
    const kubectl = async (...args: string[]): Promise<string> =>
      (await run(join(cp!.binDir, 'kubectl'), args, { encoding: 'utf8', env: { ...process.env, KUBECONFIG: cp!.kubeconfig } })).stdout;
    say(`kube-apiserver ${cp.url}`);
    await kubectl('apply', '-f', join(repoRoot, 'crds'));
    await kubectl('wait', '--for=condition=Established', 'crd/hostnetworks.hostnet.io', '--timeout=60s');
    say('HostNetwork CRD installed');

    heading('2/5 VPC API emulator (seed topology)');
    // With a node, on the address its pods reach (the node's link; see hack/node.ts).
    emu = await startEmulator({ latencyMs: 20, jitterMs: 10, ...(cp.node ? { host: cp.node.network.hostAddress } : {}) });
    say(`emulator ${emu.url}  project ${SEED.projectId}  route table ${SEED.routeTableId}`);
    for (const [name, s] of Object.entries(SEED.servers)) say(`  server ${name}  ${s.ip}  id ${s.id}`);

    heading('3/5 controller');
    let metricsHint: string;
    if (cp.node) {
      const tar = execFileSync(join(repoRoot, 'hack', 'image.sh'), ['tar'], { encoding: 'utf8' }).trim();
      say(`importing the image (${tar}) into the node's containerd`);
      cp.node.importImage(tar);
      await kubectl('create', 'namespace', 'hostnet-system');
      await kubectl('label', 'namespace', 'hostnet-system', 'pod-security.kubernetes.io/enforce=restricted');
      await kubectl('-n', 'hostnet-system', 'create', 'secret', 'generic', 'hostnet-controller-cloud-credentials', `--from-literal=access-key=${SEED.ak}`, `--from-literal=secret-key=${SEED.sk}`);
      const helm = join(cp.binDir, 'helm');
      const out = await run(helm, [
        'install', 'hostnet-controller', join(repoRoot, 'manifests', 'charts', 'hostnet-controller'), '-n', 'hostnet-system', '--wait', '--timeout=3m',
        '--set', 'image.pullPolicy=Never', '--set', `cloud.endpoint=${emu.url}`, '--set', `cloud.projectId=${SEED.projectId}`,
        '--set', `cloud.routeTableIds={${SEED.routeTableId}}`, '--set', `cloud.securityGroup.id=${SEED.securityGroupId}`,
        '--set', 'pool.cidr=10.0.0.0/16', '--set', 'pool.vpcSubnets={192.168.0.0/24}', '--set', 'controller.logFormat=text',
      ], { encoding: 'utf8', env: { ...process.env, KUBECONFIG: cp.kubeconfig, HELM_CACHE_HOME: join(cp.dir, 'helm'), HELM_CONFIG_HOME: join(cp.dir, 'helm'), HELM_DATA_HOME: join(cp.dir, 'helm') } });
      say(out.stdout.split('\n').slice(0, 6).join('\n'));
      say((await kubectl('-n', 'hostnet-system', 'get', 'pods', '-o', 'wide')).trimEnd());
      metricsHint = `kubectl -n hostnet-system get pods -o wide; curl -s http://<pod IP>:8080/metrics | grep ^hostnet_`;
    } else {
      ctl = await startController({
      kubeconfig: cp.kubeconfig,
      args: [...emulatorArgs(emu.url), '--pool-cidr=10.0.0.0/16', '--vpc-subnets=192.168.0.0/24', '--resync-period=30s', '--leader-elect=false', '--log-format=text', '--log-level=info'],
      env: emulatorEnv(),
      waitLeader: true,
      });
      say(`controller ready; metrics ${ctl.metricsUrl}`);
      metricsHint = `curl -s ${ctl.metricsUrl} | grep ^hostnet_`;
    }

    heading('4/5 kubectl apply -f examples/');
    say((await kubectl('apply', '-f', join(repoRoot, 'examples'))).trimEnd());
    await kubectl('wait', '--for=condition=Ready', 'hn', '--all', '--timeout=60s');
    say((await kubectl('get', 'hn', '-o', 'wide')).trimEnd());
    say('\nroute table in the (emulated) VPC:');
    const table = emu.snapshot().route_tables.find((t) => t.id === SEED.routeTableId)!;
    for (const r of table.routes) {
      const server = Object.entries(SEED.servers).find(([, s]) => s.id === r.nexthop);
      say(`  ${r.destination.padEnd(16)} ${r.type.padEnd(6)} ${(server ? `${server[0]} (${server[1].ip})` : (r.nexthop ?? '-')).padEnd(24)} ${r.description ?? ''}`);
    }

    heading('5/5 containers on different hosts talk');
    if (cp.node) {
      // It reads the emulator's admin API, which answers loopback clients only; with a node the
      // emulator listens on the node's link instead.
      say('not shown with --with-node (the emulator is not on loopback): `make demo` shows it');
    } else {
      netns = await showContainersTalking({ emulatorUrl: emu.url, kubeconfig: cp.kubeconfig, log: say });
    }

    say('\nTry it from another terminal:');
    say(`  export KUBECONFIG=${cp.kubeconfig}`);
    say(`  export PATH=${cp.binDir}:$PATH`);
    say('  kubectl get hn');
    say("  kubectl patch hn ecs-2 --type=merge -p '{\"spec\":{\"instanceID\":\"" + SEED.servers['ecs-3'].id + "\"}}'   # migrate ecs-2's containers to ecs-3");
    say('  kubectl describe hn ecs-2');
    if (!cp.node) say(`  curl -s ${emu.url}/_admin/state | head -c 2000   # the emulated VPC`);
    say(`  ${metricsHint}`);
    say('\nRunning until Ctrl-C.');
    await new Promise(() => undefined);
  } catch (err) {
    console.error(`demo failed: ${(err as Error).message}`);
    if (ctl) console.error(ctl.logs().split('\n').slice(-30).join('\n'));
    await stop(1);
  }
}

void main();
