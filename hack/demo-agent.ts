// `make demo`, last step, with hostnet-agent (docs/agent.md): the seed's step 3 done by the
// agent on real Docker. Each emulated ECS gets a real dockerd and a real hostnet-agent; the
// agents create the Docker network of each block; containers are started with plain
// `docker run --net hostnet`, and the seed's traceroute and ping run inside one of them.
// Needs root and Debian's docker.io (installed by hack/host-tools.sh); the caller falls back
// to the plain network-namespace containers otherwise.
import { CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import * as netns from '../test/netns/index.js';
import { emulatorServers, getHostNetwork, seedHostNetworks, type EmulatorServer } from '../test/netns/cluster.js';
import { BUSYBOX_IMAGE, dockerAvailable, runContainer, startDockerd, type Dockerd } from '../test/netns/docker.js';
import { startAgent, startKubeTunnel, type AgentProcess, type KubeTunnel } from '../test/netns/agent.js';

export interface ShowAgentOptions {
  emulatorUrl: string;
  kubeconfig: string;
  log: (line: string) => void;
}

export function agentDemoAvailable(): { ok: boolean; reason?: string } {
  return dockerAvailable();
}

export async function showAgentOnDocker(opts: ShowAgentOptions): Promise<{ stop(): Promise<void> } | undefined> {
  const { log } = opts;
  const dockerds: Dockerd[] = [];
  const tunnels: KubeTunnel[] = [];
  const agents: AgentProcess[] = [];
  let sync: netns.VpcSync | undefined;
  let built = false;
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    for (const a of agents) await a.stop().catch(() => undefined);
    for (const d of dockerds) {
      const ids = (await d.docker(['ps', '-aq']).catch(() => '')).split('\n').filter(Boolean);
      if (ids.length) await d.docker(['rm', '-f', ...ids]).catch(() => undefined);
      await d.stop().catch(() => undefined);
    }
    for (const t of tunnels) await t.stop().catch(() => undefined);
    await sync?.stop().catch(() => undefined);
    if (built) await netns.down();
  };
  try {
    const kc = new KubeConfig();
    kc.loadFromFile(opts.kubeconfig);
    const apiUrl = kc.getCurrentCluster()!.server;
    const api = kc.makeApiClient(CustomObjectsApi);
    const servers: EmulatorServer[] = await emulatorServers(opts.emulatorUrl);
    log(`building the VPC in network namespaces, each ECS a fresh server with its own dockerd: ${servers.map((s) => `${s.name} ${s.ip}`).join(', ')}`);
    built = true;
    await netns.up(servers, { bare: true });
    sync = netns.startVpcSync(opts.emulatorUrl, { log: (l) => log(`  vpc-sync: ${l}`) });
    await sync.syncNow();
    const seed = seedHostNetworks();
    const hosts = seed.map((hn) => servers.find((s) => s.id === hn.spec.instanceID)).filter((s): s is EmulatorServer => Boolean(s));
    for (const s of hosts) {
      const d = await startDockerd(s.name);
      dockerds.push(d);
      const t = await startKubeTunnel(s.name, apiUrl);
      tunnels.push(t);
      log(`  ${s.name}: dockerd (Debian docker.io, ${d.sock}); starting hostnet-agent --instance-id=${s.id}`);
      agents.push(await startAgent({ host: s.name, kubeconfig: opts.kubeconfig, instanceId: s.id, dockerSock: d.sock, args: ['--check-period=2s'] }));
    }
    const deadline = Date.now() + 120_000;
    for (const hn of seed) {
      for (;;) {
        const got = await getHostNetwork(api, hn.metadata.name);
        const c = got.status?.conditions?.find((x) => x.type === 'HostConfigured');
        if (c?.status === 'True') {
          log(`  hn/${hn.metadata.name} HostConfigured=True: ${c.message}`);
          break;
        }
        if (Date.now() > deadline) throw new Error(`hn/${hn.metadata.name} not configured by its agent within 120 s (${c?.reason ?? 'no condition'}: ${c?.message ?? ''})`);
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    const [d1, d2] = [dockerds[0]!, dockerds[1]!];
    const ip1 = await runContainer(d1, 'nginx');
    const ip2 = await runContainer(d2, 'nginx');
    log(`  ${hosts[0]!.name}: docker run -d --net hostnet --name nginx ${BUSYBOX_IMAGE} sleep 3600 → ${ip1}`);
    log(`  ${hosts[1]!.name}: docker run -d --net hostnet --name nginx ${BUSYBOX_IMAGE} sleep 3600 → ${ip2}`);
    await netns.waitFor(async () => (await d1.dockerRaw(['exec', 'nginx', 'ping', '-c', '1', '-W', '1', ip2])).code === 0, 15_000, 200);
    const prompt = `[root@${hosts[0]!.name.replace(/-/g, '')} ~]#`;
    log('');
    log(`${prompt} docker exec -it nginx /bin/sh`);
    const tr = await d1.dockerRaw(['exec', 'nginx', 'traceroute', '-n', ip2], 90_000);
    log(`/ # traceroute -n ${ip2}`);
    for (const line of (tr.stdout + tr.stderr).trimEnd().split('\n')) log(line);
    const ping = await d1.dockerRaw(['exec', 'nginx', 'ping', '-c', '4', ip2], 30_000);
    log(`/ # ping -c 4 ${ip2}`);
    for (const line of (ping.stdout + ping.stderr).trimEnd().split('\n')) log(line);
    log('');
    log(`step 3 (docker network create, ip_forward, iptables) was hostnet-agent's; Docker's FORWARD policy is still DROP. try: docker -H unix://${d2.sock} exec nginx ping ${ip1}`);
    return { stop };
  } catch (err) {
    log(`the agent on real Docker not shown: ${(err as Error).message}`);
    await stop().catch(() => undefined);
    return undefined;
  }
}
