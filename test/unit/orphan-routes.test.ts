// A route of ours whose owner is missing from the informer's cache (a cache behind the API server:
// the first list served from the watch cache, a watch restarting) is not deleted on the cache's
// word: it stays until a direct read (confirmGone) finds the owner gone, and only then are the
// route deleted and the block released. Both ownership kinds (a mark; the ledger's records).
// In-memory parts, wired as the controller wires them (fakes/wiring.ts), across a restart: a new
// RouteTableSet and Ledger over the same cloud and ledger store, as a new process has.
import assert from 'node:assert/strict';
import { BlockAllocator } from '../../controller/allocator.js';
import { containsCidr, parseCidr } from '../../controller/cidr.js';
import { Ledger, MemoryLedgerStore } from '../../controller/ledger.js';
import { silentLogger } from '../../controller/logger.js';
import { MemoryProvider, type MemoryProviderOptions } from '../../controller/provider/memory.js';
import type { CloudRoute } from '../../controller/provider/provider.js';
import { OrphanGuard } from '../../controller/routes/orphans.js';
import { FakeStatusWriter } from './fakes/status.js';
import { wireReconciler } from './fakes/wiring.js';

const ID = 'ut';
const POOL = parseCidr('10.0.0.0/16')!;
const inPool = (d: string): boolean => {
  const c = parseCidr(d, false);
  return c !== undefined && containsCidr(POOL, c);
};

async function world(cloud: MemoryProviderOptions) {
  const provider = new MemoryProvider({ servers: ['i-1', 'i-2'], localRoutes: ['192.168.0.0/24'], ...cloud });
  const status = new FakeStatusWriter();
  const store = new MemoryLedgerStore();
  const log = silentLogger();
  const newLedger = () => new Ledger(store, new BlockAllocator('10.0.0.0/16', 24, ['192.168.0.0/24']), log);
  const reallyGone = new Set<string>();
  const asked: string[] = [];
  const queued: string[] = [];
  const cacheMisses = new Set<string>();
  /** A process: its own tables, ledger (loaded from the store) and reconciler. */
  const start = async () => {
    const ledger = newLedger();
    await ledger.load();
    const wired = await wireReconciler({
      provider,
      status,
      ledger,
      log,
      installationId: ID,
      inPool,
      cacheMisses,
      confirmGone: async (name) => (asked.push(name), reallyGone.has(name)),
      onUnconfirmed: (name) => queued.push(name),
    });
    // A sync, the batch it asked for, and the pass after it (as the table's re-queue does).
    const sync = async (name: string) => {
      await wired.reconciler.sync(name);
      await wired.tables.flushAll();
      return wired.reconciler.sync(name);
    };
    return { ...wired, ledger, sync };
  };
  const routes = () => provider.tables.get('rtb-1')!;
  return { provider, status, reallyGone, asked, queued, cacheMisses, start, routes };
}

for (const [kind, cloud, servers] of [
  ['mark', {}, ['i-1', 'i-2']],
  // With ownership by ledger a route is ours only when it goes to a server a host of ours names:
  // both hosts on one server, so the missing host's route still counts as ours.
  ['ledger', { ownership: { kind: 'ledger' } }, ['i-1', 'i-1']],
] as const) {
  describe(`orphaned routes and a cache behind the API server (ownership by ${kind})`, () => {
    it('an owned route whose owner is missing from the cache but exists is not deleted; once the owner is really gone it is, and the block is released', async () => {
      const w = await world(cloud as MemoryProviderOptions);
      const first = await w.start();
      w.status.put({ metadata: { name: 'h1' }, spec: { instanceID: servers[0] } });
      w.status.put({ metadata: { name: 'h2' }, spec: { instanceID: servers[1] } });
      await first.sync('h1');
      await first.sync('h2');
      const block2 = w.status.get('h2')!.status!.podCIDR!;
      assert.equal(w.routes().get(block2)?.nexthop, servers[1], 'h2 converged before the restart');

      // The restart: the first list missed h2 (created just before it), the API server has it.
      w.cacheMisses.add('h2');
      const second = await w.start();
      // leadOnce: the converged hosts the cache has are wanted at once; then a flush.
      const h1 = w.status.get('h1')!;
      const block1 = h1.status!.podCIDR!;
      second.tables.set('h1', { destination: block1, nexthop: h1.spec.instanceID, description: w.routes().get(block1)!.description });
      await second.tables.flushAll();
      assert.equal(w.routes().get(block2)?.nexthop, servers[1], "the live host's route is kept although the cache misses it");
      assert.ok(w.queued.includes('h2'), `its owner goes to the queue for a direct read: ${JSON.stringify(w.queued)}`);
      assert.equal(second.ledger.blockOf('h2'), block2);

      // Its pass asks the API server, which still has it: nothing goes.
      const r = await second.sync('h2');
      assert.ok(w.asked.includes('h2'), 'a direct read was made');
      assert.ok(r && typeof r.requeueAfterMs === 'number', 'looked at again soon');
      await second.tables.flushAll();
      assert.equal(w.routes().get(block2)?.nexthop, servers[1], 'still kept after the direct read said it exists');
      assert.equal(second.ledger.blockOf('h2'), block2, 'the block is kept');

      // Really gone now (finalizer removed by hand): the route goes, then the block.
      w.status.objects.delete('h2');
      w.reallyGone.add('h2');
      for (let i = 0; i < 3 && (w.routes().has(block2) || second.ledger.blockOf('h2') !== undefined); i++) await second.sync('h2');
      assert.equal(w.routes().has(block2), false, 'the route of the gone host is deleted');
      assert.equal(second.ledger.blockOf('h2'), undefined, 'its block is released');
      assert.equal(second.orphans.size, 0, 'nothing is remembered of it once its route and block are gone');
      assert.equal(w.routes().get(h1.status!.podCIDR!)?.nexthop, servers[0], "the other host's route is untouched");
    });
  });
}

