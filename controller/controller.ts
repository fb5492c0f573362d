// Wiring: informer → de-duplicating rate-limited queue → Reconciler.sync(name), run only while
// this replica leads. Leading starts with the steps that make allocation safe after any restart:
// read every route table, load the ledger, recover lost blocks from owned routes and statuses,
// and only then reconcile. A periodic full sync re-reads every table and repairs drift.
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { hostname } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import { BlockAllocator } from './allocator.js';
import { ConditionType, EventReason, Reason, getCondition } from './api/conditions.js';
import { GROUP, PLURAL, VERSION, type HostNetwork } from './api/types.js';
import { containsCidr, parseCidr } from './cidr.js';
import type { Config } from './config.js';
import { describeKubeError } from './kube/errors.js';
import { EventRecorder, type EventSink } from './kube/events.js';
import { HostNetworkInformer } from './kube/informer.js';
import { LeaderElector } from './kube/leader.js';
import { KubeStatusWriter, type StatusWriter } from './kube/status.js';
import { WorkQueue } from './kube/workqueue.js';
import { ConfigMapLedgerStore, Ledger, type LedgerStore } from './ledger.js';
import type { HostEvidence, Inconsistency } from './ledger-evidence.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import { WriteFence, isFencedError } from './provider/fence.js';
import { isCloudError } from './provider/errors.js';
import { Operation } from './provider/operations.js';
import type { CloudProvider } from './provider/provider.js';
import { Reconciler } from './reconciler.js';
import { OrphanGuard } from './routes/orphans.js';
import { routeOwnership, type RouteOwnership } from './routes/ownership.js';
import { RouteTableSet } from './routes/tableset.js';

export interface ControllerOptions {
  kc: KubeConfig;
  config: Config;
  provider: CloudProvider;
  log: Logger;
  metrics: Metrics;
  /** Overrides for tests. */
  events?: EventSink;
  statusWriter?: StatusWriter;
  ledgerStore?: LedgerStore;
  identity?: string;
  /** Called when leadership is lost: the process should exit (as client-go's controllers do). */
  onLostLeadership?: (why: string) => void;
  /**
   * The write fence `provider` passes every write through (see provider/fence.ts); the
   * controller opens it only while it leads on a fresh lease, and closes it when it stops.
   */
  fence?: WriteFence;
}

export class HostNetworkController {
  readonly identity: string;
  private readonly informer: HostNetworkInformer;
  private readonly queue: WorkQueue;
  readonly tables: RouteTableSet;
  readonly ledger: Ledger;
  private readonly reconciler: Reconciler;
  private readonly events: EventSink;
  private readonly status: StatusWriter;
  private readonly elector?: LeaderElector;
  private readonly recovered = new Map<string, string>();
  private leading = false;
  private securityGroupDone = false;
  private synced = false;
  private stopped = false;
  private resyncTimer?: NodeJS.Timeout;
  private metricsTimer?: NodeJS.Timeout;
  private leadPromise?: Promise<void>;
  private stopping?: Promise<void>;
  readonly fence: WriteFence;
  private readonly pool;
  /** Which routes are ours, the way the provider can tell (a mark, or the ledger's records). */
  readonly ownership: RouteOwnership;
  private readonly confirmGone: (name: string) => Promise<boolean>;
  /** Routes of hosts missing from the cache stay until a direct read confirms them gone. */
  readonly orphans: OrphanGuard;

