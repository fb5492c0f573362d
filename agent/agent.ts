// The host agent's loop: watch the HostNetworks of this server (field selector on
// spec.instanceID), and on every change and every check period bring the host to what they
// ask for — the Docker network of each block, ip_forward, the agent's iptables chains — then
// report HostConfigured on each. One pass at a time; a change during a pass runs one more.
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { AgentConditionType, Reason } from '../controller/api/conditions.js';
import type { HostNetwork } from '../controller/api/types.js';
import { HostNetworkInformer } from '../controller/kube/informer.js';
import { describeKubeError } from '../controller/kube/errors.js';
import type { Logger } from '../controller/logger.js';
import { DockerUnavailableError, type DockerClient, type DockerNetwork } from './docker.js';
import type { Exec } from './exec.js';
import { ensureIpForward, mainRoutes } from './host.js';
import { IptablesApplier } from './iptables-apply.js';
import { desiredRules, type ServedBlock } from './iptables.js';
import type { AgentMetrics } from './metrics.js';
import { bridgeOf, plan, subnetsOf, type Outcome } from './plan.js';
import { ConditionWriter, type HostCondition } from './status.js';
import { ROUTE_PROTO, connectedSubnets, peerRoutes, type PeerRoute } from './peer-routes.js';
import { removeVxlan, syncVxlan } from './vxlan.js';
import { registerSelf } from './register.js';
import { applyPeerRoutes } from './routes-apply.js';

export interface AgentOptions {
  instanceId: string;
  poolCidr: string;
  networkName: string;
  bridgeName: string;
  checkPeriodMs: number;
  forwardAccept: boolean;
  routing: 'cloud' | 'direct';
  register: boolean;
  registerName: string;
  /** This host's address: the VXLAN tunnel's local end (direct routing across subnets). */
  hostIp?: string;
  watchIdleTimeoutMs: number;
}

export class HostAgent {
  private readonly informer: HostNetworkInformer;
  /** Direct routing only: every HostNetwork (read-only), for the routes to the peers. */
  private readonly peers?: HostNetworkInformer;
  private lastOffLink = '';
  private readonly writer: ConditionWriter;
  private readonly api: CustomObjectsApi;
  private readonly iptables: IptablesApplier;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private again = false;
  private stopped = false;
  private firstRulesPass = true;
  /** Networks kept because containers still use them, by id → the message last logged. */
  private readonly kept = new Map<string, string>();
  /** What was last logged per HostNetwork, so a lasting conflict is logged once, not every pass. */
  private readonly lastProblem = new Map<string, string>();
  /** Last successful pass (ms since epoch), for /healthz. */
  lastSuccess = 0;
  synced = false;

  constructor(
    kc: KubeConfig,
    private readonly log: Logger,
    private readonly docker: DockerClient,
    private readonly exec: Exec,
    private readonly metrics: AgentMetrics,
    private readonly opts: AgentOptions,
  ) {
    const kick = (): void => this.kick();
    this.informer = new HostNetworkInformer(kc, log, opts.watchIdleTimeoutMs, { onAdd: kick, onUpdate: kick, onDelete: kick }, `spec.instanceID=${opts.instanceId}`);
    if (opts.routing === 'direct') this.peers = new HostNetworkInformer(kc, log, opts.watchIdleTimeoutMs, { onAdd: kick, onUpdate: kick, onDelete: kick });
    this.writer = new ConditionWriter(kc);
    this.api = kc.makeApiClient(CustomObjectsApi);
    this.iptables = new IptablesApplier(exec, opts.forwardAccept);
  }

