// One route table's batching writer over the in-memory cloud: coalescing, no overlapping calls,
// migrations as modifications, quota, isolation of refused changes, throttling, drift.
import assert from 'node:assert/strict';
import sinon from 'sinon';
import { containsCidr, formatCidr, parseCidr } from '../../controller/cidr.js';
import { CloudError } from '../../controller/provider/errors.js';
import { MemoryCode, MemoryProvider } from '../../controller/provider/memory.js';
import { describeRouteOutcome } from '../../controller/route-messages.js';
import type { RouteBatch, RouteSpec } from '../../controller/provider/provider.js';
import { isOwnedBy, markFor } from '../../controller/routes/marks.js';
import { CloudGate, RouteTable, type TableOptions } from '../../controller/routes/table.js';
import { RouteTableSet } from '../../controller/routes/tableset.js';
import { waitFor } from '../helpers/kube.js';

const ID = 'ut';
const POOL = parseCidr('10.0.0.0/16')!;
const blockN = (i: number) => formatCidr({ base: POOL.base + i * 256, prefix: 24 });
const spec = (owner: string, dest: string, nexthop: string): RouteSpec => ({ destination: dest, nexthop, description: markFor(ID, owner) });

function options(extra: Partial<TableOptions> = {}): TableOptions {
  return {
    capacity: 200,
    batchWindowMs: 2,
    isOwned: (r) => r.kind === 'host' && isOwnedBy(ID, r.description),
    inPool: (d) => {
      const c = parseCidr(d, false);
      return c !== undefined && containsCidr(POOL, c);
    },
    gate: new CloudGate(),
    ...extra,
  };
}

function servers(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `i-${i}`);
}

/** Wraps applyRoutes to record the largest number of calls in flight at once. */
function trackConcurrency(p: MemoryProvider): { max: number; batches: RouteBatch[] } {
  const stats = { max: 0, batches: [] as RouteBatch[] };
  let inFlight = 0;
  const orig = p.applyRoutes.bind(p);
  p.applyRoutes = async (id, batch) => {
    inFlight++;
    stats.max = Math.max(stats.max, inFlight);
    stats.batches.push(batch);
    try {
      await orig(id, batch);
    } finally {
      inFlight--;
    }
  };
  return stats;
}

const updates = (p: MemoryProvider) => p.calls.filter((c) => c.operation === 'routes.apply');