describe('OrphanGuard', () => {
  const route = (owner: string): CloudRoute => ({ destination: '10.0.9.0/24', nexthop: 'i-1', description: owner, kind: 'host' });
  const guard = (cache: Record<string, { deleting: boolean }>, wanted: string[] = []) => {
    const asked: string[] = [];
    const g = new OrphanGuard({ ownerOf: (r) => r.description || undefined, cached: (n) => cache[n], wanted: (n) => wanted.includes(n), onUnconfirmed: (n) => asked.push(n) });
    return { g, asked };
  };

  it('keeps the route of an owner missing from the cache until it is confirmed gone, and asks for the read', () => {
    const { g, asked } = guard({});
    assert.equal(g.keep(route('h1')), true);
    assert.deepEqual(asked, ['h1']);
    g.confirmGone('h1');
    assert.equal(g.keep(route('h1')), false);
    assert.equal(g.size, 1);
    g.forget('h1');
    assert.equal(g.size, 0);
    assert.equal(g.keep(route('h1')), true, 'forgotten (re-created, or nothing left): kept again until confirmed');
  });

  it('routes kept for an owner missing from the cache are reported once as orphaned when it is confirmed gone; not when it turns up', () => {
    const orphaned: [string, string[]][] = [];
    const g = new OrphanGuard({ ownerOf: (r) => r.description || undefined, cached: () => undefined, wanted: () => false, onOrphaned: (n, d) => orphaned.push([n, d.sort()]) });
    const at = (owner: string, destination: string): CloudRoute => ({ ...route(owner), destination });
    g.keep(at('gone', '10.0.9.0/24'));
    g.keep(at('gone', '10.0.9.0/24'));
    g.keep(at('gone', '10.0.8.0/24'));
    g.keep(at('back', '10.0.7.0/24'));
    assert.equal(g.size, 2);
    g.confirmGone('gone');
    g.confirmGone('gone');
    assert.deepEqual(orphaned, [['gone', ['10.0.8.0/24', '10.0.9.0/24']]], 'each destination once, the second confirmation reports nothing');
    // An object of that name appears: its route was never an orphan.
    g.forget('back');
    g.confirmGone('back');
    assert.deepEqual(orphaned.length, 1);
    g.forget('gone');
    g.forget('back');
    assert.equal(g.size, 0);
  });

  it('an owner in the cache keeps its route until its sync wants its own; a deleting one does not; an unknown owner does not', () => {
    const { g, asked } = guard({ live: { deleting: false }, synced: { deleting: false }, leaving: { deleting: true } }, ['synced']);
    assert.equal(g.keep(route('live')), true);
    assert.equal(g.keep(route('synced')), false);
    assert.equal(g.keep(route('leaving')), false);
    assert.equal(g.keep(route('')), false);
    // A name in the cache wins over an old confirmation (an object of that name exists again).
    g.confirmGone('live');
    assert.equal(g.keep(route('live')), true);
    assert.deepEqual(asked, []);
  });
});
