// sync(name): one idempotent pass over one HostNetwork: it reads (cache, ledger, route tables),
// decides (the route and Ready verdicts are pure: reconcile-plan.ts), acts in a fixed order —
// finalizer, block, routes, NIC — and records: one status write per pass (plus a record before
// the route when a block moves or is recovered), then the pass's Events and log lines. A pass that only waits
// for its table's batch records nothing: the pass after the batch does. Status is written in one
// place (StatusWriter).
import { ConditionType, EventReason, Reason, getCondition, setCondition } from './api/conditions.js';
import { FINALIZER, type AddedAddressPair, type Condition, type HostNetwork, type HostNetworkStatus, type RouteTableStatus } from './api/types.js';
import type { ClaimProblem } from './allocator.js';
import { normalizeCidr, parseCidr, parseIPv4, containsIp } from './cidr.js';
import type { Config } from './config.js';
import { verifyHostIP } from './hostip.js';
import type { EventSink } from './kube/events.js';
import type { StatusWriter } from './kube/status.js';
import type { QueueResult } from './kube/workqueue.js';
import type { Ledger } from './ledger.js';
import type { Logger } from './logger.js';
import { isCloudError } from './provider/errors.js';
import type { CloudProvider } from './provider/provider.js';
import { PENDING_RECHECK_MS, onlyWaiting, planReady, planRoute, type LogLine, type Notice } from './reconcile-plan.js';
import { describeRouteOutcome } from './route-messages.js';
import { markFor } from './routes/marks.js';
import type { OrphanGuard } from './routes/orphans.js';
import type { RouteOwnership } from './routes/ownership.js';
import type { RouteTableSet } from './routes/tableset.js';

export interface ReconcilerDeps {
  get(name: string): HostNetwork | undefined;
  /** Every HostNetwork in the cache: who else is served by a server (the NIC pair is per server). */
  list(): HostNetwork[];
  status: StatusWriter;
  ledger: Ledger;
  tables: RouteTableSet;
  provider: CloudProvider;
  /** Which routes are ours and what ours carry (default: the mark of config.installationId). */
  ownership?: Pick<RouteOwnership, 'markFor'>;
  events: EventSink;
  log: Logger;
  config: Pick<Config, 'installationId' | 'sourceDestCheck' | 'resyncPeriodMs' | 'portRecheckMs'>;
  /** Blocks recovered from owned routes at start-up, for hosts whose status was lost. */
  recovered: Map<string, string>;
  /** A direct read (not the cache) that the object is gone; without it the cache is trusted. */
  confirmGone?: (name: string) => Promise<boolean>;
  /** Keeps the routes of owners missing from the cache until confirmGone agrees (routes/orphans.ts). */
  orphans?: Pick<OrphanGuard, 'confirmGone' | 'forget'>;
}

/** How soon a cache miss for an object that still exists is looked at again. */
const CACHE_BEHIND_RECHECK_MS = 2000;

/** A retryable failure, surfaced to the work queue so the key comes back after a backoff. */
export class RetryLater extends Error {
  constructor(
    message: string,
    readonly minRetryDelayMs = 0,
  ) {
    super(message);
  }
}


const PROBLEM_REASON: Record<ClaimProblem['rule'], string> = {
  NotInPool: Reason.NotInPool,
  WrongBlockSize: Reason.WrongBlockSize,
  OverlapsReserved: Reason.OverlapsVPCSubnet,
  InUse: Reason.CIDRInUse,
};

export class Reconciler {
  /** When each host's NIC was last verified by this process. */
  private readonly portChecked = new Map<string, number>();
  /** Since when each host has been waiting for its table's batch without a status write. */
  private readonly pendingSince = new Map<string, number>();
  private readonly startedAt = Date.now();

  constructor(private readonly d: ReconcilerDeps) {}

