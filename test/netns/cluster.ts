// The netns model driven from the cluster: which "ECS" namespace hosts a HostNetwork's
// containers (the emulator server whose id is spec.instanceID) and with which block (the
// HostNetwork's status.podCIDR, i.e. whatever the controller allocated). Used by
// test/e2e/netns-controller.test.ts and hack/demo-netns.ts (docs/netns.md).
//
//   const servers = await emulatorServers(emu.url);       // [{ id, name: 'ecs-1', ip }, ...]
//   await up(servers);                                      // one ECS namespace per server
//   const containers = new Containers(servers);
//   const p = placementOf(hostNetwork, servers);            // undefined until status.podCIDR is set
//   await containers.place(p);                              // "docker network create" + "docker run"
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CustomObjectsApi, loadAllYaml, type KubeConfig } from '@kubernetes/client-node';
import type { HostNetwork } from '../../controller/api/types.js';
import { adminState } from './emulator-admin.js';
import { blockAddresses, containerNs, host, hostClear, type HostSpec } from './index.js';

export const HN_API = { group: 'hostnet.io', version: 'v1alpha1', plural: 'hostnetworks' } as const;

/** examples/seed-hosts.yaml: the seed's two hosts, ecs-1 and ecs-2 (pinned blocks). */
export const SEED_HOSTS_FILE = fileURLToPath(new URL('../../examples/seed-hosts.yaml', import.meta.url));

/** The HostNetwork documents of examples/seed-hosts.yaml. */
export function seedHostNetworks(): HostNetwork[] {
  return (loadAllYaml(readFileSync(SEED_HOSTS_FILE, 'utf8')) as (HostNetwork | null)[]).filter((d): d is HostNetwork => d?.kind === 'HostNetwork');
}

export interface EmulatorServer extends HostSpec {
  /** The server (instance) id a HostNetwork names in spec.instanceID. */
  id: string;
  /** Its NIC port (whose allowed_address_pairs are the source/destination check). */
  portId?: string;
}

/** The emulator's servers (GET /_admin/state): id, name (ecs-1) and NIC address (192.168.0.2). */
export async function emulatorServers(emulatorUrl: string): Promise<EmulatorServer[]> {
  const state = (await adminState(emulatorUrl)) as { servers?: { id?: unknown; name?: unknown; ip?: unknown; port_id?: unknown }[] };
  const out: EmulatorServer[] = [];
  for (const s of state.servers ?? []) {
    if (typeof s.id === 'string' && typeof s.name === 'string' && typeof s.ip === 'string') {
      out.push({ id: s.id, name: s.name, ip: s.ip, ...(typeof s.port_id === 'string' ? { portId: s.port_id } : {}) });
    }
  }
  if (!out.length) throw new Error(`the emulator at ${emulatorUrl} has no servers`);
  return out;
}

export async function getHostNetwork(api: CustomObjectsApi, name: string): Promise<HostNetwork> {
  return (await api.getClusterCustomObject({ ...HN_API, name })) as HostNetwork;
}

export function hostNetworkApi(kc: KubeConfig): CustomObjectsApi {
  return kc.makeApiClient(CustomObjectsApi);
}

/** Where the containers of one HostNetwork live in the model. */
export interface Placement {
  hostNetwork: string;
  /** Server (ECS namespace) name, e.g. ecs-1. */
  server: string;
  /** The server's NIC address, e.g. 192.168.0.2. */
  serverIp: string;
  block: string;
  /** The container bridge's address (block's first address), e.g. 10.0.2.1. */
  gateway: string;
  /** The container's address (block's second address), e.g. 10.0.2.2. */
  container: string;
  /** The container's namespace. */
  ns: string;
}

/**
 * The placement of a HostNetwork: the server whose id is spec.instanceID, the block from
 * status.podCIDR (from: 'status', the default) or spec.podCIDR (from: 'spec': what a user who
 * pinned the block gave Docker before the controller ran). undefined while that block is unset;
 * an error when spec.instanceID is not one of the servers.
 */
export function placementOf(hn: HostNetwork, servers: readonly EmulatorServer[], from: 'status' | 'spec' = 'status'): Placement | undefined {
  const block = from === 'status' ? hn.status?.podCIDR : hn.spec.podCIDR;
  if (!block) return undefined;
  const server = servers.find((s) => s.id === hn.spec.instanceID);
  if (!server) throw new Error(`HostNetwork ${hn.metadata.name}: spec.instanceID ${hn.spec.instanceID} is none of the emulator's servers (${servers.map((s) => `${s.name}=${s.id}`).join(', ')})`);
  const a = blockAddresses(block);
  return { hostNetwork: hn.metadata.name, server: server.name, serverIp: server.ip, block, gateway: a.gateway, container: a.container, ns: containerNs(server.name) };
}

/**
 * The containers of the model, one per server (hack/vpcnet.sh host). place() creates or moves a
 * HostNetwork's container: a new server gets it first, then the old one loses it (as a person
 * would start the new container before stopping the old one).
 */
export class Containers {
  private readonly placed = new Map<string, Placement>();

  /** Creates the container for p unless it is already there; returns true when something changed. */
  async place(p: Placement): Promise<boolean> {
    const was = this.placed.get(p.hostNetwork);
    if (was && was.server === p.server && was.block === p.block) return false;
    for (const [name, other] of this.placed) {
      if (name !== p.hostNetwork && other.server === p.server) throw new Error(`server ${p.server} already hosts the containers of ${name}; one container bridge per server in this model`);
    }
    await host(p.server, p.block);
    this.placed.set(p.hostNetwork, p);
    if (was && was.server !== p.server) await hostClear(was.server);
    return true;
  }

  /** Removes the container of a HostNetwork (idempotent). */
  async remove(hostNetwork: string): Promise<void> {
    const was = this.placed.get(hostNetwork);
    if (!was) return;
    await hostClear(was.server);
    this.placed.delete(hostNetwork);
  }

  get(hostNetwork: string): Placement | undefined {
    return this.placed.get(hostNetwork);
  }
}
