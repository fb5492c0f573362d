// The allocation ledger over the in-memory store: group commit, assignment rules, and the
// compare-and-swap that keeps two writers from handing out one block twice.
import assert from 'node:assert/strict';
import { BlockAllocator } from '../../controller/allocator.js';
import { Ledger, LedgerConflict, MemoryLedgerStore, type AssignResult, type LedgerSnapshot, type LedgerStore } from '../../controller/ledger.js';
import { silentLogger } from '../../controller/logger.js';

const log = silentLogger();

function newLedger(store: LedgerStore = new MemoryLedgerStore(), pool = '10.0.0.0/16', block = 24, reserved: string[] = []): Ledger {
  return new Ledger(store, new BlockAllocator(pool, block, reserved), log);
}

function blockOf(r: AssignResult): string {
  assert.ok('block' in r, `expected a block, got ${JSON.stringify(r)}`);
  return r.block;
}

/** Lets every pending promise, I/O callback and immediate run. */
async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
}

/** A deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('Ledger (MemoryLedgerStore)', () => {
  it('group-commits: 200 concurrent assigns need at most 2 writes and get distinct blocks', async () => {
    const store = new MemoryLedgerStore();
    const ledger = newLedger(store);
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => ledger.assign({ owner: `h${i}` })));
    const blocks = results.map(blockOf);
    assert.equal(new Set(blocks).size, 200);
    assert.ok(ledger.writes >= 1 && ledger.writes <= 2, `writes=${ledger.writes}`);
    assert.equal(store.records.size, 200);
    for (let i = 0; i < 200; i++) assert.equal(store.records.get(blocks[i]!), `h${i}`);
    assert.equal(ledger.conflicts, 0);
  });

  it('requests arriving while a write is in flight go out together in the next write', async () => {
    const store = new MemoryLedgerStore();
    const ledger = newLedger(store);
    await ledger.load();
    const first = ledger.assign({ owner: 'first' }); // starts a write
    const rest = Array.from({ length: 50 }, (_, i) => ledger.assign({ owner: `later${i}` }));
    await Promise.all([first, ...rest]);
    assert.equal(ledger.writes, 2);
    assert.equal(store.version, 2);
    assert.equal(store.records.size, 51);
  });

  it('assign is idempotent for an owner: same block, changed=false, no write', async () => {
    const store = new MemoryLedgerStore();
    const ledger = newLedger(store);
    const r1 = await ledger.assign({ owner: 'a' });
    assert.ok('block' in r1 && r1.changed);
    const writes = ledger.writes;
    const r2 = await ledger.assign({ owner: 'a' });
    assert.deepEqual(r2, { block: r1.block, changed: false });
    const r3 = await ledger.assign({ owner: 'a', hint: '10.0.99.0/24' });
    assert.deepEqual(r3, { block: r1.block, changed: false }, 'a held block wins over a hint');
    assert.equal(ledger.writes, writes);
    assert.equal(ledger.blockOf('a'), r1.block);
  });

  it('honours a pinned block, moves an owner to a newly pinned block, and reports problems', async () => {
    const store = new MemoryLedgerStore();
    const ledger = newLedger(store, '10.0.0.0/16', 24, ['10.0.200.0/24']);
    const r = await ledger.assign({ owner: 'a', pinned: '10.0.42.0/24' });
    assert.deepEqual(r, { block: '10.0.42.0/24', changed: true, from: undefined });
    assert.equal(store.records.get('10.0.42.0/24'), 'a');

    const moved = await ledger.assign({ owner: 'a', pinned: '10.0.43.0/24' });
    assert.deepEqual(moved, { block: '10.0.43.0/24', changed: true, from: '10.0.42.0/24' });
    assert.equal(store.records.get('10.0.42.0/24'), undefined, 'the old block is freed');
    assert.equal(ledger.allocator.ownerOf('10.0.42.0/24'), undefined);

    const inUse = await ledger.assign({ owner: 'b', pinned: '10.0.43.0/24' });
    assert.ok('problem' in inUse && inUse.problem.rule === 'InUse' && inUse.problem.with === 'a');
    const outside = await ledger.assign({ owner: 'b', pinned: '192.168.0.0/24' });
    assert.ok('problem' in outside && outside.problem.rule === 'NotInPool');
    const wrong = await ledger.assign({ owner: 'b', pinned: '10.0.44.0/25' });
    assert.ok('problem' in wrong && wrong.problem.rule === 'WrongBlockSize');
    const reserved = await ledger.assign({ owner: 'b', pinned: '10.0.200.0/24' });
    assert.ok('problem' in reserved && reserved.problem.rule === 'OverlapsReserved');
    assert.equal(ledger.blockOf('b'), undefined);
    assert.equal(store.records.size, 1);
  });

  it('takes a free hint; falls back to allocation when the hint is taken', async () => {
    const ledger = newLedger();
    assert.equal(blockOf(await ledger.assign({ owner: 'a', hint: '10.0.77.0/24' })), '10.0.77.0/24');
    const b = blockOf(await ledger.assign({ owner: 'b', hint: '10.0.77.0/24' }));
    assert.notEqual(b, '10.0.77.0/24');
    assert.equal(ledger.allocator.ownerOf(b), 'b');
  });

  it('hintOnly never allocates: no hint → exhausted, taken hint → problem, free hint → taken', async () => {
    const store = new MemoryLedgerStore();
    const ledger = newLedger(store);
    await ledger.assign({ owner: 'a', pinned: '10.0.5.0/24' });
    const writes = ledger.writes;
    assert.deepEqual(await ledger.assign({ owner: 'x', hintOnly: true }), { exhausted: true });
    const taken = await ledger.assign({ owner: 'x', hint: '10.0.5.0/24', hintOnly: true });
    assert.ok('problem' in taken && taken.problem.rule === 'InUse');
    const bad = await ledger.assign({ owner: 'x', hint: '172.16.0.0/24', hintOnly: true });
    assert.ok('problem' in bad && bad.problem.rule === 'NotInPool');
    assert.equal(ledger.writes, writes, 'nothing decided, nothing written');
    assert.equal(ledger.blockOf('x'), undefined);
    assert.equal(blockOf(await ledger.assign({ owner: 'x', hint: '10.0.6.0/24', hintOnly: true })), '10.0.6.0/24');
  });

  it('reports exhaustion without writing', async () => {
    const ledger = newLedger(new MemoryLedgerStore(), '10.0.0.0/23', 24);
    blockOf(await ledger.assign({ owner: 'a' }));
    blockOf(await ledger.assign({ owner: 'b' }));
    const writes = ledger.writes;
    assert.deepEqual(await ledger.assign({ owner: 'c' }), { exhausted: true });
    assert.equal(ledger.writes, writes);
  });

  it('release frees the block durably and resolves with it; releasing nothing resolves undefined', async () => {
    const store = new MemoryLedgerStore();
    const ledger = newLedger(store, '10.0.0.0/23', 24);
    const a = blockOf(await ledger.assign({ owner: 'a' }));
    blockOf(await ledger.assign({ owner: 'b' }));
    assert.deepEqual(await ledger.assign({ owner: 'c' }), { exhausted: true });
    assert.equal(await ledger.release('a'), a);
    assert.equal(store.records.has(a), false);
    assert.equal(ledger.blockOf('a'), undefined);
    assert.equal(await ledger.release('a'), undefined);
    assert.equal(await ledger.release('never-seen'), undefined);
    assert.equal(blockOf(await ledger.assign({ owner: 'c' })), a);
  });

  it('load() keeps records it cannot honour and refuses to allocate instead of dropping them', async () => {
    const store = new MemoryLedgerStore();
    store.records = new Map([
      ['10.0.1.0/24', 'a'],
      ['10.9.0.0/24', 'outside'],
    ]);
    store.version = 7;
    const ledger = newLedger(store);
    await ledger.load();
    assert.equal(ledger.blockOf('a'), '10.0.1.0/24');
    assert.equal(ledger.blockOf('outside'), '10.9.0.0/24', 'the recorded holder keeps its block');
    const r = await ledger.assign({ owner: 'b' });
    assert.ok('refused' in r, JSON.stringify(r));
    assert.equal(store.version, 7, 'nothing written');
  });

  describe('conflicts (another writer)', () => {
    it('re-reads on conflict and never hands out the block the other writer took', async () => {
      const store = new MemoryLedgerStore();
      const ledger = newLedger(store);
      await ledger.load();
      // Before each of our first three writes, another writer takes the lowest free block.
      let stolen = 0;
      const theirs: string[] = [];
      store.beforeWrite = () => {
        if (stolen >= 3) return;
        const shadow = new BlockAllocator('10.0.0.0/16', 24);
        shadow.rebuild(store.records);
        const b = shadow.allocate(`other-${stolen}`)!;
        // Take exactly the block we are about to be given: the next one after our cursor.
        theirs.push(b);
        store.records.set(b, `other-${stolen}`);
        store.version++;
        stolen++;
      };
      const mine = blockOf(await ledger.assign({ owner: 'mine' }));
      assert.equal(ledger.conflicts, 3);
      assert.equal(ledger.writes, 1);
      assert.ok(!theirs.includes(mine), `${mine} was taken by the other writer`);
      assert.equal(store.records.get(mine), 'mine');
      for (const [i, b] of theirs.entries()) assert.equal(store.records.get(b), `other-${i}`, 'their records survive our write');
      assert.equal(store.records.size, 4);
    });

    it('conflict when the other writer took exactly our block: we get another', async () => {
      const store = new MemoryLedgerStore();
      const ledger = newLedger(store);
      await ledger.load();
      let once = true;
      store.beforeWrite = () => {
        if (!once) return;
        once = false;
        store.records.set('10.0.0.0/24', 'intruder');
        store.version++;
      };
      const b = blockOf(await ledger.assign({ owner: 'me' }));
      assert.notEqual(b, '10.0.0.0/24');
      assert.equal(store.records.get('10.0.0.0/24'), 'intruder');
      assert.equal(store.records.get(b), 'me');
      assert.equal(ledger.conflicts, 1);
      assert.equal(ledger.allocator.ownerOf('10.0.0.0/24'), 'intruder');
    });

    it('a pinned block taken in between turns into an InUse problem after the re-read', async () => {
      const store = new MemoryLedgerStore();
      const ledger = newLedger(store);
      await ledger.load();
      let once = true;
      store.beforeWrite = () => {
        if (!once) return;
        once = false;
        store.records.set('10.0.9.0/24', 'intruder');
        store.version++;
      };
      const r = await ledger.assign({ owner: 'me', pinned: '10.0.9.0/24' });
      assert.ok('problem' in r && r.problem.rule === 'InUse' && r.problem.with === 'intruder');
      assert.equal(store.records.get('10.0.9.0/24'), 'intruder');
      assert.equal(ledger.conflicts, 1);
    });

    it('gives up after 20 conflicting attempts with a clear error', async () => {
      const store = new MemoryLedgerStore();
      const ledger = newLedger(store);
      await ledger.load();
      store.beforeWrite = () => {
        store.version++;
      };
      await assert.rejects(ledger.assign({ owner: 'me' }), /still conflicting after 20 attempts/);
      assert.equal(ledger.conflicts, 20);
      assert.equal(store.records.size, 0);
    });
  });

  it('a non-conflict write error rejects the batch and leaves the in-memory state equal to the store', async () => {
    const store = new MemoryLedgerStore();
    const ledger = newLedger(store);
    const a = blockOf(await ledger.assign({ owner: 'a' }));
    store.beforeWrite = () => {
      store.beforeWrite = undefined;
      throw new Error('etcdserver: request timed out');
    };
    const p1 = ledger.assign({ owner: 'b' });
    const p2 = ledger.release('a');
    await assert.rejects(p1, /request timed out/);
    await assert.rejects(p2, /request timed out/);
    assert.deepEqual([...ledger.owners()], [['a', a]]);
    assert.equal(ledger.allocator.ownerOf(a), 'a');
    assert.equal(ledger.allocator.usedBlocks, 1);
    assert.deepEqual([...store.records], [[a, 'a']]);
    // And it keeps working afterwards.
    const b = blockOf(await ledger.assign({ owner: 'b' }));
    assert.equal(store.records.get(b), 'b');
  });

  it('a write error followed by a failing re-read still settles every request, and nothing undecided is handed out later', async () => {
    const inner = new MemoryLedgerStore();
    let failReads = false;
    const store: LedgerStore = {
      description: 'flaky',
      read: () => (failReads ? Promise.reject(new Error('read: connection refused')) : inner.read()),
      shardOf: (b) => inner.shardOf(b),
      writeShard: (key, records, meta, version) => inner.writeShard(key, records, meta, version),
      retireLegacy: (v) => inner.retireLegacy(v),
    };
    const ledger = newLedger(store);
    await ledger.load();
    inner.beforeWrite = () => {
      inner.beforeWrite = undefined;
      failReads = true;
      throw new Error('write: connection reset');
    };
    let settled: 'resolved' | 'rejected' | undefined;
    ledger.assign({ owner: 'a' }).then(
      () => (settled = 'resolved'),
      () => (settled = 'rejected'),
    );
    await settle();
    assert.equal(settled, 'rejected', 'assign() must settle (it hangs when the re-read after a write error fails)');
    failReads = false;
    // The API server is back: the owner must not get a block that was never written.
    const r = await ledger.assign({ owner: 'a' });
    assert.ok('block' in r);
    assert.equal(inner.records.get(r.block), 'a', 'the block handed out is in the durable ledger');
  });

  it('two ledgers with disjoint owners on one store: every decision survives, no block twice', async () => {
    const store = new MemoryLedgerStore();
    const a = newLedger(store, '10.0.0.0/15', 24);
    const b = newLedger(store, '10.0.0.0/15', 24);
    await Promise.all([a.load(), b.load()]);
    const ps: Promise<[string, AssignResult]>[] = [];
    for (let i = 0; i < 150; i++) {
      ps.push(a.assign({ owner: `a${i}` }).then((r) => [`a${i}`, r]));
      ps.push(b.assign({ owner: `b${i}` }).then((r) => [`b${i}`, r]));
    }
    const results = await Promise.all(ps);
    assert.ok(a.conflicts + b.conflicts > 0, 'the two writers did collide');
    const blocks = results.map(([, r]) => blockOf(r));
    assert.equal(new Set(blocks).size, 300);
    assert.equal(store.records.size, 300);
    for (const [owner, r] of results) assert.equal(store.records.get(blockOf(r)), owner);
  });

  it('property: random interleavings of two replicas over one store never lose a record or give a block twice', async function () {
    this.timeout(60_000);
    for (const seed of [1, 2, 3, 4, 5]) {
      const rand = rng(seed);
      const inner = new MemoryLedgerStore();
      // Release requests not answered yet, per owner: only they may remove an owner's record.
      const liveReleases = new Map<string, number>();
      const live = (owner: string) => liveReleases.get(owner) ?? 0;
      const releasesEver = new Map<string, number>();
      const violations: string[] = [];
      const yieldRandomly = async () => {
        const n = Math.floor(rand() * 4);
        for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
      };
      const store: LedgerStore = {
        description: 'shared',
        async read(): Promise<LedgerSnapshot> {
          await yieldRandomly();
          return inner.read();
        },
        shardOf: (b) => inner.shardOf(b),
        retireLegacy: (v) => inner.retireLegacy(v),
        async writeShard(key, records, meta, version) {
          await yieldRandomly();
          const before = new Map(inner.records);
          const v = await inner.writeShard(key, records, meta, version); // the compare-and-swap, atomically
          const owners = new Set<string>();
          for (const owner of inner.records.values()) {
            if (owners.has(owner)) violations.push(`seed ${seed}: ${owner} holds two blocks`);
            owners.add(owner);
          }
          for (const [blk, owner] of before) {
            if (inner.records.get(blk) !== owner && live(owner) === 0) {
              violations.push(`seed ${seed}: record ${blk} → ${owner} was lost (now ${inner.records.get(blk) ?? 'free'}) without a release of ${owner}`);
            }
          }
          await yieldRandomly();
          return v;
        },
      };
      const ledgers = [newLedger(store, '10.0.0.0/16', 24), newLedger(store, '10.0.0.0/16', 24)];
      const ops: Promise<void>[] = [];
      for (let i = 0; i < 1500; i++) {
        const l = ledgers[rand() < 0.5 ? 0 : 1]!;
        const owner = `h${Math.floor(rand() * 300)}`;
        if (rand() < 0.2) {
          liveReleases.set(owner, live(owner) + 1);
          releasesEver.set(owner, (releasesEver.get(owner) ?? 0) + 1);
          ops.push(l.release(owner).then(() => void liveReleases.set(owner, live(owner) - 1)));
        } else {
          // Without a release of the owner in flight, a block the ledger has just written must
          // be the owner's in the store when the answer arrives.
          const quiet = live(owner) === 0;
          const releasesBefore = releasesEver.get(owner) ?? 0;
          ops.push(
            l.assign({ owner }).then((r) => {
              const undisturbed = quiet && (releasesEver.get(owner) ?? 0) === releasesBefore;
              if ('block' in r && r.changed && undisturbed && inner.records.get(r.block) !== owner) {
                violations.push(`seed ${seed}: ${owner} was given ${r.block}, the store says ${inner.records.get(r.block) ?? 'free'}`);
              }
            }),
          );
        }
        if (rand() < 0.1) await yieldRandomly();
      }
      await Promise.all(ops);
      assert.deepEqual(violations, []);
      assert.ok(ledgers[0]!.conflicts + ledgers[1]!.conflicts > 0, 'the replicas did collide');
      assert.ok(inner.records.size <= 256);
    }
  });

  it('a replica with a stale view does not hand out a block the other replica has since given away', async () => {
    // Replica A decided x → 10.0.0.0/24. Replica B (after a hand-over) released x and gave that
    // block to y. A must not answer assign(x) from its stale memory.
    const store = new MemoryLedgerStore();
    const a = newLedger(store, '10.0.0.0/24', 24); // one block
    const b = newLedger(store, '10.0.0.0/24', 24);
    assert.equal(blockOf(await a.assign({ owner: 'x' })), '10.0.0.0/24');
    await b.load();
    assert.equal(await b.release('x'), '10.0.0.0/24');
    assert.equal(blockOf(await b.assign({ owner: 'y' })), '10.0.0.0/24');
    const again = await a.assign({ owner: 'x' });
    assert.ok(!('block' in again && again.block === '10.0.0.0/24'), `A handed ${JSON.stringify(again)} to x while the store gives it to y`);
  });

  it('LedgerConflict is what the memory store throws on a stale version', async () => {
    const store = new MemoryLedgerStore();
    const meta = { format: 2, pool: '10.0.0.0/16', blockSize: 24 };
    await store.writeShard('all', new Map([['10.0.0.0/24', 'a']]), meta, '');
    await assert.rejects(store.writeShard('all', new Map(), meta, ''), LedgerConflict);
    assert.equal(await store.writeShard('all', new Map(), meta, '1'), '2');
  });
});