  /**
   * The NIC needs no call when status says it was set for this block, server and generation and
   * it was verified within portRecheckMs (a condition found at start-up counts as verified then,
   * so a restart costs no NIC calls).
   */
  private portVerified(name: string, prev: HostNetworkStatus, block: string, gen: number | undefined): boolean {
    const c = getCondition(prev.conditions, ConditionType.SourceDestCheckDisabled);
    // A new instanceID bumps the generation, so the same generation means the same server.
    if (c?.status !== 'True' || c.reason !== Reason.AddressPairsSet || c.observedGeneration !== gen) return false;
    if (prev.podCIDR !== block) return false;
    // The addresses come from the same read: a status without a verdict for this generation
    // (e.g. written by a version before the hostIP check) needs one read.
    if (getCondition(prev.conditions, ConditionType.HostIPVerified)?.observedGeneration !== gen) return false;
    const at = this.portChecked.get(name) ?? this.startedAt;
    return Date.now() - at < this.d.config.portRecheckMs;
  }

  /** What this process keeps per host goes with the host (Events: see the informer's delete). */
  private forgetHost(name: string): void {
    this.portChecked.delete(name);
    this.pendingSince.delete(name);
    this.d.recovered.delete(name);
    this.d.status.forget(name);
  }

  /** Hosts whose NIC check time is kept (for tests and the SIGUSR2 dump). */
  get portChecks(): number {
    return this.portChecked.size;
  }

  async sync(name: string): Promise<QueueResult | void> {
    const cached = this.d.get(name);
    if (!cached) return this.forgetGone(name);
    const obj = this.d.status.latest(cached);
    if (obj.metadata.deletionTimestamp) return this.finalize(obj);
    const live = (obj.metadata.finalizers ?? []).includes(FINALIZER) ? obj : await this.d.status.addFinalizer(obj);
    return this.reconcile(live);
  }

  /** The object vanished without our finalizer running (e.g. it was removed by hand). */
  private async forgetGone(name: string): Promise<QueueResult | void> {
    this.forgetHost(name);
    if (this.d.ledger.blockOf(name) === undefined && !this.d.tables.hasOwner(name) && !this.d.tables.holdsRouteOf(name)) {
      // Nothing of it is left: nothing to remember either.
      this.d.orphans?.forget(name);
      return;
    }
    // The cache can be behind (a first list from the watch cache, a watch restarting): only a
    // direct read may condemn a block or a route.
    if (this.d.confirmGone && !(await this.d.confirmGone(name))) {
      this.d.log.info('not in the cache but still exists; keeping its block and routes', { hostnetwork: name });
      return { requeueAfterMs: CACHE_BEHIND_RECHECK_MS };
    }
    // Before the wait for the route's removal below: until now the route was kept for it.
    this.d.orphans?.confirmGone(name);
    this.d.tables.unset(name);
    // With ownership by ledger the ledger's record is what makes the route ours, so the block goes
    // back to the pool only once no route of ours is left for it. (A marked route stays ours
    // without the record: the next flush deletes it whenever the block is released.)
    const block = this.d.ledger.blockOf(name);
    const byLedger = this.d.provider.capabilities.ownership.kind === 'ledger';
    const left = byLedger && block !== undefined ? this.d.tables.remaining(block) : [];
    if (left.length > 0) {
      this.d.tables.requestFlush();
      const failed = left.find((t) => t.state === 'Error');
      if (failed?.error?.retryable) throw new RetryLater(`route ${block} of ${name} not removed yet (${failed.id}: ${failed.message})`, failed.error.minRetryDelayMs);
      return { requeueAfterMs: PENDING_RECHECK_MS };
    }
    const released = await this.d.ledger.release(name);
    if (released) this.d.log.info('released the block of a HostNetwork that no longer exists', { hostnetwork: name, podCIDR: released });
    if (this.d.tables.holdsRouteOf(name)) {
      // A marked route of it is still in a table: the flush deletes it and its outcome brings the
      // name back here (onSettled), when it is forgotten; the recheck is in case that is lost.
      this.d.tables.requestFlush();
      return { requeueAfterMs: PENDING_RECHECK_MS };
    }
    this.d.orphans?.forget(name);
  }