  async start(): Promise<void> {
    this.stopped = false;
    await this.informer.start();
    if (this.opts.register) {
      const r = await registerSelf(this.api, { name: this.opts.registerName, instanceId: this.opts.instanceId, ...(this.opts.hostIp ? { hostIp: this.opts.hostIp } : {}) }, this.served());
      if (r === 'created') this.log.info('registered this server', { hostnetwork: this.opts.registerName, instanceId: this.opts.instanceId });
    }
    await this.peers?.start();
    await this.syncNow();
    // Ready once the first pass over the initial list is done (its outcome is in the conditions).
    this.synced = true;
    this.timer = setInterval(() => this.kick(), this.opts.checkPeriodMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.informer.stop();
    await this.peers?.stop();
    await this.running;
  }

  /** Runs one pass now (or right after the one under way) and waits for it. */
  async syncNow(): Promise<void> {
    this.kick();
    while (this.running) await this.running;
  }

  private kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.pass().catch((err: unknown) => {
          this.metrics.syncs.inc({ result: 'error' });
          this.log.error('host check failed', { error: (err as Error).message ?? String(err) });
        });
      } while (this.again && !this.stopped);
      this.running = undefined;
    })();
  }

  /** The HostNetworks served here: ours by spec.instanceID and not being deleted. */
  served(): HostNetwork[] {
    return this.informer.list().filter((h) => h.spec?.instanceID === this.opts.instanceId && !h.metadata.deletionTimestamp);
  }

  private async pass(): Promise<void> {
    const served = this.served();
    this.metrics.served.set(served.length);
    try {
      await this.docker.ping();
    } catch (err) {
      if (!(err instanceof DockerUnavailableError)) throw err;
      for (const hn of served) await this.report(hn, { status: 'False', reason: Reason.DockerUnavailable, message: `the Docker Engine API does not answer on ${this.docker.socketPath}: ${err.message}` });
      this.metrics.syncs.inc({ result: 'error' });
      return;
    }
    const servedList = served.map((h) => ({ name: h.metadata.name, ...(h.status?.podCIDR ? { block: h.status.podCIDR } : {}) }));
    const planOpts = { networkName: this.opts.networkName, bridgeName: this.opts.bridgeName, routeProtocol: ROUTE_PROTO };
    let networks = await this.docker.listNetworks();
    let p = plan(servedList, networks, await mainRoutes(this.exec), planOpts);
    if (await this.removeStale(p.stale)) {
      networks = await this.docker.listNetworks();
      p = plan(servedList, networks, await mainRoutes(this.exec), planOpts);
    }

    const configured: ServedBlock[] = [];
    const results = new Map<string, HostCondition>();
    for (const o of p.outcomes) results.set(o.name, await this.realize(o, configured));

    if (configured.length && (await ensureIpForward())) this.log.info('turned on net.ipv4.ip_forward');
    const want = desiredRules(configured, this.opts.poolCidr);
    const applied = await this.iptables.apply(want);
    if (applied.changed) {
      if (!this.firstRulesPass) {
        this.metrics.repairs.inc({ kind: 'iptables' });
        this.log.warn('iptables chains differed from what they should be (flushed or edited by someone); put back', { blocks: configured.map((c) => c.block) });
      } else {
        this.log.info('iptables chains written', { blocks: configured.map((c) => c.block), forwardPolicy: applied.forwardPolicy });
      }
    }
    this.firstRulesPass = false;
    this.metrics.rules.set({ table: 'filter' }, want.filter.length);
    this.metrics.rules.set({ table: 'nat' }, want.nat.length);
    this.metrics.networks.set({ state: 'configured' }, configured.length);
    this.metrics.networks.set({ state: 'kept' }, this.kept.size);
    let peerNote = '';
    if (this.peers) peerNote = await this.syncPeerRoutes(configured);
    this.metrics.conflicts.set(p.outcomes.filter((o) => o.kind === 'conflict').length);

    for (const hn of served) {
      const c = results.get(hn.metadata.name);
      if (c) await this.report(hn, c.status === 'True' ? { ...c, message: c.message + peerNote } : c);
    }
    this.lastSuccess = Date.now();
    this.metrics.lastSync.set(this.lastSuccess / 1000);
    this.metrics.syncs.inc({ result: 'success' });
  }

  /** Direct routing: a route to every on-link peer's block; returns a note for the condition. */
  private async syncPeerRoutes(ownBlocks: readonly ServedBlock[]): Promise<string> {
    const plan = peerRoutes(this.peers!.list(), this.opts.instanceId, connectedSubnets(await mainRoutes(this.exec)));
    const routes: PeerRoute[] = [...plan.routes];
    let tunneled = 0;
    const own = ownBlocks[0]?.block;
    if (plan.offLink.length && own && this.opts.hostIp) {
      routes.push(...(await syncVxlan(this.exec, this.opts.hostIp, own, plan.offLink.map((o) => ({ peer: o.peer, block: o.block, hostIP: o.hostIP })))));
      tunneled = plan.offLink.length;
    } else if (await removeVxlan(this.exec)) {
      this.log.info('VXLAN device removed: no peer on another subnet');
    }
    const { replaced, removed } = await applyPeerRoutes(this.exec, routes);
    for (const r of replaced) this.log.info('route to a peer block set', { peer: r.peer, block: r.dst, via: r.via, dev: r.dev });
    for (const dst of removed) this.log.info('route to a block no longer served by a peer removed', { block: dst });
    this.metrics.routes.set(routes.length);
    const off = tunneled ? '' : plan.offLink.map((o) => `${o.peer} (${o.hostIP})`).join(', ');
    if (off && off !== this.lastOffLink) this.log.warn('peers on another subnet are not routed: the VXLAN tunnel needs --host-ip (or --metadata) and a block on this host', { peers: off });
    this.lastOffLink = off;
    return `; routes to ${routes.length} peer block(s)${tunneled ? ` (${tunneled} over VXLAN)` : ''}${off ? `; not routed (other subnet): ${off}` : ''}`;
  }

  private async realize(o: Outcome, configured: ServedBlock[]): Promise<HostCondition> {
    switch (o.kind) {
      case 'waiting':
        return { status: 'False', reason: Reason.WaitingForCIDR, message: 'status.podCIDR is not set yet: the controller has not allocated a block' };
      case 'conflict':
        if (this.lastProblem.get(o.name) !== o.message) this.log.warn('block not configured: conflict', { hostnetwork: o.name, block: o.block, conflict: o.message });
        this.lastProblem.set(o.name, o.message);
        return { status: 'False', reason: Reason.NetworkConflict, message: o.message };
      case 'ready':
        this.lastProblem.delete(o.name);
        configured.push({ hostNetwork: o.name, block: o.block });
        return configuredCondition(o.network, o.block);
      case 'create': {
        try {
          const id = await this.docker.createNetwork(o.spec);
          const created = (await this.docker.inspectNetwork(id)) ?? ({ Id: id, Name: o.spec.Name, Driver: 'bridge', Options: o.spec.Options } as DockerNetwork);
          if (!this.firstRulesPass) this.metrics.repairs.inc({ kind: 'network' });
          this.log.info('created Docker network', { hostnetwork: o.name, block: o.block, network: o.spec.Name, bridge: bridgeOf(created) });
          configured.push({ hostNetwork: o.name, block: o.block });
          return configuredCondition(created, o.block);
        } catch (err) {
          const message = `could not create Docker network ${o.spec.Name} for ${o.block}: ${(err as Error).message}`;
          this.log.error(message, { hostnetwork: o.name });
          return { status: 'False', reason: err instanceof DockerUnavailableError ? Reason.DockerUnavailable : Reason.HostSetupFailed, message };
        }
      }
    }
  }

  /** Removes networks of blocks no longer served here that no container uses; true when one went. */
  private async removeStale(stale: DockerNetwork[]): Promise<boolean> {
    let removed = false;
    const still = new Set<string>();
    for (const n of stale) {
      const full = await this.docker.inspectNetwork(n.Id);
      if (!full) continue;
      const users = Object.values(full.Containers ?? {}).map((c) => c.Name ?? '?');
      if (users.length) {
        still.add(n.Id);
        const msg = `Docker network ${n.Name} (${subnetsOf(n).join(', ')}) of ${n.Labels?.['io.hostnet.hostnetwork'] ?? '?'} is no longer served by this host but ${users.length} container(s) still use it (${users.join(', ')}): kept until they stop`;
        if (this.kept.get(n.Id) !== msg) this.log.warn(msg, { network: n.Name });
        this.kept.set(n.Id, msg);
        continue;
      }
      if (await this.docker.removeNetwork(n.Id)) {
        removed = true;
        this.log.info('removed Docker network of a block no longer served here', { network: n.Name, subnets: subnetsOf(n), hostnetwork: n.Labels?.['io.hostnet.hostnetwork'] });
      }
    }
    for (const id of [...this.kept.keys()]) if (!still.has(id)) this.kept.delete(id);
    return removed;
  }

  private async report(hn: HostNetwork, c: HostCondition): Promise<void> {
    try {
      if (await this.writer.write(hn, c)) this.log.info('condition written', { hostnetwork: hn.metadata.name, type: AgentConditionType.HostConfigured, status: c.status, reason: c.reason });
    } catch (err) {
      this.log.warn('could not write the HostConfigured condition', { hostnetwork: hn.metadata.name, error: describeKubeError(err) });
    }
  }
}

function configuredCondition(n: DockerNetwork, block: string): HostCondition {
  return {
    status: 'True',
    reason: Reason.Configured,
    message: `Docker network ${n.Name} (bridge ${bridgeOf(n) ?? '?'}, subnet ${block}) is in place; ip_forward is on and the agent's iptables chains accept the pool's traffic`,
  };
}
