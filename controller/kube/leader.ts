// Leader election on a coordination.k8s.io/v1 Lease, after client-go's leaderelection:
// candidates try every retryPeriod; a held lease is taken over only when its holder has not
// renewed it for leaseDuration as observed on OUR clock (no trust in the holder's clock); the
// leader gives up as soon as it could not renew for renewDeadline (< leaseDuration), so it stops
// before anyone else may start.
//
// Three things make "stops before anyone else may start" hold when the API server connection
// freezes rather than fails (client-node has no request timeout):
// - every lease request is aborted when the renew deadline would pass;
// - the deadline is checked on a timer of its own, not only when a request returns;
// - a renew counts from the moment it was SENT, on a monotonic clock: the lease's renewTime on
//   the server is at most that late, so a successor waits at least leaseDuration from then.
import { CoordinationV1Api, V1MicroTime, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import type { Logger } from '../logger.js';
import { timeoutSignal, withSignal } from './abort.js';
import { describeKubeError as describe, kubeStatusCode } from './errors.js';

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  onStartedLeading: () => void;
  onStoppedLeading: () => void;
}

/** The three Lease calls the elector makes, each abortable. */
export interface LeaseClient {
  read(name: string, namespace: string, signal: AbortSignal): Promise<V1Lease>;
  create(namespace: string, body: V1Lease, signal: AbortSignal): Promise<V1Lease>;
  replace(name: string, namespace: string, body: V1Lease, signal: AbortSignal): Promise<V1Lease>;
}

export function kubeLeaseClient(kc: KubeConfig): LeaseClient {
  const api = kc.makeApiClient(CoordinationV1Api);
  return {
    read: (name, namespace, signal) => api.readNamespacedLease({ name, namespace }, withSignal(signal)),
    create: (namespace, body, signal) => api.createNamespacedLease({ namespace, body }, withSignal(signal)),
    replace: (name, namespace, body, signal) => api.replaceNamespacedLease({ name, namespace, body }, withSignal(signal)),
  };
}

export interface LeaderElectorDeps {
  /** The Lease API (tests inject one); by default client-node's. */
  leases?: LeaseClient;
  /** A monotonic clock in ms (tests inject one); by default performance.now(). */
  now?: () => number;
}

export class LeaderElector {
  private readonly leases: LeaseClient;
  private readonly now: () => number;
  private leading = false;
  private stopped = false;
  /** Once lost, leadership is not taken again by this process (it exits, as client-go's do). */
  private lost = false;
  private timer?: NodeJS.Timeout;
  private deadlineTimer?: NodeJS.Timeout;
  /** When the last successful acquire or renew was sent (monotonic ms). */
  private lastRenew = -Infinity;
  // What we last saw of somebody else's lease, and when (by our clock). Any write changes the
  // resourceVersion, so a renewal is noticed even if the holder's clock repeats a renewTime.
  private observed?: { holder: string; version: string; at: number };
  /** The lease as we last wrote it (with its resourceVersion), for the next renew. */
  private written?: V1Lease;

  constructor(
    kc: KubeConfig | undefined,
    private readonly opts: LeaderElectionOptions,
    private readonly log: Logger,
    deps: LeaderElectorDeps = {},
  ) {
    if (!deps.leases && !kc) throw new Error('LeaderElector needs a KubeConfig or a LeaseClient');
    this.leases = deps.leases ?? kubeLeaseClient(kc!);
    this.now = deps.now ?? (() => performance.now());
  }

  get isLeader(): boolean {
    return this.leading;
  }

  private get lease(): string {
    return `${this.opts.namespace}/${this.opts.name}`;
  }

  /**
   * True while no other replica can have become leader: we renewed within the renew deadline,
   * and a candidate waits a full lease duration (longer) after our last renewal before taking over.
   */
  holdsFreshLease(): boolean {
    return this.leading && this.now() - this.lastRenew < this.opts.renewDeadlineMs;
  }

  start(): void {
    this.stopped = false;
    void this.tick();
  }

