// End to end with real Docker and real packets: the controller, the real kube-apiserver, the
// VPC emulator through the real Huawei SDK, the netns model of the VPC (docs/netns.md) — and on
// every ECS a real dockerd and a real hostnet-agent process in the host's namespace. The test
// only creates the seed's HostNetworks and starts containers with plain `docker run --net
// hostnet`; everything of the seed's step 3 (docker network create, ip_forward, iptables) is
// the agent's.
//
// Needs root, network namespaces and Debian's docker.io (hack/host-tools.sh installs it);
// skipped with the reason printed otherwise. The cases run in order on one topology.
//   jq 'del(.spec)' .mocharc.json > /tmp/m.json; npx mocha --config /tmp/m.json test/e2e/agent-seed.test.ts
import assert from 'node:assert/strict';
import { setHeaderOptions, type CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { controlPlane, adminKubeConfig } from '../helpers/controlplane.js';
import { installCrd, resetCluster, waitFor } from '../helpers/kube.js';
import { emulatorArgs, emulatorEnv, startController, type ControllerProcess } from '../helpers/controller.js';
import { startEmulator, type Emulator } from '../emulator/server.js';
import type { Condition, HostNetwork } from '../../controller/api/types.js';
import * as netns from '../netns/index.js';
import { emulatorServers, getHostNetwork, HN_API, hostNetworkApi, seedHostNetworks, type EmulatorServer } from '../netns/cluster.js';
import {
  containerPing as containerPingOn,
  containerTraceroute as containerTracerouteOn,
  dockerAvailable,
  runContainer as runContainerOn,
  startDockerd,
  type Dockerd,
} from '../netns/docker.js';
import { startAgent, startKubeTunnel, type AgentProcess, type KubeTunnel } from '../netns/agent.js';
import { teardownSteps } from '../helpers/teardown.js';

const MERGE = setHeaderOptions('Content-Type', 'application/merge-patch+json');
const CHECK_PERIOD = '1s';

function condition(hn: HostNetwork, type: string): Condition | undefined {
  return hn.status?.conditions?.find((c) => c.type === type);
}

describe('e2e: hostnet-agent does the host half on real Docker (netns VPC model, real packets)', function () {
  this.timeout(400_000);

  let kc: KubeConfig | undefined;
  let api: CustomObjectsApi;
  let kubeconfig = '';
  let apiUrl = '';
  let emu: Emulator | undefined;
  let sync: netns.VpcSync | undefined;
  let upStarted = false;
  let servers: EmulatorServer[] = [];
  let ctl: ControllerProcess | undefined;
  let failed = false;
  const dockerds = new Map<string, Dockerd>();
  const tunnels = new Map<string, KubeTunnel>();
  const agents = new Map<string, AgentProcess>();
  const agentLogs: string[] = [];
  const seed = seedHostNetworks();

  const server = (name: string): EmulatorServer => {
    const s = servers.find((x) => x.name === name);
    assert.ok(s, `emulator server ${name}`);
    return s;
  };
  const dockerd = (host: string): Dockerd => {
    const d = dockerds.get(host);
    assert.ok(d, `dockerd on ${host}`);
    return d;
  };

  async function startHostAgent(host: string, extra: string[] = []): Promise<AgentProcess> {
    const a = await startAgent({ host, kubeconfig, instanceId: server(host).id, dockerSock: dockerd(host).sock, args: [`--check-period=${CHECK_PERIOD}`, ...extra] });
    agents.set(host, a);
    return a;
  }
  async function stopHostAgent(host: string): Promise<number | null> {
    const a = agents.get(host);
    if (!a) return null;
    agents.delete(host);
    const code = await a.stop();
    agentLogs.push(`--- agent ${host}\n${a.logs()}`);
    return code;
  }

  async function waitConfigured(name: string, status = 'True', reason = 'Configured'): Promise<HostNetwork> {
    return waitFor(`${name} HostConfigured=${status}/${reason}`, async () => {
      const hn = await getHostNetwork(api, name);
      const c = condition(hn, 'HostConfigured');
      return c?.status === status && c.reason === reason ? hn : undefined;
    }, 60_000, 200);
  }

  // The shared container helpers (test/netns/docker.ts), addressed by host name here.
  const runContainer = (host: string, name: string, network?: string): Promise<string> => runContainerOn(dockerd(host), name, network);
  const containerPing = (host: string, name: string, ip: string, count?: number): Promise<boolean> => containerPingOn(dockerd(host), name, ip, count);
  const containerTraceroute = (host: string, name: string, ip: string): Promise<string[]> => containerTracerouteOn(dockerd(host), name, ip);

  async function hostIptables(host: string, table: 'filter' | 'nat'): Promise<string> {
    return (await netns.nsExec(netns.hostNs(host), 'iptables-save', ['-t', table])).stdout;
  }

  before(async function () {
    const avail = dockerAvailable();
    if (!avail.ok) {
      console.log(`      agent e2e suite skipped: ${avail.reason}`);
      this.skip();
    }
    const cp = await controlPlane();
    kubeconfig = cp.kubeconfig;
    apiUrl = cp.url;
    kc = await adminKubeConfig();
    await installCrd(kc);
    await resetCluster(kc);
    api = hostNetworkApi(kc);
    emu = await startEmulator({});
    servers = await emulatorServers(emu.url);
    upStarted = true;
    await netns.up(servers, { bare: true });
    sync = netns.startVpcSync(emu.url);
    await sync.syncNow();
    const t0 = Date.now();
    await Promise.all(
      servers.map(async (s) => {
        dockerds.set(s.name, await startDockerd(s.name));
        tunnels.set(s.name, await startKubeTunnel(s.name, apiUrl));
      }),
    );
    console.log(`      ${servers.length} dockerd started (vfs, busybox image imported) in ${Date.now() - t0} ms`);
    ctl = await startController({ kubeconfig, args: [...emulatorArgs(emu.url), '--leader-elect=false', '--resync-period=5s'], env: emulatorEnv(), waitLeader: true });
    // ecs-3 serves nothing until the conflict case gives it a HostNetwork.
    await Promise.all(['ecs-1', 'ecs-2', 'ecs-3'].map((host) => startHostAgent(host)));
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') failed = true;
  });

  after(async function () {
    const { attempt, errors } = teardownSteps({ reportSlowerThanMs: 5000 });
    for (const host of [...agents.keys()]) await attempt(`stop agent ${host}`, () => stopHostAgent(host));
    if (ctl) {
      const c = ctl;
      await attempt('stop controller', () => c.stop());
      if (failed) console.log(c.logs().slice(-6000));
    }
    if (failed) for (const l of agentLogs) console.log(l.slice(-6000));
    for (const [host, d] of dockerds) {
      // Containers first: their `sleep` is PID 1 and ignores SIGTERM, so dockerd's own stop
      // would wait 10 s for each.
      await attempt(`remove containers on ${host}`, async () => {
        const ids = (await d.docker(['ps', '-aq'])).split('\n').filter(Boolean);
        if (ids.length) await d.docker(['rm', '-f', ...ids]);
      });
      await attempt(`stop dockerd ${host}`, () => d.stop());
      if (failed) console.log(`--- dockerd ${host}\n${d.logs().slice(-2000)}`);
    }
    for (const t of tunnels.values()) await attempt('stop tunnel', () => t.stop());
    if (sync) await attempt('stop vpc-sync', () => sync!.stop());
    if (upStarted) await attempt('netns down', () => netns.down());
    if (emu) await attempt('stop emulator', () => emu!.close());
    if (kc) await attempt('reset cluster', () => resetCluster(kc!));
    if (errors.length) throw errors[0];
  });

  it('creates the Docker network of each block (subnet, first address as gateway, no Docker masquerade) and reports HostConfigured', async () => {
    for (const hn of seed) await api.createClusterCustomObject({ ...HN_API, body: hn });
    for (const [host, name, block, gw] of [
      ['ecs-1', 'ecs-1', '10.0.2.0/24', '10.0.2.1'],
      ['ecs-2', 'ecs-2', '10.0.3.0/24', '10.0.3.1'],
    ] as const) {
      const hn = await waitConfigured(name);
      assert.equal(hn.status?.podCIDR, block);
      const net = JSON.parse(await dockerd(host).docker(['network', 'inspect', 'hostnet'])) as { IPAM: { Config: { Subnet: string; Gateway: string }[] }; Options: Record<string, string>; Labels: Record<string, string> }[];
      assert.deepEqual(net[0]!.IPAM.Config.map((c) => [c.Subnet, c.Gateway]), [[block, gw]]);
      assert.equal(net[0]!.Options['com.docker.network.enable_ip_masquerade'] ?? net[0]!.Options['com.docker.network.bridge.enable_ip_masquerade'], 'false');
      assert.equal(net[0]!.Labels['io.hostnet.hostnetwork'], name);
      // The controller's conditions are still there next to the agent's.
      await waitFor(`${name} Ready and HostConfigured together`, async () => {
        const now = await getHostNetwork(api, name);
        return condition(now, 'Ready')?.status === 'True' && condition(now, 'HostConfigured')?.status === 'True';
      }, 60_000, 200);
      const bridge = (await netns.nsExec(netns.hostNs(host), 'ip', ['-j', 'addr', 'show', 'dev', 'hn-br0'])).stdout;
      assert.ok(bridge.includes(`"local":"${gw}"`), `hn-br0 on ${host} has ${gw}: ${bridge}`);
    }
  });

  it("a container on ecs-1 traces and pings one on ecs-2 exactly as the seed shows, with no manual step", async () => {
    assert.equal(await runContainer('ecs-1', 'c1'), '10.0.2.2');
    const t0 = Date.now();
    assert.equal(await runContainer('ecs-2', 'c2'), '10.0.3.2');
    const ok = await netns.waitFor(() => containerPing('ecs-1', 'c1', '10.0.3.2'), 20_000, 100);
    assert.ok(ok, 'c1 (10.0.2.2) pings c2 (10.0.3.2)');
    console.log(`      docker run on ecs-2 → first answered ping from ecs-1: ${Date.now() - t0} ms`);
    assert.deepEqual(await containerTraceroute('ecs-1', 'c1', '10.0.3.2'), ['10.0.2.1', '192.168.0.3', '10.0.3.2']);
    assert.ok(await containerPing('ecs-2', 'c2', '10.0.2.2', 2), 'and back');
  });

  it("the receiver sees the sender's container address, not the host's", async () => {
    // nc -l ends at the EOF of its stdin: keep one open while the connection lasts.
    await dockerd('ecs-2').docker(['exec', '-d', 'c2', 'sh', '-c', 'sleep 60 | nc -l -p 7000']);
    await dockerd('ecs-1').docker(['exec', '-d', 'c1', 'sh', '-c', 'sleep 30 | nc 10.0.3.2 7000']);
    const peer = await waitFor('the connection on c2', async () => {
      const out = await dockerd('ecs-2').docker(['exec', 'c2', 'netstat', '-tn']);
      // busybox nc listens on :: (IPv4 peers show as ::ffff:a.b.c.d).
      return /(?:::ffff:)?10\.0\.3\.2:7000\s+(?:::ffff:)?([\d.]+):\d+\s+ESTABLISHED/.exec(out)?.[1];
    }, 20_000, 200);
    assert.equal(peer, '10.0.2.2');
  });

  it('traffic from a container to an address outside the pool leaves masqueraded (host address)', async () => {
    // ecs-3's own address is in the VPC subnet, outside the pool: a listener in its host namespace.
    const ns3 = netns.hostNs('ecs-3');
    // All of its output away from our pipe, or nsExec would wait for the listener to end.
    await netns.nsExec(ns3, 'sh', ['-c', '(sleep 60 | busybox nc -l -p 7001) </dev/null >/dev/null 2>&1 &']);
    await dockerd('ecs-1').docker(['exec', '-d', 'c1', 'sh', '-c', 'sleep 30 | nc 192.168.0.4 7001']);
    const peer = await waitFor('the connection on ecs-3', async () => {
      const out = (await netns.nsExec(ns3, 'busybox', ['netstat', '-tn'])).stdout;
      return /(?:::ffff:)?192\.168\.0\.4:7001\s+(?:::ffff:)?([\d.]+):\d+\s+ESTABLISHED/.exec(out)?.[1];
    }, 20_000, 200);
    assert.equal(peer, '192.168.0.2');
  });

  it("leaves Docker's FORWARD policy DROP and writes only its own commented chains", async () => {
    for (const [host, block] of [
      ['ecs-1', '10.0.2.0/24'],
      ['ecs-2', '10.0.3.0/24'],
    ] as const) {
      const filter = await hostIptables(host, 'filter');
      assert.match(filter, /^:FORWARD DROP/m, `${host}: FORWARD policy`);
      const ours = filter.split('\n').filter((l) => l.startsWith('-A HOSTNET-FWD'));
      assert.equal(ours.length, 2, `${host}: ${ours.join('\n')}`);
      for (const l of ours) assert.ok(l.includes(block) && l.includes(host) && l.includes('--comment'), l);
      const nat = (await hostIptables(host, 'nat')).split('\n');
      assert.ok(nat.some((l) => l.startsWith(`-A HOSTNET-POSTRTG -s ${block} ! -d 224.0.0.0/4`) && l.endsWith('-j MASQUERADE')), `${host}: masquerade rule`);
      // Docker's own masquerade for the block is off (the network's option).
      assert.ok(!nat.some((l) => l.startsWith(`-A POSTROUTING -s ${block}`)), `${host}: no Docker MASQUERADE for ${block}`);
    }
  });

  it('puts back its chains within the check period after someone flushes them (and the jump)', async () => {
    const before = (await agents.get('ecs-2')!.metric('hostnet_agent_repairs_total', { kind: 'iptables' })) ?? 0;
    const ns2 = netns.hostNs('ecs-2');
    for (const args of [['-F', 'HOSTNET-FWD'], ['-t', 'nat', '-F', 'HOSTNET-POSTRTG'], ['-D', 'FORWARD', '-m', 'comment', '--comment', 'hostnet-agent', '-j', 'HOSTNET-FWD']]) {
      const r = await netns.nsExec(ns2, 'iptables', args);
      assert.equal(r.code, 0, `iptables ${args.join(' ')}: ${r.stderr}`);
    }
    await waitFor('the chains back on ecs-2', async () => {
      const f = await hostIptables('ecs-2', 'filter');
      const n = await hostIptables('ecs-2', 'nat');
      return f.split('\n').filter((l) => l.startsWith('-A HOSTNET-FWD')).length === 2 && f.includes('-A FORWARD -m comment --comment hostnet-agent -j HOSTNET-FWD') && n.split('\n').filter((l) => l.startsWith('-A HOSTNET-POSTRTG')).length === 2;
    }, 15_000, 200);
    assert.ok(((await agents.get('ecs-2')!.metric('hostnet_agent_repairs_total', { kind: 'iptables' })) ?? 0) > before, 'the repair is counted');
    assert.ok(await netns.waitFor(() => containerPing('ecs-1', 'c1', '10.0.3.2'), 10_000, 200), 'ping works again');
  });

  it('after an agent restart: no duplicate rule, jump or network, the condition unchanged', async () => {
    const hnBefore = await getHostNetwork(api, 'ecs-1');
    const filterBefore = await hostIptables('ecs-1', 'filter');
    assert.equal(await stopHostAgent('ecs-1'), 0, 'the agent exits 0 on SIGTERM');
    const a = await startHostAgent('ecs-1');
    assert.ok(((await a.metric('hostnet_agent_syncs_total', { result: 'success' })) ?? 0) >= 1, 'the restarted agent finished a pass');
    const filter = await hostIptables('ecs-1', 'filter');
    const ours = (t: string): string[] => t.split('\n').filter((l) => l.includes('HOSTNET-'));
    assert.deepEqual(ours(filter), ours(filterBefore));
    assert.equal(filter.split('\n').filter((l) => l === '-A FORWARD -m comment --comment hostnet-agent -j HOSTNET-FWD').length, 1);
    const nets = (await dockerd('ecs-1').docker(['network', 'ls', '--filter', 'label=io.hostnet.managed-by=hostnet-agent', '--format', '{{.Name}}'])).trim().split('\n');
    assert.deepEqual(nets, ['hostnet']);
    const hn = await getHostNetwork(api, 'ecs-1');
    assert.deepEqual(condition(hn, 'HostConfigured'), condition(hnBefore, 'HostConfigured'));
    assert.ok(await containerPing('ecs-1', 'c1', '10.0.3.2'), 'ping still works');
  });

  it('after Docker restarts the network is there again (recreated when it was removed) and the containers reach each other', async () => {
    await dockerd('ecs-2').restart();
    await waitConfigured('ecs-2');
    // The containers were stopped with dockerd; a person removes the network too (a reinstall).
    await dockerd('ecs-2').docker(['rm', '-f', 'c2']);
    const idBefore = (await dockerd('ecs-2').docker(['network', 'inspect', '-f', '{{.Id}}', 'hostnet'])).trim();
    await dockerd('ecs-2').docker(['network', 'rm', 'hostnet']);
    const idAfter = await waitFor('hostnet recreated on ecs-2', async () => {
      const r = await dockerd('ecs-2').dockerRaw(['network', 'inspect', '-f', '{{.Id}}', 'hostnet']);
      return r.code === 0 ? r.stdout.trim() : undefined;
    }, 15_000, 200);
    assert.notEqual(idAfter, idBefore);
    assert.ok(((await agents.get('ecs-2')!.metric('hostnet_agent_repairs_total', { kind: 'network' })) ?? 0) >= 1, 'counted as a repair');
    assert.equal(await runContainer('ecs-2', 'c2'), '10.0.3.2');
    assert.ok(await netns.waitFor(() => containerPing('ecs-1', 'c1', '10.0.3.2'), 15_000, 200), 'c1 pings c2 again');
  });

  it('a Docker network overlapping the block: the condition names it and nothing else changes; once it is gone the block is configured', async () => {
    const d3 = dockerd('ecs-3');
    await d3.docker(['network', 'create', '--subnet', '10.0.4.0/25', 'other']);
    const netsBefore = (await d3.docker(['network', 'ls', '--format', '{{.Name}}'])).trim().split('\n').sort();
    const filterBefore = await hostIptables('ecs-3', 'filter');
    await api.createClusterCustomObject({ ...HN_API, body: { apiVersion: 'hostnet.io/v1alpha1', kind: 'HostNetwork', metadata: { name: 'ecs-3' }, spec: { instanceID: server('ecs-3').id, podCIDR: '10.0.4.0/24' } } });
    const hn = await waitConfigured('ecs-3', 'False', 'NetworkConflict');
    const msg = condition(hn, 'HostConfigured')!.message;
    assert.ok(msg.includes('"other"') && msg.includes('10.0.4.0/25') && msg.includes('10.0.4.0/24'), msg);
    assert.deepEqual((await d3.docker(['network', 'ls', '--format', '{{.Name}}'])).trim().split('\n').sort(), netsBefore);
    const ours = (t: string): string[] => t.split('\n').filter((l) => l.startsWith('-A HOSTNET-FWD'));
    assert.deepEqual(ours(await hostIptables('ecs-3', 'filter')), ours(filterBefore));
    await d3.docker(['network', 'rm', 'other']);
    await waitConfigured('ecs-3');
    // Deleted: the network (no container uses it) and its rules go.
    await api.deleteClusterCustomObject({ ...HN_API, name: 'ecs-3' });
    await waitFor('ecs-3 network and rules removed', async () => {
      const nets = (await d3.docker(['network', 'ls', '--filter', 'label=io.hostnet.managed-by=hostnet-agent', '--format', '{{.Name}}'])).trim();
      return nets === '' && ours(await hostIptables('ecs-3', 'filter')).length === 0;
    }, 30_000, 200);
  });

  it('migration to ecs-3: its agent creates the network, ecs-2 keeps its network until its container is gone, the route follows, ping works again', async () => {
    await waitFor('ecs-3 deleted', async () => !(await api.listClusterCustomObject(HN_API) as { items: HostNetwork[] }).items.some((h) => h.metadata.name === 'ecs-3'), 30_000, 200);
    const t0 = Date.now();
    await api.patchClusterCustomObject({ ...HN_API, name: 'ecs-2', body: { spec: { instanceID: server('ecs-3').id } } }, MERGE);
    // A person starts the container on the new server as soon as its network exists.
    await waitFor('hostnet on ecs-3', async () => (await dockerd('ecs-3').dockerRaw(['network', 'inspect', 'hostnet'])).code === 0, 30_000, 100);
    assert.equal(await runContainer('ecs-3', 'c3'), '10.0.3.2');
    assert.ok(await netns.waitFor(() => containerPing('ecs-1', 'c1', '10.0.3.2'), 60_000, 100), 'c1 pings the block on ecs-3');
    const recoveryMs = Date.now() - t0;
    assert.deepEqual(await containerTraceroute('ecs-1', 'c1', '10.0.3.2'), ['10.0.2.1', '192.168.0.4', '10.0.3.2']);
    console.log(`      migration recovery with the agent: ${recoveryMs} ms from the instanceID patch to the first answered ping`);
    // ecs-2 still has c2 on its network: kept (reported), its rules gone.
    await waitFor('ecs-2 rules removed', async () => !(await hostIptables('ecs-2', 'filter')).includes('-A HOSTNET-FWD -s 10.0.3.0/24'), 20_000, 200);
    assert.equal((await dockerd('ecs-2').dockerRaw(['network', 'inspect', 'hostnet'])).code, 0, 'kept while c2 uses it');
    await waitFor('the kept network reported', async () => agents.get('ecs-2')!.lines().some((l) => /still use it/.test(l.message ?? '')), 10_000, 200);
    await dockerd('ecs-2').docker(['rm', '-f', 'c2']);
    await waitFor('ecs-2 network removed', async () => (await dockerd('ecs-2').dockerRaw(['network', 'inspect', 'hostnet'])).code !== 0, 20_000, 200);
    const hn = await waitConfigured('ecs-2');
    assert.ok(condition(hn, 'HostConfigured')!.message.includes('10.0.3.0/24'));
  });
});