  private async finalize(obj: HostNetwork): Promise<QueueResult | void> {
    if (!(obj.metadata.finalizers ?? []).includes(FINALIZER)) return;
    const name = obj.metadata.name;
    this.portChecked.delete(name);
    const block = this.d.ledger.blockOf(name) ?? obj.status?.podCIDR;
    this.d.tables.unset(name);
    if (block !== undefined) {
      const left = this.d.tables.remaining(block);
      if (left.length > 0) {
        // The delete goes out with the table's next batch, which re-queues this host.
        this.d.tables.requestFlush();
        const failed = left.find((t) => t.state === 'Error');
        if (failed?.error?.retryable) throw new RetryLater(`route ${block} of ${name} not removed yet (${failed.id}: ${failed.message})`, failed.error.minRetryDelayMs);
        return { requeueAfterMs: PENDING_RECHECK_MS };
      }
      this.d.events.emit(obj, 'Normal', EventReason.RouteRemoved, `Removed the route for ${block} from every route table`);
    }
    // The NIC as it was found: the pair we added goes once no other host of ours needs it. Before
    // the block is released, so a failure keeps everything in place for the retry.
    const added = obj.status?.addedPair;
    if (added && this.d.config.sourceDestCheck !== 'off' && this.d.provider.capabilities.sourceDestCheck === 'supported') await this.releasePair(obj, added);
    const released = await this.d.ledger.release(name);
    if (released) this.d.events.emit(obj, 'Normal', EventReason.CIDRReleased, `Released ${released} back to the pool`);
    await this.d.status.removeFinalizer(obj);
    this.forgetHost(name);
    this.d.log.info('hostnetwork finalized', { hostnetwork: name, podCIDR: released });
  }

