// Fault injection and throttling of the emulator, without HTTP and without sleeping.

import assert from 'node:assert/strict';
import { CallLog } from '../emulator/calllog.js';
import { FaultControl } from '../emulator/faults.js';
import { Throttle, TokenBuckets } from '../emulator/throttle.js';

describe('emulator fault control', () => {
  it('consumes one-shot faults per matching operation, reset before timeout before fail', () => {
    const f = new FaultControl({ latencyMs: 0, jitterMs: 0 });
    f.set({
      failNext: { count: 2, status: 503, operation: 'UpdateRouteTable' },
      timeoutNext: { operation: 'ListPorts', ms: 10 },
      resetNext: [{ operation: 'ListPorts', apply: true }],
    });
    assert.deepEqual(f.decide('ShowRouteTable'), { kind: 'none' });
    assert.deepEqual(f.decide('ListPorts'), { kind: 'reset', apply: true });
    assert.deepEqual(f.decide('ListPorts'), { kind: 'timeout', apply: false, ms: 10 });
    assert.deepEqual(f.decide('ListPorts'), { kind: 'none' });
    assert.equal(f.decide('UpdateRouteTable').kind, 'fail');
    assert.equal(f.current().failNext[0]?.left, 1);
    assert.equal(f.decide('UpdateRouteTable').kind, 'fail');
    assert.deepEqual(f.decide('UpdateRouteTable'), { kind: 'none' });
  });

  it('applies error rates with the injected randomness; "*" covers other operations', () => {
    let r = 0.3;
    const f = new FaultControl({ latencyMs: 0, jitterMs: 0 }, () => r);
    f.set({ errorRate: { UpdateRouteTable: 0.5, '*': 0.1, status: 429 } });
    assert.deepEqual(f.decide('UpdateRouteTable'), { kind: 'fail', status: 429, source: 'errorRate' });
    assert.deepEqual(f.decide('ListPorts'), { kind: 'none' });
    r = 0.05;
    assert.equal(f.decide('ListPorts').kind, 'fail');
  });

  it('adds latency plus jitter and restores the base on clear', () => {
    const f = new FaultControl({ latencyMs: 10, jitterMs: 20 }, () => 0.5);
    assert.equal(f.nextDelayMs(), 20);
    f.set({ latencyMs: 100, jitterMs: 0 });
    assert.equal(f.nextDelayMs(), 100);
    f.clear();
    assert.equal(f.nextDelayMs(), 20);
  });

  it('rejects a bad spec without applying any of it', () => {
    const f = new FaultControl({ latencyMs: 0, jitterMs: 0 });
    assert.throws(() => f.set({ latencyMs: 5, failNext: { status: 200 } }), RangeError);
    assert.throws(() => f.set({ errorRate: { '*': 1.5 } }), RangeError);
    assert.throws(() => f.set({ resetNext: { count: 0 } }), RangeError);
    assert.throws(() => f.set({ badBodyNext: { body: 'garbled' as never } }), /badBodyNext.body must be one of/);
    assert.throws(() => f.set({ latencyMs: 5, badBodyNext: { body: 'oversized', bytes: 0 } }), RangeError);
    assert.deepEqual(f.current(), { latencyMs: 0, jitterMs: 0, failNext: [], timeoutNext: [], resetNext: [], badBodyNext: [] });
  });

  it('badBodyNext: per operation, counted, applied by default, after failNext in precedence', () => {
    const f = new FaultControl({ latencyMs: 0, jitterMs: 0 });
    f.set({ badBodyNext: [{ operation: 'ShowRouteTable', body: 'truncated', count: 2 }, { body: 'oversized', apply: false, bytes: 1000 }], failNext: { operation: 'UpdateRouteTable', status: 500 } });
    assert.deepEqual(f.decide('UpdateRouteTable'), { kind: 'fail', status: 500, source: 'failNext' });
    assert.deepEqual(f.decide('ShowRouteTable'), { kind: 'badBody', body: 'truncated', apply: true, bytes: 50_000_000 });
    assert.deepEqual(f.decide('UpdateRouteTable'), { kind: 'badBody', body: 'oversized', apply: false, bytes: 1000 });
    assert.deepEqual(f.decide('ShowRouteTable'), { kind: 'badBody', body: 'truncated', apply: true, bytes: 50_000_000 });
    assert.deepEqual(f.decide('ShowRouteTable'), { kind: 'none' });
  });
});

describe('emulator throttle', () => {
  it('token bucket: a second of burst, then refills continuously', () => {
    let now = 0;
    const b = new TokenBuckets(4, () => now);
    for (let i = 0; i < 4; i++) assert.ok(b.take('ak'));
    assert.ok(!b.take('ak'));
    assert.ok(b.take('other-ak'), 'buckets are per key');
    now += 250;
    assert.ok(b.take('ak'));
    assert.ok(!b.take('ak'));
    b.setRate(0);
    for (let i = 0; i < 100; i++) assert.ok(b.take('ak'), 'rate 0 is unlimited');
  });

  it('keeps writes and reads apart and reports the limit hit', () => {
    const t = new Throttle({ writesPerSecond: 1, readsPerSecond: 0 }, () => 0);
    assert.equal(t.check('ak', true), undefined);
    assert.equal(t.check('ak', true), 1);
    assert.equal(t.check('ak', false), undefined);
    assert.deepEqual(t.limits, { writesPerSecond: 1, readsPerSecond: 0 });
  });
});

describe('emulator call log', () => {
  it('numbers calls for the lifetime and filters by seq and operation', () => {
    const log = new CallLog();
    const base = { time: '', method: 'GET', path: '/', status: 200, latencyMs: 0, throttled: false, requestId: 'x' };
    log.add({ ...base, operation: 'A' });
    log.add({ ...base, operation: 'B' });
    assert.deepEqual(
      log.since(1).map((r) => r.operation),
      ['B'],
    );
    log.clear();
    assert.equal(log.add({ ...base, operation: 'A' }).seq, 3);
    assert.equal(log.since(0, 'B').length, 0);
    assert.equal(log.lastSeq, 3);
  });
});
