// The Event recorder against the real kube-apiserver: the per-object budget (spam filter) caps
// what one HostNetwork can post, repeats are aggregated, and nothing is kept about an object
// after forget() once its Events are out.
import assert from 'node:assert/strict';
import type { KubeConfig } from '@kubernetes/client-node';
import { EventReason } from '../../controller/api/conditions.js';
import type { HostNetwork } from '../../controller/api/types.js';
import { EventRecorder } from '../../controller/kube/events.js';
import { silentLogger } from '../../controller/logger.js';
import { freshCluster } from '../helpers/controller.js';
import { resetCluster, waitFor } from '../helpers/kube.js';
import { ECS1, createHn, eventsFor, hostNetwork } from '../helpers/invariants.js';

describe('kube/events: EventRecorder (real API server)', function () {
  this.timeout(60_000);
  let kc: KubeConfig;

  before(async () => {
    ({ kc } = await freshCluster());
  });

  after(async () => {
    await resetCluster(kc);
  });

  it('a burst of 25 per object goes out, the rest is dropped until the budget refills; other objects are not affected', async () => {
    let now = Date.now();
    const dropped: string[] = [];
    const rec = new EventRecorder(kc, 'default', 'hostnet-controller', 'test', silentLogger(), {
      spam: { burst: 25, refillMs: 300_000 },
      now: () => now,
      onDropped: (reason) => dropped.push(reason),
    });
    const noisy = await createHn(kc, hostNetwork('spam-noisy', { instanceID: ECS1 }));
    const quiet = await createHn(kc, hostNetwork('spam-quiet', { instanceID: ECS1 }));
    for (let i = 0; i < 40; i++) rec.emit(noisy, 'Warning', EventReason.CloudError, `failure number ${i}`);
    for (let i = 0; i < 3; i++) rec.emit(quiet, 'Normal', EventReason.RouteProgrammed, `event ${i}`);
    await rec.flush(20_000);
    const noisyEvents = await eventsFor(kc, noisy);
    assert.equal(noisyEvents.length, 25);
    assert.deepEqual(noisyEvents.map((e) => e.message).sort(), Array.from({ length: 25 }, (_, i) => `failure number ${i}`).sort(), 'the first 25 went out');
    assert.equal((await eventsFor(kc, quiet)).length, 3);
    assert.equal(rec.debugState().filtered, 15);
    assert.deepEqual(dropped, Array<string>(15).fill('spam'), 'each dropped Event is counted (hostnet_events_dropped_total)');

    // Two refill intervals later: two more.
    now += 2 * 300_000;
    for (let i = 40; i < 45; i++) rec.emit(noisy, 'Warning', EventReason.CloudError, `failure number ${i}`);
    await rec.flush(20_000);
    const after = await eventsFor(kc, noisy);
    assert.deepEqual(after.map((e) => e.message).filter((m) => !noisyEvents.some((e) => e.message === m)).sort(), ['failure number 40', 'failure number 41']);
  });

  it('a repeat within 10 minutes bumps the count of the same Event (and spends budget too)', async () => {
    const rec = new EventRecorder(kc, 'default', 'hostnet-controller', 'test', silentLogger(), { spam: { burst: 5, refillMs: 300_000 } });
    const hn = await createHn(kc, hostNetwork('spam-repeat', { instanceID: ECS1 }));
    for (let i = 0; i < 8; i++) {
      rec.emit(hn, 'Warning', EventReason.PoolExhausted, 'Every block of the pool is in use');
      await rec.flush(10_000); // one at a time: the repeat needs the first one's name
    }
    const evs = await waitFor('the aggregated Event', async () => {
      const e = await eventsFor(kc, hn);
      return e.length === 1 && e[0]!.count === 5 ? e : undefined;
    }, 10_000);
    // (One Event counting 5 is what the wait waited for.) It is the Event that was repeated.
    assert.equal(evs[0]!.reason, EventReason.PoolExhausted);
    assert.equal(evs[0]!.type, 'Warning');
    assert.equal(evs[0]!.message, 'Every block of the pool is in use');
    assert.equal(rec.debugState().filtered, 3, 'the 3 repeats beyond the budget were dropped, not counted');
  });

  it('forget(): nothing is kept about a gone object once its Events are written', async () => {
    const pending: number[] = [];
    const rec = new EventRecorder(kc, 'default', 'hostnet-controller', 'test', silentLogger(), { onPending: (n) => pending.push(n) });
    const hosts: HostNetwork[] = [];
    for (let i = 0; i < 10; i++) hosts.push(await createHn(kc, hostNetwork(`forget-${i}`, { instanceID: ECS1 })));
    for (const h of hosts) rec.emit(h, 'Normal', EventReason.CIDRAllocated, 'Block allocated');
    // Forgotten while the writes may still be queued: they still go out.
    for (const h of hosts.slice(0, 6)) {
      rec.emit(h, 'Normal', EventReason.CIDRReleased, 'Released');
      rec.forget(h);
    }
    await rec.flush(20_000);
    for (const h of hosts.slice(0, 6)) assert.deepEqual((await eventsFor(kc, h)).map((e) => e.reason).sort(), ['CIDRAllocated', 'CIDRReleased']);
    const s = rec.debugState();
    assert.equal(s.pending, 0);
    assert.equal(Math.max(...pending), 16, 'the gauge saw all 16 Events waiting');
    assert.equal(pending.at(-1), 0, 'and the queue empty at the end (hostnet_events_pending)');
    assert.equal(s.objects, 4, 'only the 4 hosts still there are remembered (for the repeat count)');
    assert.equal(s.spamBuckets, 4);
  });
});
