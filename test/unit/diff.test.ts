// The pure route diff: what to add, modify and delete in one table.
import assert from 'node:assert/strict';
import type { CloudRoute, RouteBatch, RouteSpec } from '../../controller/provider/provider.js';
import { applyBatch, batchSize, destinationsOf, diffRoutes, splitBatch, type DiffInput } from '../../controller/routes/diff.js';
import { isOwnedBy, markFor } from '../../controller/routes/marks.js';
import { containsCidr, parseCidr } from '../../controller/cidr.js';

const ID = 'test';
const pool = parseCidr('10.0.0.0/16')!;
const mark = (name: string) => markFor(ID, name);
const spec = (dest: string, nexthop: string, owner = nexthop): RouteSpec => ({ destination: dest, nexthop, description: mark(owner) });
const ours = (dest: string, nexthop: string, owner = nexthop): CloudRoute => ({ ...spec(dest, nexthop, owner), kind: 'host' });
const local = (dest: string): CloudRoute => ({ destination: dest, kind: 'system', nexthop: '', description: '' });

function diff(desired: RouteSpec[], actual: CloudRoute[], extra: Partial<DiffInput> = {}) {
  return diffRoutes({
    desired: new Map(desired.map((d) => [d.destination, d])),
    actual,
    isOwned: (r) => r.kind === 'host' && isOwnedBy(ID, r.description),
    inPool: (d) => {
      const c = parseCidr(d, false);
      return c !== undefined && containsCidr(pool, c);
    },
    ...extra,
  });
}