  /** The next attempt retryPeriod after this one started (a slow renew does not delay the next). */
  private schedule(startedAt: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), Math.max(0, startedAt + this.opts.retryPeriodMs - this.now()));
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    const startedAt = this.now();
    // A leader's request may run only until its renew deadline; a candidate's for as long.
    const budget = this.leading ? this.lastRenew + this.opts.renewDeadlineMs - startedAt : this.opts.renewDeadlineMs;
    const { signal, cancel } = timeoutSignal(budget, 'lease request');
    try {
      const sentAt = await this.tryAcquireOrRenew(signal);
      if (sentAt !== undefined && !this.stopped && !this.lost) {
        this.lastRenew = sentAt;
        this.armDeadline();
        if (!this.leading) {
          this.leading = true;
          this.log.info('became leader', { lease: this.lease, identity: this.opts.identity });
          this.opts.onStartedLeading();
        }
      }
    } catch (err) {
      if (!this.stopped) this.log.warn('lease request failed', { lease: this.lease, error: describe(err) });
    } finally {
      cancel();
    }
    this.schedule(startedAt);
  }

  /** The renew deadline, watched by a timer of its own: a hung request cannot delay it. */
  private armDeadline(): void {
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    this.deadlineTimer = setTimeout(() => {
      this.deadlineTimer = undefined;
      if (!this.leading) return;
      if (this.now() - this.lastRenew >= this.opts.renewDeadlineMs) this.lose(`could not renew the lease within the renew deadline (${this.opts.renewDeadlineMs} ms)`);
      else this.armDeadline();
    }, Math.max(0, this.lastRenew + this.opts.renewDeadlineMs - this.now()));
  }

  private lose(why: string): void {
    if (!this.leading) return;
    this.leading = false;
    this.lost = true;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    this.log.error('lost leadership; stopping reconciles', { lease: this.lease, reason: why });
    this.opts.onStoppedLeading();
  }

  /**
   * Writes the lease for us if we may hold it. Returns when (monotonic) the successful write was
   * sent — the server changed the lease after that moment, so a successor's wait starts later —
   * or undefined when somebody else holds it.
   */
  private async tryAcquireOrRenew(signal: AbortSignal): Promise<number | undefined> {
    const { namespace, name, identity } = this.opts;
    const now = new V1MicroTime();
    const durationSeconds = Math.ceil(this.opts.leaseDurationMs / 1000);
    // The leader renews the lease it last wrote in one request (no read first: one round trip
    // less against the deadline); a conflict means somebody else wrote it, so read and decide.
    if (this.leading && this.written) {
      const renewed: V1Lease = { ...this.written, spec: { ...this.written.spec, renewTime: now } };
      if (renewed.spec?.acquireTime) renewed.spec.acquireTime = new V1MicroTime(renewed.spec.acquireTime);
      const sentAt = this.now();
      try {
        this.written = await this.leases.replace(name, namespace, renewed, signal);
        return sentAt;
      } catch (err) {
        this.written = undefined;
        if (kubeStatusCode(err) !== 409) throw err;
      }
    }
    let lease: V1Lease;
    try {
      lease = await this.leases.read(name, namespace, signal);
    } catch (err) {
      if (kubeStatusCode(err) !== 404) throw err;
      const sentAt = this.now();
      this.written = await this.leases.create(
        namespace,
        {
          metadata: { name, namespace },
          spec: { holderIdentity: identity, leaseDurationSeconds: durationSeconds, acquireTime: now, renewTime: now, leaseTransitions: 0 },
        },
        signal,
      );
      return sentAt;
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const version = `${lease.metadata?.resourceVersion ?? ''}|${spec.renewTime ? new Date(spec.renewTime).toISOString() : ''}`;
    if (holder !== '' && holder !== identity) {
      if (!this.observed || this.observed.holder !== holder || this.observed.version !== version) {
        this.observed = { holder, version, at: this.now() };
      }
      const heldFor = (spec.leaseDurationSeconds ?? durationSeconds) * 1000;
      if (this.now() - this.observed.at < heldFor) {
        if (this.leading) this.lose(`the lease is now held by ${holder}`);
        return undefined;
      }
    }
    const takingOver = holder !== identity;
    lease.spec = {
      ...spec,
      holderIdentity: identity,
      leaseDurationSeconds: durationSeconds,
      renewTime: now,
      acquireTime: takingOver ? now : spec.acquireTime ? new V1MicroTime(spec.acquireTime) : now,
      leaseTransitions: (spec.leaseTransitions ?? 0) + (takingOver && holder !== '' ? 1 : 0),
    };
    // resourceVersion makes this a compare-and-swap: two candidates cannot both win.
    const sentAt = this.now();
    this.written = await this.leases.replace(name, namespace, lease, signal);
    return sentAt;
  }

  /** Stops campaigning; a leader hands the lease back so a standby takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    if (!this.leading) return;
    this.leading = false;
    // Bounded like a renew: a frozen connection must not hold the shutdown.
    const { signal, cancel } = timeoutSignal(this.opts.renewDeadlineMs, 'lease release');
    try {
      const lease = await this.leases.read(this.opts.name, this.opts.namespace, signal);
      if (lease.spec?.holderIdentity === this.opts.identity) {
        lease.spec = { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: new V1MicroTime() };
        if (lease.spec.acquireTime) lease.spec.acquireTime = new V1MicroTime(lease.spec.acquireTime);
        await this.leases.replace(this.opts.name, this.opts.namespace, lease, signal);
        this.log.info('released the lease', { lease: this.lease });
      }
    } catch (err) {
      this.log.warn('could not release the lease; a standby takes over when it expires', { error: describe(err) });
    } finally {
      cancel();
    }
  }
}