  private async reconcile(obj: HostNetwork): Promise<QueueResult | void> {
    const name = obj.metadata.name;
    const gen = obj.metadata.generation;
    const prev = obj.status ?? {};
    // What is stored: each write compares against it (obj itself is the informer's copy and is
    // never modified).
    let stored: HostNetwork = obj;
    let status: HostNetworkStatus = structuredClone(prev);
    const write = async (): Promise<void> => {
      stored = await this.d.status.write(stored, status);
      status = structuredClone(stored.status ?? status);
    };
    const cond = (type: string, s: Condition['status'], reason: string, message: string): void => {
      status.conditions = setCondition(status.conditions, { type, status: s, reason, message, observedGeneration: gen });
    };
    // Announced (Events) and logged once the pass's record is stored.
    const notices: Notice[] = [];
    const logs: LogLine[] = [];
    const hadCondition = (type: string, s: Condition['status'], reason?: string): boolean => {
      const c = getCondition(prev.conditions, type);
      return c?.status === s && (reason === undefined || c.reason === reason);
    };
    if (!getCondition(status.conditions, ConditionType.Ready)) {
      for (const t of Object.values(ConditionType)) cond(t, 'Unknown', Reason.Reconciling, 'The controller is working on this host');
    }

    // 1. The block, recorded in the ledger (durably, by assign) before any route is written.
    const pinned = obj.spec.podCIDR !== undefined ? (normalizeCidr(obj.spec.podCIDR) ?? obj.spec.podCIDR) : undefined;
    const hint = prev.podCIDR ?? this.d.recovered.get(name);
    const hostProblem = pinned !== undefined ? this.hostIpProblem(obj, pinned) : undefined;
    if (hostProblem) {
      cond(ConditionType.CIDRAllocated, 'False', Reason.ContainsHostIP, hostProblem);
      cond(ConditionType.Ready, 'False', Reason.ContainsHostIP, hostProblem);
      status.observedGeneration = gen;
      await write();
      if (!hadCondition(ConditionType.CIDRAllocated, 'False', Reason.ContainsHostIP)) this.d.events.emit(obj, 'Warning', EventReason.CIDRRejected, hostProblem);
      return;
    }
    const res = await this.d.ledger.assign({ owner: name, pinned, hint });
    if (!('block' in res)) {
      const [reason, message] =
        'problem' in res
          ? [PROBLEM_REASON[res.problem.rule], `spec.podCIDR ${res.problem.message}; pick another block or remove spec.podCIDR to get one allocated`]
          : 'refused' in res
            ? [Reason.PoolMismatch, res.refused]
            : 'ledgerFull' in res
              ? [Reason.LedgerFull, res.ledgerFull]
              : [Reason.PoolExhausted, `Every block of the pool is in use; the host gets one as soon as a HostNetwork is deleted (or widen --pool-cidr)`];
      const notify = !hadCondition(ConditionType.CIDRAllocated, 'False', reason);
      cond(ConditionType.CIDRAllocated, 'False', reason, message);
      const held = this.d.ledger.blockOf(name);
      if (held === undefined) {
        cond(ConditionType.RouteProgrammed, 'False', Reason.WaitingForCIDR, 'No route until the host has a block');
      }
      cond(ConditionType.Ready, 'False', reason, message);
      status.observedGeneration = gen;
      await write();
      const event = reason === Reason.PoolExhausted ? EventReason.PoolExhausted : reason === Reason.PoolMismatch ? EventReason.PoolMismatch : EventReason.CIDRRejected;
      if (notify) this.d.events.emit(obj, 'Warning', event, message);
      // The mismatch itself is logged once by the ledger, not once per waiting host.
      if (reason !== Reason.PoolMismatch) this.d.log.warn('block not assigned', { hostnetwork: name, reason, detail: message });
      return reason === Reason.PoolExhausted || reason === Reason.PoolMismatch || reason === Reason.LedgerFull ? { requeueAfterMs: this.d.config.resyncPeriodMs } : undefined;
    }
    const block = res.block;
    if (prev.podCIDR !== block || !hadCondition(ConditionType.CIDRAllocated, 'True')) {
      const recovered = prev.podCIDR === undefined && hint === block;
      const how = pinned ? Reason.Pinned : Reason.Allocated;
      const msg = pinned ? `Pinned block ${block} is reserved for this host` : `Block ${block} allocated from the pool`;
      status.podCIDR = block;
      cond(ConditionType.CIDRAllocated, 'True', how, recovered ? `${msg} (recovered from its route)` : msg);
      // The ledger holds the block durably before assign() answers, so the route below can never
      // carry a block that is not recorded. A host's first block needs no record of its own
      // before the route: it goes out with the pass's one write (docs/design.md "The loop"). A
      // status that names another block (a move) or none while its route names this one (a
      // recovery) is corrected before the route changes, so status and route never disagree.
      const first = prev.podCIDR === undefined && !recovered && !res.from;
      if (!first) await write();
      if (prev.podCIDR !== block) {
        // A new host's first block is shown by its CIDRAllocated condition; a block that moved or
        // came back from its route is news (Events on transitions only).
        if (res.from || recovered) {
          const text = res.from ? `Block moved from ${res.from} to ${block}` : `Recovered block ${block} from its route in the VPC route table`;
          this.d.events.emit(obj, 'Normal', recovered ? EventReason.CIDRRecovered : EventReason.CIDRAllocated, text);
        }
        const line: LogLine = { level: 'info', msg: 'block assigned', fields: { hostnetwork: name, podCIDR: block, from: res.from, recovered } };
        // A first block is logged with the record that stores it (a pass that only waits for its
        // batch stores nothing, and the pass after it would log the block again).
        if (first) logs.push(line);
        else this.d.log.info(line.msg, line.fields);
      }
    }
    // The block is in status now: the hint recovered from its route has done its job.
    this.d.recovered.delete(name);

    // 2. The routes: one per managed table, next hop = the server. The change joins the table's
    // next batch; this sync does not wait for it (so a batch can carry every host that changed,
    // not just as many as there are workers): the table re-queues the host once its batch is done.
    const instanceID = obj.spec.instanceID;
    const mark = this.d.ownership ? this.d.ownership.markFor(name) : markFor(this.d.config.installationId, name);
    this.d.tables.set(name, { destination: block, nexthop: instanceID, description: mark });
    const outcomes = this.d.tables.outcomes(name).map((o) => ({ ...o, message: describeRouteOutcome(o.id, block, o) }));
    if (outcomes.some((o) => o.state !== 'Programmed')) this.d.tables.requestFlush();
    status.routeTables = outcomes.map((o): RouteTableStatus => ({ id: o.id, state: o.state, ...(o.message ? { message: o.message } : {}) }));
    // Only waiting for the table's batch (no failure among the tables): this pass has nothing to
    // record that the pass after the batch will not record better, so it writes nothing and leaves
    // the NIC to that pass — one status write per change instead of one now and one when the
    // route lands. A wait longer than PENDING_RECHECK_MS is recorded (the safety-net pass), so a
    // table held back by the cloud shows as pending in status.
    if (!onlyWaiting(outcomes)) this.pendingSince.delete(name);
    else {
      const since = this.pendingSince.get(name);
      if (since === undefined) this.pendingSince.set(name, Date.now());
      if (since === undefined || Date.now() - since < PENDING_RECHECK_MS) return { requeueAfterMs: PENDING_RECHECK_MS };
    }
    const route = planRoute({ prev, current: getCondition(status.conditions, ConditionType.RouteProgrammed), block, instanceID, name, outcomes, resyncPeriodMs: this.d.config.resyncPeriodMs, router: this.d.provider.capabilities.router });
    if (route.condition) cond(ConditionType.RouteProgrammed, route.condition.status, route.condition.reason, route.condition.message);
    if (route.nextHop !== undefined) status.nextHop = route.nextHop;
    notices.push(...route.notices);
    logs.push(...route.logs);
    let retry: RetryLater | undefined = route.retry ? new RetryLater(route.retry.message, route.retry.minRetryDelayMs) : undefined;
    let result: QueueResult | void = route.requeueAfterMs !== undefined ? { requeueAfterMs: route.requeueAfterMs } : undefined;

    // 3. The NIC: source/destination check off (seed step 2). A port verified recently is
    // trusted; otherwise it is checked again, so a check switched back on in the console is
    // repaired within portRecheckMs.
    if (this.d.provider.capabilities.sourceDestCheck === 'not-applicable') {
      // The cloud has no such check (e.g. Alibaba Cloud ECS): routes are enough. Nothing to read,
      // so no address to compare spec.hostIP with either.
      cond(ConditionType.SourceDestCheckDisabled, 'True', Reason.SourceDestCheckNotApplicable, `The ${this.d.provider.name} cloud has no source/destination check on the NIC of ${instanceID}: nothing to disable`);
      delete status.hostIP;
      cond(ConditionType.HostIPVerified, 'Unknown', Reason.HostIPNotChecked, `Not checked: the ${this.d.provider.name} provider does not read the NIC of ${instanceID}; compare spec.hostIP with the server's address in the cloud console`);
    } else if (this.d.config.sourceDestCheck === 'off') {
      cond(ConditionType.SourceDestCheckDisabled, 'Unknown', Reason.SourceDestCheckNotManaged, `Not managed by this controller (--source-dest-check=off): disable the source/destination check on the NIC of ${instanceID} yourself, or containers in ${block} cannot be reached`);
      // No extra cloud call just for the check: this mode is for installations that keep the NIC
      // (and its read permission) to themselves. An address shown from an earlier read could be
      // another server's by now, so none is shown.
      delete status.hostIP;
      cond(ConditionType.HostIPVerified, 'Unknown', Reason.HostIPNotChecked, `Not checked: with --source-dest-check=off the controller does not read the NIC of ${instanceID}; compare spec.hostIP with the server's address in the cloud console`);
    } else {
      const pair = this.d.provider.sourceDestCheckRecord(this.d.config.sourceDestCheck, block);
      // A pair we added on another server (migration) or for another block (a new pinned block,
      // block mode) is served no more by this host: off it goes, unless another host needs it.
      const old = status.addedPair;
      if (old && (old.instanceID !== instanceID || old.pair !== pair)) {
        try {
          await this.releasePair(obj, old);
          delete status.addedPair;
        } catch (err) {
          // Kept in status, so the next pass tries again; the new server is set up meanwhile.
          if (!(err instanceof RetryLater)) throw err;
          retry ??= err;
        }
      }
      if (!this.portVerified(name, prev, block, gen)) {
      try {
        const r = await this.d.provider.ensureSourceDestCheck(instanceID, this.d.config.sourceDestCheck, block);
        this.portChecked.set(name, Date.now());
        const ours = this.ownedPair(name, instanceID, pair, r.changed ? r.portId : undefined, status.addedPair);
        if (ours) status.addedPair = ours;
        else if (status.addedPair?.instanceID === instanceID) delete status.addedPair;
        cond(ConditionType.SourceDestCheckDisabled, 'True', Reason.AddressPairsSet, `NIC port ${r.portId} of ${instanceID} allows ${pair}`);
        const v = verifyHostIP(obj.spec.hostIP, r.addresses, instanceID);
        if (v.address !== undefined) status.hostIP = v.address;
        else delete status.hostIP;
        cond(ConditionType.HostIPVerified, v.status, v.reason, v.message);
        if (v.reason === Reason.HostIPMismatch && getCondition(prev.conditions, ConditionType.HostIPVerified)?.message !== v.message) {
          notices.push({ type: 'Warning', reason: EventReason.HostIPMismatch, message: v.message });
          logs.push({ level: 'warn', msg: 'spec.hostIP is not the server\'s address', fields: { hostnetwork: name, hostIP: obj.spec.hostIP, instanceId: instanceID, cloudAddresses: r.addresses } });
        }
        if (r.changed) {
          const repaired = hadCondition(ConditionType.SourceDestCheckDisabled, 'True', Reason.AddressPairsSet) && prev.nextHop === instanceID;
          notices.push({ type: repaired ? 'Warning' : 'Normal', reason: EventReason.SourceDestCheckDisabled, message: repaired ? `The address pair ${pair} had been removed from NIC port ${r.portId}; set it again` : `Set address pair ${pair} on NIC port ${r.portId}` });
        }
      } catch (err) {
        if (!isCloudError(err)) throw err;
        this.portChecked.delete(name);
        const reason = err.kind === 'notFound' ? Reason.PortNotFound : err.kind === 'throttled' ? Reason.CloudThrottled : Reason.CloudError;
        const message = `${err.message}; containers on this host cannot be reached until the NIC's source/destination check is off`;
        // As for routes: a failure that retries on its own (throttled, transient) shows in the
        // condition; a Warning is for what needs a person (no port, bad credentials, ...).
        if (!err.retryable && !hadCondition(ConditionType.SourceDestCheckDisabled, 'False', reason)) notices.push({ type: 'Warning', reason: EventReason.CloudError, message });
        cond(ConditionType.SourceDestCheckDisabled, 'False', reason, message);
        // A verdict of this generation (same server, same spec) still holds; an older one is of
        // another server or another spec.hostIP.
        if (getCondition(prev.conditions, ConditionType.HostIPVerified)?.observedGeneration !== gen) {
          delete status.hostIP;
          cond(ConditionType.HostIPVerified, 'Unknown', Reason.HostIPNotChecked, `Not checked: the NIC of ${instanceID} could not be read (see SourceDestCheckDisabled)`);
        }
        if (err.retryable) retry ??= new RetryLater(err.message, err.minRetryDelayMs);
        else result ??= { requeueAfterMs: this.d.config.resyncPeriodMs };
      }
      }
    }

    // 4. Ready, then the one record of the pass; what it announces goes out once it is stored.
    const nic = this.d.provider.capabilities.sourceDestCheck === 'not-applicable' ? 'not-applicable' : this.d.config.sourceDestCheck === 'off' ? 'off' : 'managed';
    const ready = planReady(status.conditions, nic, block, instanceID, gen, this.d.provider.capabilities.router);
    cond(ConditionType.Ready, ready.status, ready.reason, ready.message);
    status.observedGeneration = gen;
    await write();
    for (const n of notices) this.d.events.emit(obj, n.type, n.reason, n.message);
    for (const l of logs) this.d.log[l.level](l.msg, l.fields);
    if (retry) throw retry;
    return result;
  }

