// Leader election on a coordination.k8s.io/v1 Lease, after client-go's leaderelection:
// candidates try every retryPeriod; a held lease is taken over only when its holder has not
// renewed it for leaseDuration as observed on OUR clock (no trust in the holder's clock); the
// leader gives up as soon as it could not renew for renewDeadline (< leaseDuration), so it stops
// before anyone else may start.
import { CoordinationV1Api, V1MicroTime, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import type { Logger } from '../logger.js';
import { describeKubeError as describe } from './errors.js';

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

export class LeaderElector {
  private readonly api: CoordinationV1Api;
  private leading = false;
  private stopped = false;
  private timer?: NodeJS.Timeout;
  private lastRenew = 0;
  // What we last saw of somebody else's lease, and when (by our clock).
  private observed?: { holder: string; renewTime: string; at: number };

  constructor(
    kc: KubeConfig,
    private readonly opts: LeaderElectionOptions,
    private readonly log: Logger,
  ) {
    this.api = kc.makeApiClient(CoordinationV1Api);
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /**
   * True while no other replica can have become leader: we renewed within the renew deadline,
   * and a candidate waits a full lease duration (longer) after our last renewal before taking over.
   */
  holdsFreshLease(): boolean {
    return this.leading && Date.now() - this.lastRenew < this.opts.renewDeadlineMs;
  }

  start(): void {
    this.stopped = false;
    void this.tick();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), this.opts.retryPeriodMs);
  }

  private async tick(): Promise<void> {
    try {
      const ok = await this.tryAcquireOrRenew();
      if (ok) {
        this.lastRenew = Date.now();
        if (!this.leading && !this.stopped) {
          this.leading = true;
          this.log.info('became leader', { lease: `${this.opts.namespace}/${this.opts.name}`, identity: this.opts.identity });
          this.opts.onStartedLeading();
        }
      }
    } catch (err) {
      this.log.warn('lease request failed', { lease: `${this.opts.namespace}/${this.opts.name}`, error: describe(err) });
    }
    if (this.leading && Date.now() - this.lastRenew > this.opts.renewDeadlineMs) this.lose('could not renew the lease within the renew deadline');
    this.schedule();
  }

  private lose(why: string): void {
    if (!this.leading) return;
    this.leading = false;
    this.log.error('lost leadership; stopping reconciles', { lease: `${this.opts.namespace}/${this.opts.name}`, reason: why });
    this.opts.onStoppedLeading();
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity } = this.opts;
    const now = new V1MicroTime();
    const durationSeconds = Math.ceil(this.opts.leaseDurationMs / 1000);
    let lease: V1Lease;
    try {
      lease = await this.api.readNamespacedLease({ name, namespace });
    } catch (err) {
      if ((err as { code?: number }).code !== 404) throw err;
      await this.api.createNamespacedLease({
        namespace,
        body: {
          metadata: { name, namespace },
          spec: { holderIdentity: identity, leaseDurationSeconds: durationSeconds, acquireTime: now, renewTime: now, leaseTransitions: 0 },
        },
      });
      return true;
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const renewTime = spec.renewTime ? new Date(spec.renewTime).toISOString() : '';
    if (holder !== '' && holder !== identity) {
      if (!this.observed || this.observed.holder !== holder || this.observed.renewTime !== renewTime) {
        this.observed = { holder, renewTime, at: Date.now() };
      }
      const heldFor = (spec.leaseDurationSeconds ?? durationSeconds) * 1000;
      if (Date.now() - this.observed.at < heldFor) {
        if (this.leading) this.lose(`the lease is now held by ${holder}`);
        return false;
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
    await this.api.replaceNamespacedLease({ name, namespace, body: lease });
    return true;
  }

  /** Stops campaigning; a leader hands the lease back so a standby takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (!this.leading) return;
    this.leading = false;
    try {
      const lease = await this.api.readNamespacedLease({ name: this.opts.name, namespace: this.opts.namespace });
      if (lease.spec?.holderIdentity === this.opts.identity) {
        lease.spec = { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: new V1MicroTime() };
        if (lease.spec.acquireTime) lease.spec.acquireTime = new V1MicroTime(lease.spec.acquireTime);
        await this.api.replaceNamespacedLease({ name: this.opts.name, namespace: this.opts.namespace, body: lease });
        this.log.info('released the lease', { lease: `${this.opts.namespace}/${this.opts.name}` });
      }
    } catch (err) {
      this.log.warn('could not release the lease; a standby takes over when it expires', { error: describe(err) });
    }
  }
}
