// The work queue: de-duplication, one run per key at a time, worker limit, backoff with jitter.
import assert from 'node:assert/strict';
import sinon from 'sinon';
import { WorkQueue, type QueueResult } from '../../controller/kube/workqueue.js';

interface Gate {
  promise: Promise<void>;
  open(): void;
}
function gate(): Gate {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

/** Lets queued microtasks and immediates run (real timers). */
async function settle(rounds = 10): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
}

/** Records runs per key and the largest number of concurrent runs, overall and per key. */
function recorder(body: (key: string, run: number) => Promise<QueueResult | void> = async () => undefined) {
  const runs = new Map<string, number>();
  const inFlight = new Map<string, number>();
  const stats = { maxTotal: 0, maxPerKey: 0, total: 0, current: 0 };
  const handler = async (key: string): Promise<QueueResult | void> => {
    const n = (runs.get(key) ?? 0) + 1;
    runs.set(key, n);
    inFlight.set(key, (inFlight.get(key) ?? 0) + 1);
    stats.current++;
    stats.total++;
    stats.maxTotal = Math.max(stats.maxTotal, stats.current);
    stats.maxPerKey = Math.max(stats.maxPerKey, inFlight.get(key)!);
    try {
      return await body(key, n);
    } finally {
      inFlight.set(key, inFlight.get(key)! - 1);
      stats.current--;
    }
  };
  return { runs, stats, handler };
}

