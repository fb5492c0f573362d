import assert from 'node:assert/strict';
import sinon from 'sinon';
import { TokenBucket } from '../../controller/provider/ratelimit.js';

describe('huawei: token bucket rate limiter', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => clock.restore());

  function track(p: Promise<void>, done: number[], i: number): void {
    void p.then(() => done.push(i));
  }

  it('lets a burst through at once, then qps per second, in order', async () => {
    const tb = new TokenBucket({ qps: 2, burst: 3 });
    const done: number[] = [];
    for (let i = 0; i < 7; i++) track(tb.acquire(), done, i);
    await clock.tickAsync(0);
    assert.deepEqual(done, [0, 1, 2]);
    assert.equal(tb.pending, 4);
    await clock.tickAsync(499);
    assert.deepEqual(done, [0, 1, 2]);
    await clock.tickAsync(1);
    assert.deepEqual(done, [0, 1, 2, 3]);
    await clock.tickAsync(500);
    assert.deepEqual(done, [0, 1, 2, 3, 4]);
    await clock.tickAsync(1000);
    assert.deepEqual(done, [0, 1, 2, 3, 4, 5, 6]);
    assert.equal(tb.pending, 0);
  });

  it('refills up to the burst while idle, never beyond', async () => {
    const tb = new TokenBucket({ qps: 10, burst: 2 });
    assert.ok(tb.tryAcquire());
    assert.ok(tb.tryAcquire());
    assert.ok(!tb.tryAcquire());
    await clock.tickAsync(60_000);
    assert.ok(tb.tryAcquire());
    assert.ok(tb.tryAcquire());
    assert.ok(!tb.tryAcquire());
  });

  it('never drops: 50 callers all get through, at the configured pace', async () => {
    const tb = new TokenBucket({ qps: 5, burst: 5 });
    const done: number[] = [];
    for (let i = 0; i < 50; i++) track(tb.acquire(), done, i);
    await clock.tickAsync(0);
    assert.equal(done.length, 5);
    await clock.tickAsync(4000);
    assert.equal(done.length, 25);
    await clock.tickAsync(5000);
    assert.equal(done.length, 50);
    assert.deepEqual(
      done,
      Array.from({ length: 50 }, (_, i) => i),
    );
  });

  it('a caller arriving later does not jump the queue', async () => {
    const tb = new TokenBucket({ qps: 1, burst: 1 });
    const done: number[] = [];
    track(tb.acquire(), done, 0);
    track(tb.acquire(), done, 1);
    await clock.tickAsync(1000);
    assert.ok(!tb.tryAcquire(), 'tryAcquire must not take a token while someone waits or none is free');
    track(tb.acquire(), done, 2);
    await clock.tickAsync(1000);
    assert.deepEqual(done, [0, 1, 2]);
  });

  it('an aborted waiter leaves the queue', async () => {
    const tb = new TokenBucket({ qps: 1, burst: 1 });
    await tb.acquire();
    const ac = new AbortController();
    const p = tb.acquire(ac.signal);
    const done: number[] = [];
    track(tb.acquire(), done, 1);
    ac.abort(new Error('stop'));
    await assert.rejects(p, /stop/);
    await clock.tickAsync(1000);
    assert.deepEqual(done, [1]);
  });

  it('qps 0 disables limiting; bad options are rejected', async () => {
    const tb = new TokenBucket({ qps: 0, burst: 1 });
    for (let i = 0; i < 100; i++) await tb.acquire();
    assert.throws(() => new TokenBucket({ qps: -1, burst: 1 }), RangeError);
    assert.throws(() => new TokenBucket({ qps: 1, burst: 0 }), RangeError);
    assert.throws(() => new TokenBucket({ qps: Number.NaN, burst: 1 }), RangeError);
  });
});
