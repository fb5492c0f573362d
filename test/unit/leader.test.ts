// LeaderElector on an injected clock and an in-memory Lease API whose requests can be delayed or
// hang (a frozen API-server connection): the renew deadline is enforced by its own timer,
// counted from when the renew was sent, hung requests are aborted, and a successor never leads
// while the old leader still holds a fresh lease.
import assert from 'node:assert/strict';
import sinon from 'sinon';
import type { V1Lease } from '@kubernetes/client-node';
import { LeaderElector, type LeaseClient } from '../../controller/kube/leader.js';
import { silentLogger } from '../../controller/logger.js';

/** One Lease object shared by the replicas, with resourceVersion compare-and-swap like the API server. */
class LeaseStore {
  lease?: V1Lease;
  private rv = 0;

  get(): V1Lease {
    if (!this.lease) throw Object.assign(new Error('not found'), { code: 404 });
    return structuredClone(this.lease);
  }

  put(body: V1Lease, create: boolean): V1Lease {
    if (create && this.lease) throw Object.assign(new Error('exists'), { code: 409 });
    if (!create && body.metadata?.resourceVersion !== this.lease?.metadata?.resourceVersion) throw Object.assign(new Error('conflict'), { code: 409 });
    this.lease = { ...structuredClone(body), metadata: { ...body.metadata, resourceVersion: String(++this.rv) } };
    return structuredClone(this.lease);
  }
}

/** One replica's connection to the store: answers after `latencyMs`, or never while frozen. */
class Connection implements LeaseClient {
  latencyMs = 0;
  frozen = false;
  sent = 0;
  aborted = 0;
  /** When the last write (create/replace) that got its answer had been sent. */
  lastAnsweredWriteSentAt?: number;

  constructor(
    private readonly store: LeaseStore,
    private readonly now: () => number,
  ) {}