  /**
   * Whether the pair on `instanceID` counts as ours for this host: we just added it (portId set),
   * the host's status already says so, or another host of the same server recorded it (disable
   * mode: one record switches the check off for every block of the server, so whoever leaves
   * last takes it off).
   * A pair found on the port with no such record was somebody else's and is never recorded.
   */
  private ownedPair(name: string, instanceID: string, pair: string, addedOn: string | undefined, mine: AddedAddressPair | undefined): AddedAddressPair | undefined {
    if (addedOn !== undefined) return { instanceID, portId: addedOn, pair };
    if (mine?.instanceID === instanceID && mine.pair === pair) return mine;
    for (const o of this.d.list()) {
      const p = o.status?.addedPair;
      if (o.metadata.name !== name && p?.instanceID === instanceID && p.pair === pair) return { ...p };
    }
    return undefined;
  }

  /** Another live host on the server still needs the pair (disable mode: any; block mode: its block). */
  private pairNeeded(name: string, added: AddedAddressPair): boolean {
    const disable = this.d.config.sourceDestCheck === 'disable';
    return this.d.list().some(
      (o) => o.metadata.name !== name && !o.metadata.deletionTimestamp && o.spec.instanceID === added.instanceID && (disable || (o.status?.podCIDR ?? this.d.ledger.blockOf(o.metadata.name)) === added.pair),
    );
  }