describe('routes/diff', () => {
  it('adds wanted routes that are missing, in the order they were wanted', () => {
    const r = diff([spec('10.0.2.0/24', 'i-2'), spec('10.0.1.0/24', 'i-1')], [local('192.168.0.0/24')]);
    assert.deepEqual(r.batch.add, [spec('10.0.2.0/24', 'i-2'), spec('10.0.1.0/24', 'i-1')]);
    assert.deepEqual(r.batch.mod, []);
    assert.deepEqual(r.batch.del, []);
    assert.equal(r.conflicts.size, 0);
  });

  it('leaves routes that are already right in place', () => {
    const r = diff([spec('10.0.1.0/24', 'i-1')], [ours('10.0.1.0/24', 'i-1')]);
    assert.equal(batchSize(r.batch), 0);
    assert.deepEqual([...r.inPlace], ['10.0.1.0/24']);
  });

  it('modifies our route in place when the next hop, the mark or the type differs', () => {
    const r = diff(
      [spec('10.0.1.0/24', 'i-new', 'h1'), spec('10.0.2.0/24', 'i-2', 'renamed'), spec('10.0.3.0/24', 'i-3')],
      [ours('10.0.1.0/24', 'i-old', 'h1'), ours('10.0.2.0/24', 'i-2', 'h2'), { ...ours('10.0.3.0/24', 'i-3'), kind: 'other', cloudType: 'vip' }],
      { isOwned: (x) => isOwnedBy(ID, x.description) },
    );
    assert.deepEqual(
      r.batch.mod.map((m) => m.destination),
      ['10.0.1.0/24', '10.0.2.0/24', '10.0.3.0/24'],
    );
    assert.equal(r.batch.mod[0]!.nexthop, 'i-new');
    assert.deepEqual(r.batch.add, [], 'a migration is a mod, never del+add');
    assert.deepEqual(r.batch.del, []);
  });

  it('a foreign route on a wanted destination is a conflict and never in the batch', () => {
    const foreign: CloudRoute = { destination: '10.0.1.0/24', kind: 'host', nexthop: 'i-someone', description: 'made by hand' };
    const otherInstall: CloudRoute = { destination: '10.0.2.0/24', kind: 'host', nexthop: 'i-x', description: markFor('other', 'h2') };
    const unmarked: CloudRoute = { destination: '10.0.3.0/24', kind: 'host', nexthop: 'i-y', description: '' };
    const r = diff([spec('10.0.1.0/24', 'i-1'), spec('10.0.2.0/24', 'i-2'), spec('10.0.3.0/24', 'i-3')], [foreign, otherInstall, unmarked]);
    assert.equal(batchSize(r.batch), 0);
    assert.deepEqual([...r.conflicts.keys()], ['10.0.1.0/24', '10.0.2.0/24', '10.0.3.0/24']);
    assert.equal(r.conflicts.get('10.0.1.0/24'), foreign);
    assert.equal(r.inPlace.size, 0);
  });

  it('a local route on a wanted destination is a conflict, never modified or deleted', () => {
    const r = diff([spec('10.0.0.0/24', 'i-1')], [local('10.0.0.0/24')]);
    assert.equal(batchSize(r.batch), 0);
    assert.ok(r.conflicts.has('10.0.0.0/24'));
  });

  it('deletes our routes nobody wants, but only inside the pool', () => {
    const r = diff(
      [],
      [ours('10.0.1.0/24', 'i-1'), ours('10.0.2.0/24', 'i-2'), ours('172.16.0.0/24', 'i-3'), ours('10.1.0.0/24', 'i-4')],
    );
    assert.deepEqual(r.batch.del, [{ destination: '10.0.1.0/24' }, { destination: '10.0.2.0/24' }]);
  });

  it('never deletes local routes, foreign routes or unmarked routes, even inside the pool', () => {
    const r = diff(
      [],
      [
        local('10.0.5.0/24'),
        { destination: '10.0.6.0/24', kind: 'host', nexthop: 'i-6', description: 'hand-made' },
        { destination: '10.0.7.0/24', kind: 'host', nexthop: 'i-7', description: '' },
        { destination: '10.0.8.0/24', kind: 'host', nexthop: 'i-8', description: markFor('another-install', 'x') },
        { ...ours('10.0.9.0/24', 'i-9'), kind: 'system' },
      ],
      { isOwned: (x) => isOwnedBy(ID, x.description) },
    );
    assert.deepEqual(r.batch.del, []);
  });

  it('keep() saves a marked orphan from deletion', () => {
    const r = diff([], [ours('10.0.1.0/24', 'i-1', 'waiting'), ours('10.0.2.0/24', 'i-2', 'gone')], {
      keep: (x) => x.description === mark('waiting'),
    });
    assert.deepEqual(r.batch.del, [{ destination: '10.0.2.0/24' }]);
  });

  it('skip leaves destinations out of add and mod', () => {
    const r = diff([spec('10.0.1.0/24', 'i-1'), spec('10.0.2.0/24', 'i-new')], [ours('10.0.2.0/24', 'i-old')], {
      skip: new Set(['10.0.1.0/24', '10.0.2.0/24']),
    });
    assert.equal(batchSize(r.batch), 0);
  });

  it('add, mod and del together in one batch', () => {
    const r = diff(
      [spec('10.0.1.0/24', 'i-1'), spec('10.0.2.0/24', 'i-22', 'i-2')],
      [ours('10.0.2.0/24', 'i-2'), ours('10.0.3.0/24', 'i-3'), local('192.168.0.0/16')],
    );
    assert.deepEqual(destinationsOf(r.batch), ['10.0.3.0/24', '10.0.2.0/24', '10.0.1.0/24']);
    assert.equal(batchSize(r.batch), 3);
  });

  describe('applyBatch', () => {
    it('applies del, mod and add to a route map as the cloud does', () => {
      const routes = new Map<string, CloudRoute>([
        ['10.0.1.0/24', ours('10.0.1.0/24', 'i-1')],
        ['10.0.2.0/24', ours('10.0.2.0/24', 'i-2')],
        ['192.168.0.0/24', local('192.168.0.0/24')],
      ]);
      applyBatch(routes, { del: [{ destination: '10.0.1.0/24' }], mod: [spec('10.0.2.0/24', 'i-9', 'i-2')], add: [spec('10.0.3.0/24', 'i-3')] });
      assert.deepEqual([...routes.keys()].sort(), ['10.0.2.0/24', '10.0.3.0/24', '192.168.0.0/24']);
      assert.deepEqual(routes.get('10.0.2.0/24'), { ...spec('10.0.2.0/24', 'i-9', 'i-2'), kind: 'host' });
      assert.equal(routes.get('10.0.3.0/24')!.kind, 'host');
    });

    it('diff then apply reaches a fixed point', () => {
      const routes = new Map<string, CloudRoute>([
        ['10.0.1.0/24', ours('10.0.1.0/24', 'i-old', 'h1')],
        ['10.0.4.0/24', ours('10.0.4.0/24', 'i-4')],
        ['192.168.0.0/24', local('192.168.0.0/24')],
      ]);
      const desired = [spec('10.0.1.0/24', 'i-new', 'h1'), spec('10.0.2.0/24', 'i-2')];
      applyBatch(routes, diff(desired, [...routes.values()]).batch);
      const again = diff(desired, [...routes.values()]);
      assert.equal(batchSize(again.batch), 0);
      assert.equal(again.inPlace.size, 2);
    });
  });

  describe('splitBatch', () => {
    const mk = (n: number, prefix: string): RouteSpec[] => Array.from({ length: n }, (_, i) => spec(`10.0.${prefix}${i}.0/24`, `i-${i}`));

    it('splits into two halves that together hold every change exactly once', () => {
      const b: RouteBatch = { del: [{ destination: '10.0.200.0/24' }, { destination: '10.0.201.0/24' }], mod: mk(3, '1'), add: mk(4, '2') };
      const [x, y] = splitBatch(b);
      assert.equal(batchSize(x), 5);
      assert.equal(batchSize(y), 4);
      assert.deepEqual([...destinationsOf(x), ...destinationsOf(y)].sort(), destinationsOf(b).sort());
      assert.deepEqual(x.del, b.del, 'deletes go first (they make room)');
      assert.deepEqual(x.mod, b.mod);
      assert.deepEqual(y.add, b.add);
      assert.deepEqual([y.del, y.mod, x.add], [[], [], []]);
    });

    it('a batch of one splits into itself and an empty batch', () => {
      const [x, y] = splitBatch({ add: mk(1, '3'), mod: [], del: [] });
      assert.equal(batchSize(x), 1);
      assert.equal(batchSize(y), 0);
    });

    it('repeated splitting isolates every single change', () => {
      const b: RouteBatch = { del: [{ destination: '10.0.250.0/24' }], mod: mk(2, '1'), add: mk(6, '2') };
      const singles: RouteBatch[] = [];
      const walk = (x: RouteBatch) => {
        if (batchSize(x) <= 1) {
          if (batchSize(x) === 1) singles.push(x);
          return;
        }
        const [p, q] = splitBatch(x);
        walk(p);
        walk(q);
      };
      walk(b);
      assert.equal(singles.length, 9);
      assert.deepEqual(singles.flatMap(destinationsOf).sort(), destinationsOf(b).sort());
    });
  });
});
