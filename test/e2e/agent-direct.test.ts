// Direct routing without a cloud (seed 004 "Direct Routing"): three hosts on one segment, no
// VPC router routes (the netns model's switch without vpc-sync: a plain bridge whose gateway
// knows no container block), the controller only allocating and recording
// (--cloud-provider=none: no route table, no NIC, no security group), and on each host a real dockerd and a
// real hostnet-agent with --routing=direct. Containers reach each other only through the
// agents' host routes (proto 91); a deleted HostNetwork's routes disappear on every peer; a
// stale route of the agent's protocol is swept.
//
// Needs root, network namespaces and docker.io (hack/host-tools.sh); skipped otherwise.
import assert from 'node:assert/strict';
import type { CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { controlPlane, adminKubeConfig } from '../helpers/controlplane.js';
import { installCrd, resetCluster, waitFor } from '../helpers/kube.js';
import { startController, type ControllerProcess } from '../helpers/controller.js';
import type { HostNetwork } from '../../controller/api/types.js';
import * as netns from '../netns/index.js';
import { run } from '../netns/exec.js';
import { getHostNetwork, HN_API, hostNetworkApi } from '../netns/cluster.js';
import { containerPing, containerTraceroute, dockerAvailable, runContainer, startDockerd, type Dockerd } from '../netns/docker.js';
import { startAgent, startKubeTunnel, type AgentProcess, type KubeTunnel } from '../netns/agent.js';
import { teardownSteps } from '../helpers/teardown.js';

const HOSTS = netns.SEED_HOSTS;
/** A fourth host on another subnet, behind the plain router (the model's VPC namespace without vpc-sync). */
const FAR = { name: 'ecs-9', ip: '192.168.1.2' };
const ID = (host: string): string => `srv-${host}`;

describe('e2e: direct routing without a cloud router (hostnet-agent --routing=direct, real Docker)', function () {
  this.timeout(400_000);
  let kc: KubeConfig | undefined;
  let api: CustomObjectsApi;
  let ctl: ControllerProcess | undefined;
  let upStarted = false;
  let failed = false;
  const dockerds = new Map<string, Dockerd>();
  const tunnels: KubeTunnel[] = [];
  const agents = new Map<string, AgentProcess>();
  const d = (host: string): Dockerd => dockerds.get(host)!;

  const peerRoutes = async (host: string): Promise<Record<string, string>> => {
    const out = (await netns.nsExec(netns.hostNs(host), 'ip', ['-j', '-4', 'route', 'show', 'proto', '91'])).stdout;
    const rows = (out.trim() ? JSON.parse(out) : []) as { dst: string; gateway?: string }[];
    return Object.fromEntries(rows.map((r) => [r.dst, r.gateway ?? '']));
  };

  before(async function () {
    const avail = dockerAvailable();
    if (!avail.ok) {
      console.log(`      agent direct-routing suite skipped: ${avail.reason}`);
      this.skip();
    }
    const cp = await controlPlane();
    kc = await adminKubeConfig();
    await installCrd(kc);
    await resetCluster(kc);
    api = hostNetworkApi(kc);
    upStarted = true;
    await netns.up(HOSTS, { bare: true });
    await addFarHost();
    await Promise.all(
      [...HOSTS, FAR].map(async (h) => {
        dockerds.set(h.name, await startDockerd(h.name));
        tunnels.push(await startKubeTunnel(h.name, cp.url));
      }),
    );
    // A stale route of the agent's protocol on ecs-1, as a crashed earlier agent would leave it.
    const r = await netns.nsExec(netns.hostNs('ecs-1'), 'ip', ['route', 'add', '10.0.99.0/24', 'via', '192.168.0.9', 'proto', '91']);
    assert.equal(r.code, 0, r.stderr);
    ctl = await startController({ kubeconfig: cp.kubeconfig, args: ['--cloud-provider=none', '--leader-elect=false', '--resync-period=30s'], waitLeader: true });
    await Promise.all(
      [...HOSTS, FAR].map(async (h) => {
        agents.set(h.name, await startAgent({ host: h.name, kubeconfig: cp.kubeconfig, instanceId: ID(h.name), dockerSock: d(h.name).sock, args: ['--check-period=1s', '--routing=direct', `--host-ip=${h.ip}`] }));
      }),
    );
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') failed = true;
  });

  after(async function () {
    const { attempt, errors } = teardownSteps();
    for (const [host, a] of agents) {
      await attempt(`stop agent ${host}`, () => a.stop());
      if (failed) console.log(`--- agent ${host}\n${a.logs().slice(-5000)}`);
    }
    if (ctl) await attempt('stop controller', () => ctl!.stop());
    for (const [host, dd] of dockerds) {
      await attempt(`remove containers on ${host}`, async () => {
        const ids = (await dd.docker(['ps', '-aq'])).split('\n').filter(Boolean);
        if (ids.length) await dd.docker(['rm', '-f', ...ids]);
      });
      await attempt(`stop dockerd ${host}`, () => dd.stop());
    }
    for (const t of tunnels) await attempt('stop tunnel', () => t.stop());
    if (upStarted) await attempt('netns down', () => netns.down());
    if (kc) await attempt('reset cluster', () => resetCluster(kc!));
    if (errors.length) throw errors[0];
  });

  it('each agent routes every peer block via the peer host; containers ping and trace through them', async () => {
    const blocks: Record<string, string> = {};
    for (const h of HOSTS) {
      await api.createClusterCustomObject({ ...HN_API, body: { apiVersion: 'hostnet.io/v1alpha1', kind: 'HostNetwork', metadata: { name: h.name }, spec: { instanceID: ID(h.name), hostIP: h.ip } } });
    }
    for (const h of HOSTS) {
      const hn = await waitFor(`${h.name} configured`, async () => {
        const got = await getHostNetwork(api, h.name);
        const c = got.status?.conditions?.find((x) => x.type === 'HostConfigured');
        return c?.status === 'True' && c.message.includes('routes to 2 peer block(s)') ? got : undefined;
      }, 120_000, 200);
      blocks[h.name] = hn.status!.podCIDR!;
    }
    // The controller with no cloud router: Ready on the block and the agent alone, the NIC step
    // not applicable, no route table, and no provider call but the list of (no) tables.
    for (const h of HOSTS) {
      const hn = await waitFor(`${h.name} Ready`, async () => {
        const got = await getHostNetwork(api, h.name);
        return got.status?.conditions?.find((x) => x.type === 'Ready')?.status === 'True' ? got : undefined;
      }, 60_000, 200);
      assert.equal(hn.status?.conditions?.find((x) => x.type === 'SourceDestCheckDisabled')?.reason, 'NotApplicable');
      assert.deepEqual(hn.status?.routeTables, []);
    }
    const calls = (await (await fetch(ctl!.metricsUrl)).text())
      .split('\n')
      .filter((l) => l.startsWith('hostnet_cloud_requests_total{') && Number(l.split(' ').pop()) > 0);
    assert.ok(calls.every((l) => l.includes('operation="routeTables.list"')), `cloud calls:\n${calls.join('\n')}`);
    for (const h of HOSTS) {
      const want = Object.fromEntries(HOSTS.filter((p) => p.name !== h.name).map((p) => [blocks[p.name]!, p.ip]));
      assert.deepEqual(await peerRoutes(h.name), want, `routes on ${h.name}`);
    }
    const ip1 = await runContainer(d('ecs-1'), 'c1');
    const ip2 = await runContainer(d('ecs-2'), 'c2');
    assert.ok(await netns.waitFor(() => containerPing(d('ecs-1'), 'c1', ip2), 20_000, 200), `c1 ${ip1} pings c2 ${ip2}`);
    const gw1 = (await d('ecs-1').docker(['network', 'inspect', '-f', '{{(index .IPAM.Config 0).Gateway}}', 'hostnet'])).trim();
    assert.deepEqual(await containerTraceroute(d('ecs-1'), 'c1', ip2), [gw1, '192.168.0.3', ip2]);
    assert.ok(await containerPing(d('ecs-2'), 'c2', ip1), 'and back');
  });

  it('swept the stale route of its protocol at start, and never touches routes of others', async () => {
    assert.equal((await peerRoutes('ecs-1'))['10.0.99.0/24'], undefined);
    const out = (await netns.nsExec(netns.hostNs('ecs-1'), 'ip', ['-j', '-4', 'route', 'show', 'default'])).stdout;
    assert.match(out, /192\.168\.0\.1/, 'the default route is still there');
  });

  it("a deleted HostNetwork's routes disappear on every peer", async () => {
    const hn3 = (await getHostNetwork(api, 'ecs-3')) as HostNetwork;
    const block3 = hn3.status!.podCIDR!;
    await api.deleteClusterCustomObject({ ...HN_API, name: 'ecs-3' });
    for (const h of ['ecs-1', 'ecs-2']) {
      await waitFor(`route to ${block3} gone on ${h}`, async () => (await peerRoutes(h))[block3] === undefined, 60_000, 200);
      assert.equal(Object.keys(await peerRoutes(h)).length, 1, `${h} keeps its one other peer route`);
    }
    assert.ok(await containerPing(d('ecs-1'), 'c1', (await runContainerIp('ecs-2'))), 'the others still talk');
  });

  it('a host on another subnet is reached over VXLAN (one device per host; route, neighbour and FDB entry per peer)', async () => {
    await api.createClusterCustomObject({ ...HN_API, body: { apiVersion: 'hostnet.io/v1alpha1', kind: 'HostNetwork', metadata: { name: FAR.name }, spec: { instanceID: ID(FAR.name), hostIP: FAR.ip } } });
    const far = await waitFor('ecs-9 configured with its peers over VXLAN', async () => {
      const got = await getHostNetwork(api, FAR.name);
      const c = got.status?.conditions?.find((x) => x.type === 'HostConfigured');
      return c?.status === 'True' && c.message.includes('(2 over VXLAN)') ? got : undefined;
    }, 120_000, 200);
    const block9 = far.status!.podCIDR!;
    await waitFor('ecs-1 routes ecs-9 over the tunnel', async () => {
      const out = (await netns.nsExec(netns.hostNs('ecs-1'), 'ip', ['-j', '-4', 'route', 'show', block9, 'proto', '91'])).stdout;
      return out.includes('"dev":"hn-vxlan"');
    }, 60_000, 200);
    const ip9 = await runContainer(d(FAR.name), 'c9');
    const ip1 = await runContainerIp('ecs-1');
    assert.ok(await netns.waitFor(() => containerPing(d('ecs-1'), 'c1', ip9), 20_000, 200), `c1 ${ip1} pings c9 ${ip9} across the router`);
    assert.ok(await containerPing(d(FAR.name), 'c9', ip1), 'and back');
    // Without the tunnel there is no way: the router knows no container block.
    const vpcRoutes = (await netns.nsExec(netns.VPC_NS, 'ip', ['-4', 'route', 'show'])).stdout;
    assert.ok(!vpcRoutes.includes('10.0.'), `the router has no container route: ${vpcRoutes}`);
  });

  /** The fourth host: a second segment 192.168.1.0/24 on the router namespace, plain routing between the two. */
  async function addFarHost(): Promise<void> {
    const vpc = netns.VPC_NS;
    const ns = netns.hostNs(FAR.name);
    const steps: string[][] = [
      ['ip', '-n', vpc, 'link', 'add', 'br-seg2', 'type', 'bridge'],
      ['ip', '-n', vpc, 'addr', 'add', '192.168.1.1/24', 'dev', 'br-seg2'],
      ['ip', '-n', vpc, 'link', 'set', 'br-seg2', 'up'],
      ['ip', 'netns', 'add', ns],
      ['ip', 'netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0'],
      ['ip', '-n', ns, 'link', 'set', 'lo', 'up'],
      ['ip', '-n', vpc, 'link', 'add', `vp-${FAR.name}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns],
      ['ip', '-n', vpc, 'link', 'set', `vp-${FAR.name}`, 'master', 'br-seg2', 'up'],
      ['ip', '-n', ns, 'addr', 'add', `${FAR.ip}/24`, 'dev', 'eth0'],
      ['ip', '-n', ns, 'link', 'set', 'eth0', 'up'],
      ['ip', '-n', ns, 'route', 'add', 'default', 'via', '192.168.1.1'],
    ];
    for (const [cmd, ...args] of steps) {
      const res = await run(cmd!, args);
      assert.equal(res.code, 0, `${cmd} ${args.join(' ')}: ${res.stderr}`);
    }
  }

  async function runContainerIp(host: string): Promise<string> {
    return (await d(host).docker(['inspect', '-f', '{{(index .NetworkSettings.Networks "hostnet").IPAddress}}', host === 'ecs-2' ? 'c2' : 'c1'])).trim();
  }
});