  constructor(private readonly o: ControllerOptions) {
    const { config, kc, log, metrics } = o;
    // parseConfig leaves it empty without the flag; main.ts resolves it (installation.ts).
    if (!config.installationId || !config.leaderElectionId) throw new Error('installation id not resolved (see withInstallationId)');
    this.identity = o.identity ?? `${hostname()}_${process.pid}`;
    this.pool = parseCidr(config.poolCidr)!;
    this.fence = o.fence ?? new WriteFence();
    // No cloud write starts unless this replica leads and, with leader election, renewed its
    // lease within the renew deadline (measured from when the renew was sent).
    this.fence.guard(() => this.leading && !this.stopped && (this.elector ? this.elector.holdsFreshLease() : true));
    this.events =
      o.events ??
      new EventRecorder(kc, config.eventNamespace, 'hostnet-controller', this.identity, log, {
        onPending: (n) => metrics.eventsPending.set(n),
        onDropped: (reason) => metrics.eventsDropped.inc({ reason }),
      });
    this.status = o.statusWriter ?? new KubeStatusWriter(kc);
    const allocator = new BlockAllocator(config.poolCidr, config.blockSize, config.vpcSubnets);
    this.ledger = new Ledger(
      o.ledgerStore ?? new ConfigMapLedgerStore(kc, config.leaderElectionNamespace, config.installationId),
      allocator,
      log,
      // Without leader election this is the only replica (running two that way is unsupported).
      () => (this.elector ? this.elector.holdsFreshLease() : true),
      { evidence: () => this.evidence(), onInconsistencies: (list) => this.reportInconsistencies(list) },
    );
    const objects = kc.makeApiClient(CustomObjectsApi);
    // A direct read, not the cache: a list by name needs no `get` permission beyond list.
    this.confirmGone = async (name) => {
      const res = (await objects.listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, fieldSelector: `metadata.name=${name}` })) as { items?: unknown[] };
      return (res.items ?? []).length === 0;
    };
    const inPool = (dest: string): boolean => {
      const c = parseCidr(dest, false);
      return c !== undefined && containsCidr(this.pool, c);
    };
    this.ownership = routeOwnership(o.provider.capabilities.ownership, config.installationId, {
      ownerOfBlock: (dest) => this.ledger.ownerOfBlock(dest),
      inPool,
      isHostOfOurs: (id) => id !== '' && this.informer.list().some((h) => h.spec.instanceID === id || this.status.latest(h).status?.nextHop === id),
    });
    this.orphans = new OrphanGuard({
      ownerOf: (r) => this.ownership.ownerOf(r),
      cached: (name) => {
        const obj = this.informer.get(name);
        return obj && { deleting: !!obj.metadata.deletionTimestamp };
      },
      wanted: (name) => this.tables.hasOwner(name),
      // The queue runs only once the start-up sync is done; collectGarbage covers the time before.
      onUnconfirmed: (name) => {
        if (this.leading && this.synced) this.queue.add(name);
      },
      onOrphaned: (name, destinations) => {
        for (const destination of destinations) {
          metrics.driftRepairs.inc({ kind: 'orphaned' });
          log.info('route drift found; repairing', { destination, kind: 'orphaned', hostnetwork: name });
        }
      },
    });
    this.tables = new RouteTableSet(o.provider, {
      capacity: config.routeTableCapacity,
      batchWindowMs: config.routeBatchWindowMs,
      isOwned: (r) => this.ownership.isOwned(r),
      inPool,
      // A route of ours whose host exists but has not been reconciled yet stays (its block is
      // recovered from it), and so does one whose host is only missing from the cache.
      keep: (r) => this.orphans.keep(r),
      onBatch: (n) => metrics.routeBatchSize.observe(n),
      onRetry: () => metrics.cloudRetries.inc({ operation: o.provider.capabilities.routeWrites.kind === 'per-route' ? Operation.writeRoute : Operation.applyRoutes, provider: o.provider.name }),
      onRoom: (owners) => owners.forEach((n) => this.queue.add(n)),
      ownerOf: (r) => this.ownership.ownerOf(r),
      // Ahead of the first passes still queued: a host whose route landed turns Ready now, not
      // after every other host has had its first pass.
      onSettled: (owners) => owners.forEach((n) => this.queue.addFirst(n)),
    });
    this.reconciler = new Reconciler({
      get: (name) => this.informer.get(name),
      list: () => this.informer.list(),
      status: this.status,
      ledger: this.ledger,
      tables: this.tables,
      provider: o.provider,
      ownership: this.ownership,
      events: this.events,
      log,
      config,
      recovered: this.recovered,
      orphans: this.orphans,
      // Only once the informer has synced (the queue runs only then) and a direct read agrees.
      confirmGone: (name) => this.confirmGone(name),
    });
    this.queue = new WorkQueue((key) => this.process(key), {
      workers: config.workers,
      onDepth: (d) => metrics.queueDepth.set(d),
      onWait: (s) => metrics.queueWait.observe(s),
      onRetry: () => metrics.queueRetries.inc(),
    });
    this.informer = new HostNetworkInformer(kc, log, config.watchIdleTimeoutMs, {
      onAdd: (obj) => {
        // A host of that name exists (again): its routes are its own, not a gone host's.
        this.orphans.forget(obj.metadata.name);
        this.enqueue(obj);
      },
      // The echo of our own status or finalizer write: the pass that wrote it saw all of it.
      onUpdate: (obj) => {
        if (!this.status.isOwnWrite?.(obj)) this.enqueue(obj);
      },
      onDelete: (obj) => {
        // After the Events already queued for it are out, nothing is kept about it.
        this.events.forget(obj);
        this.enqueue(obj);
      },
    });
    if (config.leaderElect) {
      this.elector = new LeaderElector(
        kc,
        {
          namespace: config.leaderElectionNamespace,
          name: config.leaderElectionId,
          identity: this.identity,
          leaseDurationMs: config.leaseDurationMs,
          renewDeadlineMs: config.renewDeadlineMs,
          retryPeriodMs: config.retryPeriodMs,
          onStartedLeading: () => void this.lead(),
          onStoppedLeading: () => {
            // The fence is already shut (the lease is not fresh); this also stops the timers.
            void this.stopReconciling(config.shutdownGraceMs, 'lost leadership');
            o.onLostLeadership?.('lost leadership');
          },
        },
        log,
      );
    }
  }

  /** Campaigns for the lease (or leads at once without leader election). */
  start(): void {
    if (this.elector) this.elector.start();
    else void this.lead();
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** Ready: a standby is ready to take over; a leader once its start-up sync is done. */
  get ready(): boolean {
    return !this.stopped && (!this.leading || this.synced);
  }

  get hasSynced(): boolean {
    return this.synced;
  }

  private enqueue(obj: HostNetwork): void {
    if (this.leading && this.synced) this.queue.add(obj.metadata.name);
  }

  private async process(name: string): Promise<{ requeueAfterMs?: number } | void> {
    const started = process.hrtime.bigint();
    let result = 'success';
    try {
      const r = await this.reconciler.sync(name);
      if (r?.requeueAfterMs !== undefined) result = 'requeue';
      if (!this.informer.get(name)) this.wakePoolWaiters();
      return r;
    } catch (err) {
      result = 'error';
      // A write the fence refused: logged once by the fence; this replica is stopping.
      if (isFencedError(err)) throw err;
      this.o.log.warn('reconcile failed; retrying with backoff', { hostnetwork: name, error: describeKubeError(err), retries: this.queue.failuresOf(name) + 1 });
      throw err;
    } finally {
      const secs = Number(process.hrtime.bigint() - started) / 1e9;
      this.o.metrics.reconcileTotal.inc({ result });
      this.o.metrics.reconcileDuration.observe({ result }, secs);
    }
  }

  /** A block came free: hosts waiting for one try again. */
  private wakePoolWaiters(): void {
    for (const obj of this.informer.list()) {
      const reason = getCondition(obj.status?.conditions, ConditionType.CIDRAllocated)?.reason;
      // A release can also end a pool mismatch (the last unhonourable record) or free room in a full shard.
      if (reason === Reason.PoolExhausted || reason === Reason.PoolMismatch || reason === Reason.LedgerFull) this.queue.add(obj.metadata.name);
    }
  }

  private lead(): Promise<void> {
    this.leadPromise ??= this.leadOnce().catch((err: unknown) => {
      // Stopped while starting (SIGTERM, lost lease): that is not a failed start-up.
      if (this.stopped) return;
      this.o.log.error('start-up sync failed; exiting so that a fresh start retries it', { error: describeKubeError(err) });
      this.leadPromise = undefined;
      void this.stopReconciling(this.o.config.shutdownGraceMs, 'start-up sync failed').then(() => this.o.onLostLeadership?.('start-up sync failed'));
    });
    return this.leadPromise;
  }

  private async leadOnce(): Promise<void> {
    const { config, log, metrics } = this.o;
    this.leading = true;
    metrics.leader.set(1);
    const t0 = Date.now();
    // Three reads that need nothing of each other, at once: the HostNetworks (the informer's
    // list), the route tables (their first read looks at no owner: ownership is asked only from
    // the second read on) and the ledger (its allocator's records; the local routes reserved
    // below are a separate map). Recovery needs all three.
    const listing = this.informer.start();
    const loading = this.ledger.load();
    try {
      await Promise.all([listing, this.initTablesPatiently(), loading]);
    } catch (err) {
      // Exiting (lead()) stops the informer: not while its list is in flight, or the watch
      // client-node starts after it would outlive the stop.
      await Promise.allSettled([listing, loading]);
      throw err;
    }
    if (this.stopped) return;
    this.reserveLocalRoutes();
    await this.recoverBlocks();
    // Routes of hosts already recorded in status are wanted; everything else waits for its sync.
    for (const obj of this.informer.list()) {
      const block = this.ledger.blockOf(obj.metadata.name);
      if (obj.metadata.deletionTimestamp || block === undefined || obj.status?.podCIDR !== block) continue;
      this.tables.set(obj.metadata.name, { destination: block, nexthop: obj.spec.instanceID, description: this.ownership.markFor(obj.metadata.name) });
    }
    if (this.stopped) return;
    this.synced = true;
    await this.ensureSecurityGroup();
    // Stopped meanwhile: no timer may be started after stopReconciling() cleared them.
    if (this.stopped) return;
    for (const obj of this.informer.list()) this.queue.add(obj.metadata.name);
    this.collectGarbage();
    this.resyncTimer = setInterval(() => void this.fullSync(), config.resyncPeriodMs);
    this.metricsTimer = setInterval(() => this.updateGauges(), 5000);
    this.metricsTimer.unref();
    this.updateGauges();
    metrics.lastFullSync.set(Date.now() / 1000);
    log.info('leading: start-up sync done', {
      hostnetworks: this.informer.list().length,
      tables: this.tables.all().map((t) => t.id),
      blocksInUse: this.ledger.allocator.usedBlocks,
      recovered: this.recovered.size,
      durationMs: Date.now() - t0,
    });
  }

  /**
   * The start-up read of the route tables. Refused credentials wait out the provider's auth
   * backoff here instead of failing the start-up: exiting would restart the process, whose first
   * call signs with the bad key again — a crash loop into the cloud's AK lockout. The provider
   * logs each backoff once; Ready stays false meanwhile. A throttled or transient failure (429,
   * 5xx, timeout, reset) is retried here too, with backoff (0.5 s doubling to 10 s): exiting for
   * one lost call hands the lease to a standby that meets the same cloud, and under the
   * kubelet's crash-loop backoff leaves every host unserved for minutes (found by the soak).
   */
  private async initTablesPatiently(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.tables.init();
        return;
      } catch (err) {
        if (!isCloudError(err) || (err.kind !== 'auth' && !err.retryable) || this.stopped) throw err;
        let waitMs: number;
        if (err.kind === 'auth') {
          this.o.log.debug('start-up sync waits for the cloud auth backoff', { retryAfterMs: err.retryAfterMs });
          // A fresh refusal carries no wait yet: the next attempt, a moment later, is refused
          // locally and says how long the backoff is.
          waitMs = err.retryAfterMs ?? 1000;
        } else {
          waitMs = Math.max(err.minRetryDelayMs, Math.min(10_000, 500 * 2 ** (attempt - 1))) * (1 + Math.random() * 0.2);
          this.o.log.warn('start-up read of the route tables failed; retrying', { error: err.message, attempt, retryInMs: Math.round(waitMs) });
        }
        await delay(waitMs, undefined, { signal: this.fence.signal }).catch(() => undefined);
        if (this.stopped) throw err;
      }
    }
  }

  /** The VPC's own subnets (local routes) are never handed out. */
  private reserveLocalRoutes(): void {
    for (const { route } of this.tables.routes()) if (route.kind === 'system') this.ledger.allocator.reserve(route.destination);
  }

  /**
   * Before anything is allocated: the ledger is weighed against status and owned routes
   * (ledger-evidence.ts), so every host that lost its ledger entry gets back the block its status
   * or its owned route names (node-IPAM style: mark everything recorded first), and a record
   * naming a missing host cannot take a live host's block.
   */
  private async recoverBlocks(): Promise<void> {
    for (const { route } of this.tables.routes()) {
      // With ledger ownership the ledger itself names the owner: nothing to recover from a route.
      const owner = this.o.provider.capabilities.ownership.kind === 'mark' ? this.ownership.ownerOf(route) : undefined;
      // A route whose host no longer exists is an orphan, removed by the next flush: no hint.
      if (owner !== undefined && !this.recovered.has(owner) && this.informer.get(owner)) this.recovered.set(owner, route.destination);
    }
    const before = this.ledger.owners();
    const found = await this.ledger.check({ rebuild: true });
    const adopted = [...this.ledger.owners()].filter(([name, block]) => before.get(name) !== block).length;
    if (adopted > 0 || found.length > 0) this.o.log.info('recovered blocks before allocating', { adopted, inconsistencies: found.length, ledgerWrites: this.ledger.writes });
  }

  /** Who says they hold which block, apart from the ledger: status.podCIDR and owned routes. */
  private evidence(): Map<string, HostEvidence> {
    const routes = new Map<string, string>();
    for (const { route } of this.tables.routes()) {
      const owner = this.o.provider.capabilities.ownership.kind === 'mark' ? this.ownership.ownerOf(route) : undefined;
      if (owner !== undefined) routes.set(owner, route.destination);
    }
    const out = new Map<string, HostEvidence>();
    for (const cached of this.informer.list()) {
      const obj = this.status.latest(cached);
      out.set(obj.metadata.name, { podCIDR: obj.status?.podCIDR, route: routes.get(obj.metadata.name) });
    }
    return out;
  }

  private reportInconsistencies(list: Inconsistency[]): void {
    this.o.metrics.ledgerInconsistencies.inc(list.length);
    const told = new Set<string>();
    for (const i of list) {
      for (const name of [i.claimant, i.keptBy]) {
        const obj = name !== undefined ? this.informer.get(name) : undefined;
        if (!obj || told.has(`${name}|${i.message}`)) continue;
        told.add(`${name}|${i.message}`);
        this.events.emit(obj, 'Warning', EventReason.LedgerInconsistent, `Allocation ledger disagreed with status and routes: ${i.message}`);
      }
    }
  }

  /**
   * Blocks recorded, and routes of ours, for HostNetworks the informer does not have (deleted
   * while the controller was down, finalizer removed by hand, or only missing from a cache that is
   * behind): each goes through the queue, where the reconciler releases the block and removes the
   * routes once a direct read confirms the object is gone (until then the routes stay: orphans.ts).
   */
  private collectGarbage(): void {
    for (const name of this.ledger.owners().keys()) if (!this.informer.get(name)) this.queue.add(name);
    for (const name of this.tables.routeOwners()) if (!this.informer.get(name)) this.queue.add(name);
  }

  private async ensureSecurityGroup(): Promise<void> {
    const { securityGroupId, securityGroupProtocols, poolCidr } = this.o.config;
    // Once per process: the rule is only ever added (a duplicate answers 409), so asking again at
    // every full sync would spend a write call of the throttle for nothing.
    if (!securityGroupId || this.securityGroupDone) return;
    try {
      const r = await this.o.provider.ensureIngressRule({ securityGroupId, remoteIpPrefix: poolCidr, protocols: securityGroupProtocols });
      this.securityGroupDone = true;
      if (r.created > 0) this.o.log.info('security group rule created', { securityGroup: securityGroupId, rules: r.created, from: poolCidr });
    } catch (err) {
      if (isFencedError(err)) return;
      this.o.log.error('could not ensure the security group rule; retrying at the next full sync', { securityGroup: securityGroupId, error: (err as Error).message });
    }
  }

  /** Re-reads every table, repairs what changed behind our back, re-queues every host. */
  async fullSync(): Promise<void> {
    if (!this.leading || !this.synced || this.stopped) return;
    const { log, metrics } = this.o;
    try {
      // New tables only appear in VPC mode; configured tables need no discovery read.
      if (this.o.config.routeTableIds.length === 0) await this.tables.init();
      const findings = await this.tables.refreshAll();
      this.reserveLocalRoutes();
      for (const f of findings) {
        metrics.driftRepairs.inc({ kind: f.kind });
        log.info('route drift found; repairing', { table: f.table, destination: f.destination, kind: f.kind, hostnetwork: f.owner });
        const obj = f.owner ? this.informer.get(f.owner) : undefined;
        if (obj) this.events.emit(obj, 'Warning', EventReason.RouteRepaired, `Route ${f.destination} in table ${f.table} was ${f.kind === 'missing' ? 'deleted' : 'changed'} outside the controller; restoring it`);
      }
      await this.tables.flushAll();
      await this.ensureSecurityGroup();
      // A ledger deleted or edited by hand is noticed here at the latest, and rebuilt.
      await this.ledger.check({ reread: true });
      metrics.lastFullSync.set(Date.now() / 1000);
      // The set of tables may have changed (VPC mode): the gauges follow at once.
      this.updateGauges();
    } catch (err) {
      if (isFencedError(err) || this.stopped) return;
      log.warn('full sync failed; the next one retries', { error: describeKubeError(err) });
    }
    for (const obj of this.informer.list()) this.queue.add(obj.metadata.name);
    this.collectGarbage();
  }

  private updateGauges(): void {
    const { metrics } = this.o;
    const alloc = this.ledger.allocator;
    metrics.poolUsed.set(alloc.usedBlocks);
    metrics.poolFree.set(alloc.freeBlocks);
    const ls = this.ledger.stats();
    metrics.ledgerRecords.set(ls.records);
    metrics.ledgerShards.set(ls.shards);
    metrics.ledgerShardFill.set(ls.fillRatio);
    metrics.ledgerMismatched.set(this.ledger.poolMismatch?.records.length ?? 0);
    metrics.queueDepth.set(this.queue.depth);
    metrics.setTables(this.tables.all().map((t) => ({ id: t.id, owned: t.ownedCount, desired: t.desiredCount, capacity: t.capacityKnown, remaining: Math.max(0, t.capacityKnown - t.used) })));
    const counts = new Map<string, number>();
    for (const type of Object.values(ConditionType)) for (const s of ['True', 'False', 'Unknown']) counts.set(`${type}|${s}`, 0);
    for (const obj of this.informer.list()) {
      for (const c of obj.status?.conditions ?? []) counts.set(`${c.type}|${c.status}`, (counts.get(`${c.type}|${c.status}`) ?? 0) + 1);
    }
    for (const [k, v] of counts) {
      const [condition, status] = k.split('|');
      metrics.hostnetworks.set({ condition, status }, v);
    }
  }

  /** What the controller is doing right now (logged on SIGUSR2, for debugging a stuck process). */
  debugState(): Record<string, unknown> {
    return {
      leading: this.leading,
      synced: this.synced,
      queueDepth: this.queue.depth,
      queueBusy: this.queue.busy,
      ledger: this.ledger.debugState(),
      tables: this.tables.all().map((t) => t.debugState()),
      // What is kept per host: each shrinks when hosts go.
      perHost: {
        portChecks: this.reconciler.portChecks,
        recoveredHints: this.recovered.size,
        confirmedGone: this.orphans.size,
        statusCopies: this.status instanceof KubeStatusWriter ? this.status.remembered : undefined,
        events: this.events instanceof EventRecorder ? this.events.debugState() : undefined,
      },
      gateMs: Math.max(0, this.tables.gate.notBefore - Date.now()),
    };
  }

  /**
   * Stops taking work at once: no cloud write starts from here on (the fence closes, which also
   * ends rate-limiter waits), batch timers, backoff gates and the full sync stop; writes already
   * sent and reconciles in progress get up to graceMs to finish.
   */
  private stopReconciling(graceMs: number, why: string): Promise<void> {
    this.stopping ??= (async () => {
      this.stopped = true;
      this.leading = false;
      this.o.metrics.leader.set(0);
      if (this.resyncTimer) clearInterval(this.resyncTimer);
      if (this.metricsTimer) clearInterval(this.metricsTimer);
      this.fence.close(why);
      this.tables.stop();
      const [, left] = await Promise.all([this.queue.shutdown(graceMs), this.fence.drain(graceMs)]);
      await this.informer.stop();
      this.o.log.info('stopped: no cloud write from here on', { reason: why, writesStillInFlight: left });
    })();
    return this.stopping;
  }

  /**
   * Graceful shutdown (SIGTERM, or after losing the lease): stop work, let in-flight calls finish
   * within graceMs, and only then hand the lease back.
   */
  async stop(graceMs: number, why = 'stopping'): Promise<void> {
    await this.stopReconciling(graceMs, why);
    if (this.events instanceof EventRecorder) await this.events.flush();
    await this.elector?.stop();
  }
}
