// `make demo`, last step: the seed's final check, live. Containers on ecs-1 and ecs-2 — network
// namespaces on this machine (docs/netns.md), their blocks read from the HostNetworks'
// status.podCIDR — ping each other across a VPC router that follows the emulator's route table
// and enforces its source/destination check. So the output below exists only because the
// controller wrote the routes and opened the NIC ports.
//
// Needs root (network namespaces); otherwise it says why in one line and does nothing.
import { KubeConfig } from '@kubernetes/client-node';
import * as netns from '../test/netns/index.js';
import { Containers, emulatorServers, getHostNetwork, hostNetworkApi, placementOf, seedHostNetworks, type Placement } from '../test/netns/cluster.js';
import { agentDemoAvailable, showAgentOnDocker } from './demo-agent.js';

export interface ShowContainersOptions {
  emulatorUrl: string;
  kubeconfig: string;
  log: (line: string) => void;
}

/**
 * Builds the netns VPC, starts a container on each host of examples/seed-hosts.yaml (already
 * applied and Ready) in the block the controller recorded, syncs the VPC router from the
 * emulator, and prints `traceroute` and `ping -c 4` from ecs-1's container to ecs-2's, as the
 * seed's transcript shows them. Returns a handle whose stop() removes everything it built;
 * undefined (after one line saying why) when network namespaces are not available here or the
 * set-up failed.
 */
export async function showContainersTalking(opts: ShowContainersOptions): Promise<{ stop(): Promise<void> } | undefined> {
  const { log } = opts;
  const avail = netns.netnsAvailable();
  if (!avail.ok) {
    log(`${avail.reason ?? 'network namespaces unavailable'}: skipping the live ping between containers (run the demo as root on Linux to see it)`);
    return undefined;
  }
  // With Docker at hand, the seed's step 3 is shown done by hostnet-agent on real Docker.
  const docker = agentDemoAvailable();
  if (docker.ok) {
    const shown = await showAgentOnDocker(opts);
    if (shown) return shown;
  } else {
    log(`${docker.reason ?? 'Docker unavailable'}: showing the containers without Docker and hostnet-agent`);
  }

  let sync: netns.VpcSync | undefined;
  let built = false;
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await sync?.stop().catch(() => undefined);
    if (built) await netns.down();
  };

  let from: Placement;
  let to: Placement;
  try {
    const kc = new KubeConfig();
    kc.loadFromFile(opts.kubeconfig);
    const api = hostNetworkApi(kc);
    const servers = await emulatorServers(opts.emulatorUrl);
    log(`building the VPC in network namespaces: router ${netns.VPC_NS} (gateway ${netns.VPC_GATEWAY}), ${servers.map((s) => `${s.name} ${s.ip}`).join(', ')}`);
    built = true;
    await netns.up(servers);

    const containers = new Containers();
    const placed: Placement[] = [];
    for (const doc of seedHostNetworks()) {
      const hn = await getHostNetwork(api, doc.metadata.name);
      const p = placementOf(hn, servers);
      if (!p) throw new Error(`HostNetwork ${doc.metadata.name} has no status.podCIDR yet`);
      await containers.place(p);
      placed.push(p);
      log(`  ${p.server}: docker network create --subnet ${p.block} (status.podCIDR of hn/${p.hostNetwork}) → bridge ${p.gateway}, container ${p.container} (ip netns exec ${p.ns} ...)`);
    }
    if (placed.length < 2) throw new Error('examples/seed-hosts.yaml should hold two HostNetworks');
    [from, to] = [placed[0]!, placed[1]!];

    sync = netns.startVpcSync(opts.emulatorUrl, { log: (l) => log(`  vpc-sync: ${l}`) });
    await sync.syncNow();
    const routed = await netns.waitFor(async () => {
      const have = await netns.vpcRoutes();
      return placed.every((p) => have.some((r) => r.destination === p.block && r.nexthop === p.serverIp));
    }, 15_000);
    if (!routed) log(`  the VPC router did not get the routes of ${placed.map((p) => p.block).join(', ')} from the emulator within 15 s; see \`hack/vpcnet.sh status\``);
    // The nft source/destination rules follow in the same sync; give a first packet a moment.
    await netns.waitFor(() => netns.ping(from.ns, to.container, 1, 0.5), 5_000, 100);
  } catch (err) {
    log(`live ping between containers not shown: ${(err as Error).message}`);
    await stop().catch((e: unknown) => log(`  cleaning up the network namespaces failed: ${(e as Error).message}; run hack/vpcnet.sh down`));
    return undefined;
  }

  const prompt = `[root@${from.server.replace(/-/g, '')} ~]#`;
  log('');
  log(`${prompt} docker exec -it nginx /bin/sh          # here: ip netns exec ${from.ns} /bin/sh`);
  const tr = await netns.tracerouteOutput(from.ns, to.container, { maxHops: 30 }).catch((e: unknown) => ({ command: `traceroute -n ${to.container}`, output: `${(e as Error).message}\n`, hops: [] as string[] }));
  log(`/ # ${tr.command}`);
  for (const line of tr.output.trimEnd().split('\n')) log(line);
  const ping = await netns.pingOutput(from.ns, to.container, { count: 4 });
  log(`/ # ${ping.command}`);
  for (const line of ping.output.trimEnd().split('\n')) log(line);
  log('');
  const path = [from.container, from.gateway, to.serverIp, to.container];
  if (ping.ok && tr.hops.join(' ') === path.slice(1).join(' ')) {
    log(`${from.container} → ${to.container} goes ${path.join(' → ')}: the route ${to.block} → ${to.server} and the open NIC ports are the controller's work.`);
  } else {
    log(`✗ expected ping replies and the path ${path.join(' → ')}; the topology stays up for a look: hack/vpcnet.sh status`);
  }
  log(`try: ip netns exec ${to.ns} ping ${from.container}     (the namespaces go away when the demo stops)`);
  return { stop };
}