describe('kube/workqueue', () => {
  const queues: WorkQueue[] = [];
  const make = (h: (key: string) => Promise<QueueResult | void>, opts: ConstructorParameters<typeof WorkQueue>[1]) => {
    const q = new WorkQueue(h, opts);
    queues.push(q);
    return q;
  };
  afterEach(async () => {
    for (const q of queues.splice(0)) await q.shutdown(0);
    sinon.restore();
  });

  it('de-duplicates: a key added 10 times while queued is processed once', async () => {
    const blocker = gate();
    const r = recorder(async (key) => {
      if (key === 'busy') await blocker.promise;
    });
    const q = make(r.handler, { workers: 1 });
    q.add('busy');
    await settle();
    for (let i = 0; i < 10; i++) q.add('x');
    assert.equal(q.depth, 1);
    blocker.open();
    await settle();
    assert.equal(r.runs.get('x'), 1);
    assert.equal(q.depth, 0);
  });

  it('a key added during its processing runs exactly once more afterwards, never concurrently', async () => {
    const first = gate();
    const r = recorder(async (_key, run) => {
      if (run === 1) await first.promise;
    });
    const q = make(r.handler, { workers: 4 });
    q.add('x');
    await settle();
    assert.equal(q.busy, 1);
    for (let i = 0; i < 5; i++) q.add('x');
    await settle();
    assert.equal(r.runs.get('x'), 1, 'not run again while running');
    first.open();
    await settle();
    assert.equal(r.runs.get('x'), 2);
    assert.equal(r.stats.maxPerKey, 1);
  });

  it('addFirst: a key goes ahead of the keys added with add(), queued or not, and once', async () => {
    const blocker = gate();
    const order: string[] = [];
    const q = make(async (key) => {
      if (key === 'busy') await blocker.promise;
      order.push(key);
    }, { workers: 1 });
    q.add('busy');
    await settle();
    for (const k of ['a', 'b', 'c']) q.add(k);
    q.addFirst('c'); // already queued: moves ahead
    q.addFirst('z'); // new: goes ahead of a and b too
    q.addFirst('z');
    assert.equal(q.depth, 4);
    blocker.open();
    await settle();
    assert.deepEqual(order, ['busy', 'c', 'z', 'a', 'b']);
  });

  it('addFirst during its own processing: runs once more, ahead of the others, never concurrently', async () => {
    const first = gate();
    const r = recorder(async (key, run) => {
      if (key === 'x' && run === 1) await first.promise;
    });
    const order: string[] = [];
    const q = make(async (key) => {
      order.push(key);
      return r.handler(key);
    }, { workers: 1 });
    q.add('x');
    await settle();
    q.add('a');
    q.addFirst('x');
    first.open();
    await settle();
    assert.deepEqual(order, ['x', 'x', 'a']);
    assert.equal(r.stats.maxPerKey, 1);
  });

  it('concurrency equals workers', async () => {
    const release = gate();
    const r = recorder(async () => {
      await release.promise;
    });
    const q = make(r.handler, { workers: 3 });
    for (let i = 0; i < 10; i++) q.add(`k${i}`);
    await settle();
    assert.equal(q.busy, 3);
    assert.equal(r.stats.current, 3);
    assert.equal(q.depth, 7);
    release.open();
    await settle();
    assert.equal(r.stats.total, 10);
    assert.equal(r.stats.maxTotal, 3);
  });

  it('never runs one key twice at once under random re-adds', async () => {
    const r = recorder(async () => {
      await new Promise((res) => setTimeout(res, Math.random() * 3));
    });
    const q = make(r.handler, { workers: 6 });
    for (let round = 0; round < 200; round++) {
      q.add(`k${round % 5}`);
      if (round % 7 === 0) await new Promise((res) => setTimeout(res, 1));
    }
    while (q.depth > 0 || q.busy > 0) await new Promise((res) => setTimeout(res, 2));
    assert.equal(r.stats.maxPerKey, 1);
    assert.ok(r.stats.maxTotal <= 5);
  });

  it('requeueAfterMs 0 does not let one key run twice at once', async () => {
    // The key is re-added synchronously inside its own completion (addAfter(key, 0) → add):
    // it must still be scheduled only once.
    const other = gate();
    const second = gate();
    const r = recorder(async (key, run) => {
      if (key === 'other') await other.promise;
      if (key === 'x' && run === 1) return { requeueAfterMs: 0 };
      if (key === 'x' && run === 2) await second.promise;
    });
    const q = make(r.handler, { workers: 2 });
    q.add('other'); // holds one worker
    await settle();
    q.add('x');
    await settle();
    assert.equal(r.runs.get('x'), 2, 'the requeue ran');
    q.add('x'); // added during run 2
    other.open(); // frees the second worker
    await settle();
    second.open();
    await settle();
    assert.equal(r.stats.maxPerKey, 1, 'two runs of x overlapped');
    assert.equal(r.runs.get('x'), 3);
  });

  describe('backoff (fake timers)', () => {
    let clock: sinon.SinonFakeTimers;
    beforeEach(() => {
      clock = sinon.useFakeTimers({ now: 1_000_000 });
    });
    afterEach(() => clock.restore());

    it('exponential delays within the jitter bounds, capped at maxDelayMs', () => {
      const q = make(async () => undefined, { workers: 1, baseDelayMs: 100, maxDelayMs: 1000, jitter: 0.2 });
      const random = sinon.stub(Math, 'random');
      random.returns(0);
      assert.equal(q.nextBackoff('a'), 80);
      assert.equal(q.nextBackoff('a'), 160);
      random.returns(0.5);
      assert.equal(q.nextBackoff('a'), 400);
      random.returns(0.9999999);
      const d = q.nextBackoff('a');
      assert.ok(d > 959 && d <= 960, `4th failure: ${d}`);
      assert.equal(q.nextBackoff('a'), 1000, 'capped');
      assert.equal(q.nextBackoff('a'), 1000);
      assert.equal(q.failuresOf('a'), 6);
      assert.equal(q.failuresOf('b'), 0);
      random.restore();
      for (let i = 0; i < 200; i++) {
        const fresh = make(async () => undefined, { workers: 1, baseDelayMs: 100, jitter: 0.2 });
        const v = fresh.nextBackoff('z');
        assert.ok(v >= 80 && v <= 120, `first delay ${v} outside [80, 120]`);
      }
    });

    it('a failed key is retried after its backoff; success resets the backoff', async () => {
      sinon.stub(Math, 'random').returns(0); // lower jitter bound: delay = base·(1 − jitter)
      let fail = 2;
      const onRetry = sinon.spy();
      const r = recorder(async () => {
        if (fail-- > 0) throw new Error('boom');
      });
      const q = make(r.handler, { workers: 1, baseDelayMs: 100, jitter: 0.2, onRetry });
      q.add('x');
      await clock.tickAsync(0);
      assert.equal(r.runs.get('x'), 1);
      assert.equal(q.failuresOf('x'), 1);
      await clock.tickAsync(79);
      assert.equal(r.runs.get('x'), 1, 'not before 80 ms');
      await clock.tickAsync(1);
      assert.equal(r.runs.get('x'), 2);
      assert.equal(q.failuresOf('x'), 2);
      await clock.tickAsync(159);
      assert.equal(r.runs.get('x'), 2, 'second backoff is 160 ms');
      await clock.tickAsync(1);
      assert.equal(r.runs.get('x'), 3);
      assert.equal(q.failuresOf('x'), 0, 'success resets');
      assert.equal(onRetry.callCount, 2);
      await clock.tickAsync(10_000);
      assert.equal(r.runs.get('x'), 3, 'no more runs after success');
    });

    it('honours minRetryDelayMs from the error', async () => {
      sinon.stub(Math, 'random').returns(0);
      let fail = true;
      const r = recorder(async () => {
        if (fail) {
          fail = false;
          throw Object.assign(new Error('throttled'), { minRetryDelayMs: 2000 });
        }
      });
      const q = make(r.handler, { workers: 1, baseDelayMs: 100 });
      q.add('x');
      await clock.tickAsync(1999);
      assert.equal(r.runs.get('x'), 1, 'not before minRetryDelayMs');
      await clock.tickAsync(1);
      assert.equal(r.runs.get('x'), 2);
    });

    it('minRetryDelayMs gets jitter upwards only', () => {
      const q = make(async () => undefined, { workers: 1, baseDelayMs: 10, jitter: 0.2 });
      for (let i = 0; i < 100; i++) {
        q.forget('k');
        const d = q.nextBackoff('k', 2000);
        assert.ok(d >= 2000 && d <= 2400, `${d}`);
      }
    });

    it('requeueAfterMs runs the key again after that delay', async () => {
      const r = recorder(async (_k, run) => (run === 1 ? { requeueAfterMs: 5000 } : undefined));
      const q = make(r.handler, { workers: 1 });
      q.add('x');
      await clock.tickAsync(4999);
      assert.equal(r.runs.get('x'), 1);
      await clock.tickAsync(1);
      assert.equal(r.runs.get('x'), 2);
      await clock.tickAsync(60_000);
      assert.equal(r.runs.get('x'), 2);
    });

    it('addAfter: the sooner of two pending delays wins', async () => {
      const r = recorder();
      const q = make(r.handler, { workers: 1 });
      q.addAfter('x', 300_000); // e.g. a resync requeue
      q.addAfter('x', 2000); // e.g. a retry after throttling
      await clock.tickAsync(2000);
      assert.equal(r.runs.get('x'), 1, 'the 2 s retry waited for the 5 min requeue');
    });

    it('addAfter does not add a second timer for a key', async () => {
      const r = recorder();
      const q = make(r.handler, { workers: 1 });
      q.addAfter('x', 100);
      q.addAfter('x', 200);
      await clock.tickAsync(1000);
      assert.equal(r.runs.get('x'), 1);
    });

    it('shutdown stops taking work, clears pending retries and waits for the runs in progress', async () => {
      const release = gate();
      const r = recorder(async (key) => {
        if (key === 'running') await release.promise;
        if (key === 'failing') throw new Error('x');
      });
      const q = make(r.handler, { workers: 1, baseDelayMs: 100 });
      q.add('failing');
      await clock.tickAsync(0);
      assert.equal(q.failuresOf('failing'), 1);
      q.add('running');
      await clock.tickAsync(0);
      q.add('queued');
      let done = false;
      const stopped = q.shutdown(60_000).then(() => (done = true));
      await clock.tickAsync(0);
      assert.equal(done, false, 'waits for the run in progress');
      q.add('late');
      release.open();
      await clock.tickAsync(0);
      await stopped;
      await clock.tickAsync(10_000);
      assert.equal(r.runs.get('queued'), undefined);
      assert.equal(r.runs.get('late'), undefined);
      assert.equal(r.runs.get('failing'), 1, 'the pending retry was dropped');
      assert.equal(r.runs.get('running'), 1);
    });

    it('shutdown gives up waiting after the grace period', async () => {
      const r = recorder(() => new Promise<void>(() => undefined)); // never finishes
      const q = make(r.handler, { workers: 1 });
      q.add('stuck');
      await clock.tickAsync(0);
      let done = false;
      void q.shutdown(500).then(() => (done = true));
      await clock.tickAsync(499);
      assert.equal(done, false);
      await clock.tickAsync(1);
      assert.equal(done, true);
    });
  });
});