describe('routes/table (MemoryProvider)', () => {
  it('coalesces N hosts set at once into ONE routes.apply call', async () => {
    const p = new MemoryProvider({ servers: servers(100) });
    const t = new RouteTable('rtb-1', p, options());
    await t.refresh();
    for (let i = 0; i < 100; i++) t.set(`h${i}`, spec(`h${i}`, blockN(i), `i-${i}`));
    await Promise.all(Array.from({ length: 100 }, () => t.flush()));
    assert.deepEqual(
      updates(p).map((c) => [c.add, c.mod, c.del, c.ok]),
      [[100, 0, 0, true]],
    );
    assert.equal(p.tables.get('rtb-1')!.size, 100);
    for (let i = 0; i < 100; i++) assert.equal(t.outcome(`h${i}`).state, 'Programmed');
  });

  it('reads the table first when it was never read, then writes once', async () => {
    const p = new MemoryProvider({ servers: servers(3) });
    const t = new RouteTable('rtb-1', p, options());
    for (let i = 0; i < 3; i++) t.set(`h${i}`, spec(`h${i}`, blockN(i), `i-${i}`));
    await t.flush();
    assert.deepEqual(
      p.calls.map((c) => c.operation),
      ['routes.list', 'routes.apply'],
    );
  });

  it('changes wanted while a call is in flight go out together in the next call; calls never overlap', async () => {
    const p = new MemoryProvider({ servers: servers(60) });
    p.latencyMs = 15;
    const stats = trackConcurrency(p);
    const t = new RouteTable('rtb-1', p, options({ batchWindowMs: 1 }));
    await t.refresh();
    t.set('h0', spec('h0', blockN(0), 'i-0'));
    const first = t.flush();
    // Once the first call has started, want 59 more while it is in flight (15 ms).
    await waitFor('the first routes.apply in flight', async () => stats.batches.length === 1, 5_000, 1);
    const rest: Promise<void>[] = [];
    for (let i = 1; i < 60; i++) {
      t.set(`h${i}`, spec(`h${i}`, blockN(i), `i-${i}`));
      rest.push(t.flush());
    }
    await Promise.all([first, ...rest]);
    assert.equal(stats.max, 1, 'two routes.apply calls to one table overlapped');
    assert.deepEqual(
      updates(p).map((c) => c.add),
      [1, 59],
    );
  });

  it('never overlaps calls under a storm of set/flush from many hosts', async () => {
    const p = new MemoryProvider({ servers: servers(80) });
    p.latencyMs = 3;
    const stats = trackConcurrency(p);
    const t = new RouteTable('rtb-1', p, options({ batchWindowMs: 0 }));
    const work: Promise<void>[] = [];
    for (let i = 0; i < 80; i++) {
      work.push(
        (async () => {
          await new Promise((r) => setTimeout(r, (i * 7) % 23));
          t.set(`h${i}`, spec(`h${i}`, blockN(i), `i-${i}`));
          await t.flush();
          if (i % 3 === 0) {
            t.set(`h${i}`, spec(`h${i}`, blockN(i), `i-${(i + 1) % 80}`));
            await t.flush();
          }
          if (i % 5 === 0) {
            t.unset(`h${i}`);
            await t.flush();
          }
        })(),
      );
    }
    await Promise.all(work);
    assert.equal(stats.max, 1);
    assert.ok(updates(p).length < 80 * 2, `${updates(p).length} calls: changes were not batched`);
    const cloud = p.tables.get('rtb-1')!;
    for (let i = 0; i < 80; i++) {
      const r = cloud.get(blockN(i));
      if (i % 5 === 0) assert.equal(r, undefined, `h${i} was unset`);
      else assert.equal(r?.nexthop, i % 3 === 0 ? `i-${(i + 1) % 80}` : `i-${i}`, `h${i}`);
    }
  });

  it('a migration (new next hop for the same block) is one mod, not del+add', async () => {
    const p = new MemoryProvider({ servers: ['i-a', 'i-b'] });
    const t = new RouteTable('rtb-1', p, options());
    t.set('h', spec('h', blockN(5), 'i-a'));
    await t.flush();
    t.set('h', spec('h', blockN(5), 'i-b'));
    await t.flush();
    const last = updates(p).at(-1)!;
    assert.deepEqual([last.add, last.mod, last.del], [0, 1, 0]);
    assert.equal(p.tables.get('rtb-1')!.get(blockN(5))!.nexthop, 'i-b');
    assert.equal(t.outcome('h').state, 'Programmed');
  });

  it('a host moving to another block: the old route is deleted and the new one added in one call', async () => {
    const p = new MemoryProvider({ servers: ['i-a'] });
    const t = new RouteTable('rtb-1', p, options());
    t.set('h', spec('h', blockN(1), 'i-a'));
    await t.flush();
    t.set('h', spec('h', blockN(2), 'i-a'));
    await t.flush();
    const last = updates(p).at(-1)!;
    assert.deepEqual([last.add, last.mod, last.del], [1, 0, 1]);
    assert.deepEqual([...p.tables.get('rtb-1')!.keys()], [blockN(2)]);
  });

  it('a foreign route on the destination: outcome Conflict, nothing sent', async () => {
    const p = new MemoryProvider({ servers: ['i-a'] });
    p.tables.get('rtb-1')!.set(blockN(3), { destination: blockN(3), kind: 'host', nexthop: 'i-other', description: 'by hand' });
    const t = new RouteTable('rtb-1', p, options());
    t.set('h', spec('h', blockN(3), 'i-a'));
    await t.flush();
    const o = t.outcome('h');
    assert.equal(o.state, 'Conflict');
    const text = describeRouteOutcome('rtb-1', blockN(3), o)!;
    assert.match(text, /10\.0\.3\.0\/24/);
    assert.match(text, /i-other/);
    assert.equal(updates(p).length, 0);
    assert.equal(p.tables.get('rtb-1')!.get(blockN(3))!.nexthop, 'i-other');
  });

  describe('quota', () => {
    it('capacity 200, 250 wanted: 200 added in ONE call, 50 QuotaExceeded, no extra call; room is used when it appears', async () => {
      const p = new MemoryProvider({ servers: servers(250), quota: 200 });
      const room = sinon.spy();
      const t = new RouteTable('rtb-1', p, options({ capacity: 200, onRoom: room }));
      await t.refresh();
      for (let i = 0; i < 250; i++) t.set(`h${i}`, spec(`h${i}`, blockN(i), `i-${i}`));
      await t.flush();
      assert.deepEqual(
        updates(p).map((c) => [c.add, c.ok]),
        [[200, true]],
      );
      const states = Array.from({ length: 250 }, (_, i) => t.outcome(`h${i}`).state);
      assert.equal(states.filter((s) => s === 'Programmed').length, 200);
      assert.equal(states.filter((s) => s === 'QuotaExceeded').length, 50);
      assert.deepEqual(states.slice(200), Array(50).fill('QuotaExceeded'), 'first come, first served');
      assert.match(describeRouteOutcome('rtb-1', blockN(249), t.outcome('h249'))!, /full \(200 of 200 routes\)/);

      // A second flush with nothing new to do must not call the cloud.
      await t.flush();
      assert.equal(updates(p).length, 1);

      // Ten hosts leave: their deletes and ten waiting adds go out together.
      for (let i = 0; i < 10; i++) t.unset(`h${i}`);
      await t.flush();
      assert.deepEqual(
        updates(p).slice(1).map((c) => [c.add, c.del, c.ok]),
        [[10, 10, true]],
      );
      assert.equal(p.tables.get('rtb-1')!.size, 200);
      assert.equal(t.outcome('h200').state, 'Programmed');
      assert.equal(t.outcome('h210').state, 'QuotaExceeded');
      assert.equal(room.callCount, 1);
      assert.equal(room.firstCall.args[0].length, 40, 'the hosts still waiting are told');
    });

    it('a cloud quota lower than the configured capacity is learned by splitting', async () => {
      const p = new MemoryProvider({ servers: servers(200), quota: 150 });
      const t = new RouteTable('rtb-1', p, options({ capacity: 200 }));
      await t.refresh();
      for (let i = 0; i < 200; i++) t.set(`h${i}`, spec(`h${i}`, blockN(i), `i-${i}`));
      await t.flush();
      assert.equal(p.tables.get('rtb-1')!.size, 150);
      assert.equal(t.capacityKnown, 150);
      const states = Array.from({ length: 200 }, (_, i) => t.outcome(`h${i}`).state);
      assert.equal(states.filter((s) => s === 'Programmed').length, 150);
      assert.equal(states.filter((s) => s === 'QuotaExceeded').length, 50);
      assert.ok(!states.includes('Error'), 'a quota refusal is not reported as an error');
      // Once learned, no call is wasted on routes that cannot fit.
      const before = updates(p).length;
      t.set('late', spec('late', blockN(250), 'i-0'));
      await t.flush();
      assert.equal(updates(p).length, before);
      assert.equal(t.outcome('late').state, 'QuotaExceeded');
    });

    it('learning a lower quota does not send every remaining route on its own (call count)', async () => {
      const p = new MemoryProvider({ servers: servers(200), quota: 150 });
      const t = new RouteTable('rtb-1', p, options({ capacity: 200 }));
      await t.refresh();
      for (let i = 0; i < 200; i++) t.set(`h${i}`, spec(`h${i}`, blockN(i), `i-${i}`));
      await t.flush();
      // Bisection needs about 2·log2(200) ≈ 16 calls to find the limit; afterwards the routes that
      // do not fit should wait, not be tried one by one.
      assert.ok(updates(p).length <= 20, `${updates(p).length} routes.apply calls for 200 routes against a quota of 150`);
    });
  });

  it('a final error for one route in a batch of many is isolated by bisecting; the rest are programmed', async () => {
    const p = new MemoryProvider({ servers: servers(40) });
    const t = new RouteTable('rtb-1', p, options());
    await t.refresh();
    for (let i = 0; i < 40; i++) t.set(`h${i}`, spec(`h${i}`, blockN(i), i === 17 ? 'i-ghost' : `i-${i}`));
    await t.flush();
    for (let i = 0; i < 40; i++) {
      const o = t.outcome(`h${i}`);
      if (i === 17) {
        assert.equal(o.state, 'Error');
        assert.equal(o.error?.code, MemoryCode.nexthopNotFound);
        assert.match(describeRouteOutcome('rtb-1', blockN(17), o)!, /i-ghost is not a server/);
      } else {
        assert.equal(o.state, 'Programmed', `h${i}`);
      }
    }
    assert.equal(p.tables.get('rtb-1')!.size, 39);
    const calls = updates(p);
    assert.ok(calls.length <= 2 * Math.ceil(Math.log2(40)) + 1, `${calls.length} calls`);

    // The refused route is not resent until its spec changes.
    const n = calls.length;
    await t.flush();
    assert.equal(updates(p).length, n);
    t.set('h17', spec('h17', blockN(17), 'i-17'));
    await t.flush();
    assert.equal(updates(p).length, n + 1);
    assert.equal(t.outcome('h17').state, 'Programmed');
  });

  it('a throttled call leaves outcome Error (retryable) and holds the shared gate for at least 2 s', async () => {
    const clock = sinon.useFakeTimers({ now: 1_000_000 });
    try {
      const p = new MemoryProvider({ servers: ['i-a', 'i-b'] });
      const gate = new CloudGate();
      const t = new RouteTable('rtb-1', p, options({ gate }));
      const refreshed = t.refresh();
      await clock.tickAsync(0);
      await refreshed;
      const throttled = new CloudError({ kind: 'throttled', operation: 'routes.apply', httpStatus: 429, code: 'RateLimit.0308', cloudMessage: 'too many requests' });
      p.failNext.push({ error: throttled, operation: 'routes.apply' });
      t.set('h', spec('h', blockN(1), 'i-a'));
      const f = t.flush();
      await clock.tickAsync(10);
      await f;
      const o = t.outcome('h');
      assert.equal(o.state, 'Error');
      assert.equal(o.error, throttled);
      assert.equal(o.error?.retryable, true);
      assert.ok(gate.notBefore - Date.now() >= 2000 - 10, `gate held ${gate.notBefore - Date.now()} ms`);
      assert.ok(gate.notBefore - Date.now() <= 2500, 'with at most 25% jitter');

      // The next call waits for the gate (also for another table sharing it).
      const other = new RouteTable('rtb-1', p, options({ gate }));
      t.set('h2', spec('h2', blockN(2), 'i-b'));
      const f2 = t.flush();
      const r2 = other.refresh();
      await clock.tickAsync(1900);
      assert.equal(updates(p).length, 1, 'no call while the gate is held');
      assert.equal(p.count('routes.list'), 1, 'the other table also waits');
      await clock.tickAsync(700);
      await Promise.all([f2, r2]);
      assert.equal(updates(p).length, 2);
      assert.equal(t.outcome('h').state, 'Programmed');
      assert.equal(t.outcome('h2').state, 'Programmed');
    } finally {
      clock.restore();
    }
  });

  it('a transient error marks the routes Error and they succeed on the next flush', async () => {
    const p = new MemoryProvider({ servers: ['i-a'] });
    const gate = new CloudGate();
    const t = new RouteTable('rtb-1', p, options({ gate }));
    await t.refresh();
    p.failNext.push({ error: new CloudError({ kind: 'transient', operation: 'routes.apply', httpStatus: 503 }), operation: 'routes.apply' });
    t.set('h', spec('h', blockN(1), 'i-a'));
    await t.flush();
    assert.equal(t.outcome('h').state, 'Error');
    assert.equal(updates(p).length, 1, 'a retryable error is not bisected');
    gate.notBefore = 0; // do not wait out the hold in a unit test
    await t.flush();
    assert.equal(t.outcome('h').state, 'Programmed');
  });

  it('refresh() reports drift: missing, changed, orphaned (owned, in the pool, unwanted)', async () => {
    const p = new MemoryProvider({ servers: ['i-1', 'i-2', 'i-3', 'i-x'], localRoutes: ['10.0.200.0/24'] });
    const t = new RouteTable('rtb-1', p, options());
    t.set('h1', spec('h1', blockN(1), 'i-1'));
    t.set('h2', spec('h2', blockN(2), 'i-2'));
    t.set('h3', spec('h3', blockN(3), 'i-3'));
    await t.flush();
    assert.deepEqual(await t.refresh(), [], 'no drift right after programming');
    const cloud = p.tables.get('rtb-1')!;
    cloud.delete(blockN(1));
    cloud.set(blockN(2), { ...cloud.get(blockN(2))!, nexthop: 'i-x' });
    cloud.set(blockN(9), { destination: blockN(9), kind: 'host', nexthop: 'i-x', description: markFor(ID, 'ghost') });
    cloud.set('172.16.0.0/24', { destination: '172.16.0.0/24', kind: 'host', nexthop: 'i-x', description: markFor(ID, 'outside') });
    cloud.set(blockN(10), { destination: blockN(10), kind: 'host', nexthop: 'i-x', description: 'foreign' });
    const found = await t.refresh();
    const key = (f: { kind: string; destination: string; owner?: string }) => `${f.kind} ${f.destination} ${f.owner ?? '-'}`;
    assert.deepEqual(found.map(key).sort(), [`changed ${blockN(2)} h2`, `missing ${blockN(1)} h1`, `orphaned ${blockN(9)} -`].sort());
    // The next flush repairs it: add the missing one, fix the changed one, delete the orphan.
    await t.flush();
    const last = updates(p).at(-1)!;
    assert.deepEqual([last.add, last.mod, last.del], [1, 1, 1]);
    assert.deepEqual(await t.refresh(), []);
  });

  it('keep() protects a marked orphan from deletion and from the orphan report', async () => {
    const p = new MemoryProvider({ servers: ['i-1'] });
    p.tables.get('rtb-1')!.set(blockN(4), { destination: blockN(4), kind: 'host', nexthop: 'i-1', description: markFor(ID, 'not-yet-synced') });
    const t = new RouteTable('rtb-1', p, options({ keep: (r) => r.description === markFor(ID, 'not-yet-synced') }));
    await t.refresh();
    assert.deepEqual(await t.refresh(), []);
    t.set('h', spec('h', blockN(5), 'i-1'));
    await t.flush();
    assert.ok(p.tables.get('rtb-1')!.has(blockN(4)));
  });

  it('unset: the route is deleted; outcomeOfDestination / isGone follow it', async () => {
    const p = new MemoryProvider({ servers: ['i-1'] });
    const t = new RouteTable('rtb-1', p, options());
    t.set('h', spec('h', blockN(1), 'i-1'));
    await t.flush();
    t.unset('h');
    assert.equal(t.isGone(blockN(1)), false);
    assert.equal(t.outcomeOfDestination(blockN(1)).state, 'Pending');
    await t.flush();
    assert.equal(t.isGone(blockN(1)), true);
    assert.equal(t.outcome('h').state, 'Programmed', 'nothing wanted any more: done');
    assert.equal(p.tables.get('rtb-1')!.size, 0);
  });

  it('a route whose add failed ambiguously (it went through) is not taken as gone until the table is read again', async () => {
    // The chaos soak found it: a timed-out add that had been applied, its host deleted before the
    // next read; the route outlived the HostNetwork until the next full sync.
    const p = new MemoryProvider({ servers: ['i-1'] });
    const gate = new CloudGate();
    const t = new RouteTable('rtb-1', p, options({ gate }));
    await t.refresh();
    const orig = p.applyRoutes.bind(p);
    p.applyRoutes = async (id, batch) => {
      p.applyRoutes = orig;
      await orig(id, batch);
      throw new CloudError({ kind: 'transient', operation: 'routes.apply', cloudMessage: 'the response was lost' });
    };
    t.set('h', spec('h', blockN(1), 'i-1'));
    await t.flush();
    assert.equal(t.outcome('h').state, 'Error');
    assert.ok(p.tables.get('rtb-1')!.has(blockN(1)), 'the cloud holds the route although the call failed');
    t.unset('h');
    assert.equal(t.isGone(blockN(1)), false, 'the view is uncertain: not gone');
    assert.match(t.outcomeOfDestination(blockN(1)).message ?? '', /read again/);
    gate.notBefore = 0;
    await t.flush();
    assert.equal(p.tables.get('rtb-1')!.has(blockN(1)), false, 'the re-read found it and the flush deleted it');
    assert.equal(t.isGone(blockN(1)), true);
  });

  it('a route whose add is in flight when its host goes is not taken as gone; the next flush deletes it', async () => {
    const p = new MemoryProvider({ servers: ['i-1'] });
    const t = new RouteTable('rtb-1', p, options());
    await t.refresh();
    const orig = p.applyRoutes.bind(p);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let sent!: () => void;
    const sending = new Promise<void>((resolve) => (sent = resolve));
    p.applyRoutes = async (id, batch) => {
      p.applyRoutes = orig;
      sent();
      await held;
      return orig(id, batch);
    };
    t.set('h', spec('h', blockN(1), 'i-1'));
    const first = t.flush();
    await sending;
    t.unset('h');
    assert.equal(t.isGone(blockN(1)), false, 'the add in flight may land: not gone');
    release();
    await first;
    assert.ok(p.tables.get('rtb-1')!.has(blockN(1)), 'the add landed after its host went');
    assert.equal(t.isGone(blockN(1)), false);
    await t.flush();
    assert.equal(p.tables.get('rtb-1')!.has(blockN(1)), false);
    assert.equal(t.isGone(blockN(1)), true);
  });

  it('a table never read does not say a route is gone', async () => {
    const p = new MemoryProvider({ servers: ['i-1'] });
    const t = new RouteTable('rtb-1', p, options());
    assert.equal(t.isGone(blockN(1)), false);
    await t.refresh();
    assert.equal(t.isGone(blockN(1)), true);
  });

  it('a failed delete is forgotten once its route is gone by other means (the per-destination map shrinks)', async () => {
    const p = new MemoryProvider({ servers: ['i-1'] });
    const gate = new CloudGate();
    const t = new RouteTable('rtb-1', p, options({ gate }));
    for (let i = 1; i <= 3; i++) t.set(`h${i}`, spec(`h${i}`, blockN(i), 'i-1'));
    await t.flush();
    for (let i = 1; i <= 3; i++) t.unset(`h${i}`);
    p.failNext.push({ error: new CloudError({ kind: 'transient', operation: 'routes.apply', httpStatus: 503 }), operation: 'routes.apply' });
    await t.flush();
    assert.equal(t.debugState().failed, 3, 'the failed deletes are remembered for their retry');
    assert.equal(t.outcomeOfDestination(blockN(1)).state, 'Error');
    // Someone deletes the routes by hand before the retry; the re-read (the failure left the
    // table uncertain) finds nothing left to delete.
    p.tables.get('rtb-1')!.clear();
    gate.notBefore = 0;
    const calls = updates(p).length;
    await t.flush();
    assert.equal(updates(p).length, calls, 'nothing to send');
    assert.equal(t.debugState().failed, 0);
    for (let i = 1; i <= 3; i++) assert.equal(t.isGone(blockN(i)), true);
  });

  it('RouteTableSet: init reads every table once; a host goes into every table', async () => {
    const p = new MemoryProvider({ tables: ['rtb-a', 'rtb-b'], servers: ['i-1'] });
    const set = new RouteTableSet(p, options());
    await set.init();
    assert.equal(p.count('routes.list'), 2);
    set.set('h', spec('h', blockN(1), 'i-1'));
    await set.flushAll();
    assert.deepEqual(
      set.outcomes('h').map((o) => [o.id, o.state]),
      [
        ['rtb-a', 'Programmed'],
        ['rtb-b', 'Programmed'],
      ],
    );
    assert.equal(set.routes().length, 2);
    set.unset('h');
    assert.equal(set.remaining(blockN(1)).length, 2);
    await set.flushAll();
    assert.deepEqual(set.remaining(blockN(1)), []);
  });
});