  private answer<T>(signal: AbortSignal, fn: () => T, write = false): Promise<T> {
    this.sent++;
    const sentAt = this.now();
    return new Promise<T>((resolve, reject) => {
      const onAbort = (): void => {
        this.aborted++;
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      setTimeout(() => {
        if (this.frozen) return; // the bytes never arrive; only the abort ends the request
        signal.removeEventListener('abort', onAbort);
        try {
          resolve(fn());
          if (write) this.lastAnsweredWriteSentAt = sentAt;
        } catch (err) {
          reject(err);
        }
      }, this.latencyMs);
    });
  }

  read(_name: string, _namespace: string, signal: AbortSignal): Promise<V1Lease> {
    return this.answer(signal, () => this.store.get());
  }

  create(_namespace: string, body: V1Lease, signal: AbortSignal): Promise<V1Lease> {
    return this.answer(signal, () => this.store.put(body, true), true);
  }

  replace(_name: string, _namespace: string, body: V1Lease, signal: AbortSignal): Promise<V1Lease> {
    return this.answer(signal, () => this.store.put(body, false), true);
  }
}

const TIMING = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

describe('LeaderElector (injected clock, in-memory Lease API)', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: 1_000_000, toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
  });
  afterEach(() => clock.restore());

  function replica(store: LeaseStore, identity: string) {
    const conn = new Connection(store, () => clock.now);
    const events: { what: 'started' | 'stopped'; at: number }[] = [];
    const elector = new LeaderElector(
      undefined,
      {
        namespace: 'default',
        name: 'hostnet-controller-default',
        identity,
        ...TIMING,
        onStartedLeading: () => events.push({ what: 'started', at: clock.now }),
        onStoppedLeading: () => events.push({ what: 'stopped', at: clock.now }),
      },
      silentLogger(),
      { leases: conn, now: () => clock.now },
    );
    return { conn, events, elector };
  }

  it('a renew that hangs: leadership ends exactly at the renew deadline counted from when the last renew was SENT, and the hung request is aborted', async () => {
    const store = new LeaseStore();
    const a = replica(store, 'a');
    a.conn.latencyMs = 1500; // every answer takes 1.5 s: "sent" and "returned" differ
    a.elector.start();
    await clock.tickAsync(1500 + 1500); // read (404) then create
    assert.equal(a.elector.isLeader, true);
    assert.equal(a.events.length, 1);
    // A few renews, each answered 1.5 s after it was sent.
    await clock.tickAsync(3 * TIMING.retryPeriodMs);
    assert.equal(store.lease?.spec?.holderIdentity, 'a');
    assert.equal(a.elector.holdsFreshLease(), true);

    // The connection freezes: whatever is in flight and whatever is sent next never returns.
    a.conn.frozen = true;
    const lastSent = a.conn.lastAnsweredWriteSentAt!;
    const abortedBefore = a.conn.aborted;
    const deadline = lastSent + TIMING.renewDeadlineMs;
    assert.ok(deadline > clock.now + 1, 'the deadline is ahead');
    await clock.tickAsync(deadline - 1 - clock.now);
    assert.equal(a.elector.holdsFreshLease(), true, 'fresh until 1 ms before the deadline');
    assert.equal(a.events.length, 1, 'still leading');
    await clock.tickAsync(1);
    assert.equal(a.elector.holdsFreshLease(), false, 'not fresh at the deadline (counted from the send, not from the answer 1.5 s later)');
    assert.equal(a.elector.isLeader, false);
    assert.deepEqual(a.events[1], { what: 'stopped', at: deadline }, 'stopped by its own timer at the deadline while the request still hangs');
    assert.equal(a.conn.aborted, abortedBefore + 1, 'the hung renew was aborted');

    // Lost is lost: the process exits, it does not campaign again.
    a.conn.frozen = false;
    const sent = a.conn.sent;
    await clock.tickAsync(60_000);
    assert.equal(a.conn.sent, sent, 'no lease request after losing leadership');
    assert.equal(a.events.length, 2);
  });

  it('the leader frozen, a standby working: the standby starts leading only after the old leader stopped and no longer holds a fresh lease', async () => {
    const store = new LeaseStore();
    const a = replica(store, 'a');
    const b = replica(store, 'b');
    a.conn.latencyMs = b.conn.latencyMs = 20;
    a.elector.start();
    await clock.tickAsync(100);
    b.elector.start();
    await clock.tickAsync(10_000);
    assert.equal(a.elector.isLeader, true);
    assert.equal(b.elector.isLeader, false);

    a.conn.frozen = true;
    const freshAtStart: boolean[] = [];
    // Ask at the moment the standby is told it leads.
    const started = b.events.length;
    for (let t = 0; t < 40_000 && b.events.length === started; t += 50) {
      await clock.tickAsync(50);
      if (b.events.length > started) freshAtStart.push(a.elector.holdsFreshLease());
    }
    const bStart = b.events.find((e) => e.what === 'started');
    const aStop = a.events.find((e) => e.what === 'stopped');
    assert.ok(bStart, 'b took over');
    assert.ok(aStop, 'a stopped leading');
    assert.ok(aStop.at < bStart.at, `a stopped (${aStop.at}) before b started (${bStart.at})`);
    assert.deepEqual(freshAtStart, [false], 'a did not hold a fresh lease when b started');
    // a's last renew was sent at s: a stops at s + renewDeadline, b waits leaseDuration from
    // when it saw that renew (after s).
    assert.ok(bStart.at - aStop.at >= TIMING.leaseDurationMs - TIMING.renewDeadlineMs, `at least leaseDuration - renewDeadline between them (${bStart.at - aStop.at} ms)`);
  });

  it('stop() while the connection is frozen: the lease release is bounded by the renew deadline', async () => {
    const store = new LeaseStore();
    const a = replica(store, 'a');
    a.elector.start();
    await clock.tickAsync(10);
    assert.equal(a.elector.isLeader, true);
    a.conn.frozen = true;
    let stopped = false;
    void a.elector.stop().then(() => (stopped = true));
    await clock.tickAsync(TIMING.renewDeadlineMs - 1);
    assert.equal(stopped, false);
    await clock.tickAsync(1);
    assert.equal(stopped, true, 'stop() returned once the release request was aborted');
  });
});