  /**
   * Takes the pair we added off the server's NIC unless another host still needs it. A server or
   * port that is gone has nothing left to undo; any other failure is retried (RetryLater) with
   * the record kept, and a failure that needs a person posts a Warning.
   */
  private async releasePair(obj: HostNetwork, added: AddedAddressPair): Promise<void> {
    const name = obj.metadata.name;
    if (this.pairNeeded(name, added)) {
      this.d.log.info('address pair kept: another host of the server needs it', { hostnetwork: name, instanceId: added.instanceID, pair: added.pair });
      return;
    }
    try {
      const { removed } = await this.d.provider.removeSourceDestCheck(added.instanceID, added.pair);
      if (removed) this.d.events.emit(obj, 'Normal', EventReason.AddressPairRemoved, `Removed address pair ${added.pair} (added by this controller) from the NIC of ${added.instanceID}: no block of ours is served by that server any more`);
      this.d.log.info('address pair released', { hostnetwork: name, instanceId: added.instanceID, pair: added.pair, removed });
    } catch (err) {
      if (!isCloudError(err)) throw err;
      if (err.kind === 'notFound') return;
      const message = `could not remove address pair ${added.pair} from the NIC of ${added.instanceID}: ${err.message}`;
      if (!err.retryable) this.d.events.emit(obj, 'Warning', EventReason.CloudError, message);
      throw new RetryLater(message, err.minRetryDelayMs);
    }
  }

  /** The host's own address must not fall inside its container block. */
  private hostIpProblem(obj: HostNetwork, block: string): string | undefined {
    const ip = obj.spec.hostIP ? parseIPv4(obj.spec.hostIP) : undefined;
    const c = parseCidr(block);
    if (ip === undefined || !c || !containsIp(c, ip)) return undefined;
    return `spec.podCIDR ${block} contains the host's own address ${obj.spec.hostIP}; pin a block outside the VPC subnets`;
  }
}
