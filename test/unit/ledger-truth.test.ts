// The recorded truth wins: flags that cannot honour the stored records stop allocation and
// change nothing; flags that can (a grown pool, another pool containing every block) just work;
// a ledger deleted or edited behind the controller's back is rebuilt from status and routes
// before the next allocation, and nobody live is renumbered.
import assert from 'node:assert/strict';
import { BlockAllocator } from '../../controller/allocator.js';
import { Ledger, MemoryLedgerStore, type AssignResult } from '../../controller/ledger.js';
import type { HostEvidence, Inconsistency } from '../../controller/ledger-evidence.js';
import { silentLogger, type Logger } from '../../controller/logger.js';
import { capturingLogger } from '../helpers/logs.js';

/** A real (winston) logger writing JSON lines into memory. */
function recordingLogger(): Logger & { lines: { level: string; message: string }[] } {
  const { log, lines } = capturingLogger<{ level: string; message: string }>();
  return Object.assign(log, { lines });
}

/** The store as a controller with --pool-cidr=10.0.0.0/16 --block-size=24 left it. */
function recordedStore(): MemoryLedgerStore {
  const store = new MemoryLedgerStore(true);
  const meta = { format: 2, pool: '10.0.0.0/16', blockSize: 24 };
  store.shards.set('10-0', {
    records: new Map([
      ['10.0.2.0/24', 'ecs-1'],
      ['10.0.3.0/24', 'ecs-2'],
      ['10.0.4.0/24', 'ecs-3'],
    ]),
    version: 4,
    meta,
  });
  return store;
}

function snapshot(store: MemoryLedgerStore): string {
  return JSON.stringify([...store.shards].map(([k, s]) => [k, s.version, [...s.records], s.meta]));
}

function blockOf(r: AssignResult): string {
  assert.ok('block' in r, `expected a block, got ${JSON.stringify(r)}`);
  return r.block;
}

describe('Ledger: the recorded truth wins over new flags', () => {
  for (const [title, pool, size] of [
    ['block size 24 → 23', '10.0.0.0/16', 23],
    ['block size 24 → 25', '10.0.0.0/16', 25],
    ['a pool that no longer contains some records', '10.0.0.0/23', 24],
  ] as const) {
    it(`${title}: refuses new allocations with one line naming the flags and records, keeps every holder's block, writes nothing`, async () => {
      const store = recordedStore();
      if (pool === '10.0.0.0/23') store.shards.get('10-0')!.records.set('10.0.0.0/24', 'ecs-0');
      const before = snapshot(store);
      const log = recordingLogger();
      const ledger = new Ledger(store, new BlockAllocator(pool, size), log);
      await ledger.load();
      const mismatch = ledger.poolMismatch;
      assert.ok(mismatch, 'the mismatch is visible');
      const errors = log.lines.filter((l) => l.level === 'error');
      assert.equal(errors.length, 1, JSON.stringify(log.lines));
      assert.match(errors[0]!.message, new RegExp(`--pool-cidr=${pool.replace('/', '\\/')} --block-size=${size} cannot honour`));
      assert.match(errors[0]!.message, /10\.0\.[234]\.0\/24 \(ecs-[123]\)/);
      assert.match(errors[0]!.message, /recorded with --pool-cidr=10\.0\.0\.0\/16 --block-size=24/);
      // Existing holders are served from their records; routes can stay.
      assert.deepEqual(await ledger.assign({ owner: 'ecs-3' }), { block: '10.0.4.0/24', changed: false });
      // Nothing new: not an allocation, not a pin (a /23 covering a recorded /24), not a move.
      assert.ok('refused' in (await ledger.assign({ owner: 'newcomer' })));
      assert.ok('refused' in (await ledger.assign({ owner: 'pinner', pinned: '10.0.2.0/23' })));
      assert.ok('refused' in (await ledger.assign({ owner: 'pinner', pinned: '10.0.8.0/24' })));
      assert.ok('refused' in (await ledger.assign({ owner: 'ecs-1', pinned: '10.0.9.0/24' })));
      assert.equal(snapshot(store), before, 'no record rewritten, none added');
      // A later read of the same records does not repeat the line.
      await ledger.check({ reread: true });
      assert.equal(log.lines.filter((l) => l.level === 'error').length, 1);
    });
  }

  it('a release under a mismatch removes only that record (keeping how the shard was recorded); allocation resumes once every record fits', async () => {
    const store = recordedStore();
    const ledger = new Ledger(store, new BlockAllocator('10.0.0.0/16', 23), silentLogger());
    await ledger.load();
    assert.equal(await ledger.release('ecs-1'), '10.0.2.0/24');
    assert.deepEqual([...store.shards.get('10-0')!.records], [['10.0.3.0/24', 'ecs-2'], ['10.0.4.0/24', 'ecs-3']]);
    assert.deepEqual(store.shards.get('10-0')!.meta, { format: 2, pool: '10.0.0.0/16', blockSize: 24 }, 'not re-stamped with the new flags');
    await ledger.release('ecs-2');
    assert.ok(ledger.poolMismatch);
    await ledger.release('ecs-3');
    assert.equal(ledger.poolMismatch, undefined);
    const b = blockOf(await ledger.assign({ owner: 'newcomer' }));
    assert.match(b, /\/23$/);
  });

  it('a grown pool, and another pool that still contains every record, honour the records and allocate around them', async () => {
    for (const pool of ['10.0.0.0/15', '10.0.0.0/21']) {
      const store = recordedStore();
      const ledger = new Ledger(store, new BlockAllocator(pool, 24), silentLogger());
      await ledger.load();
      assert.equal(ledger.poolMismatch, undefined, pool);
      const got = new Set<string>();
      for (let i = 0; i < 5; i++) got.add(blockOf(await ledger.assign({ owner: `new-${i}` })));
      for (const held of ['10.0.2.0/24', '10.0.3.0/24', '10.0.4.0/24']) assert.ok(!got.has(held), `${pool}: ${held} handed out again`);
      assert.equal(store.shards.get('10-0')!.records.get('10.0.2.0/24'), 'ecs-1');
      assert.equal(store.shards.get('10-0')!.meta?.pool, pool, 'the shard now describes the flags it was written under');
    }
  });

  it('a format newer than this build is refused, not misread', async () => {
    const { decodeShard } = await import('../../controller/ledger-format.js');
    assert.throws(() => decodeShard('x', {}, { 'hostnet.io/ledger-format': '3' }), /format 3, this controller reads formats 1 to 2/);
  });
});

describe('Ledger: changed behind our back, rebuilt from evidence', () => {
  /** ecs-1 and ecs-2 live, each with status and route agreeing on its recorded block. */
  function world(): { store: MemoryLedgerStore; hosts: Map<string, HostEvidence>; found: Inconsistency[][]; ledger: Ledger } {
    const store = new MemoryLedgerStore(true);
    const hosts = new Map<string, HostEvidence>([
      ['ecs-1', { podCIDR: '10.0.0.0/24', route: '10.0.0.0/24' }],
      ['ecs-2', { podCIDR: '10.0.1.0/24', route: '10.0.1.0/24' }],
    ]);
    const found: Inconsistency[][] = [];
    const ledger = new Ledger(store, new BlockAllocator('10.0.0.0/16', 24), silentLogger(), () => true, { evidence: () => hosts, onInconsistencies: (l) => found.push(l) });
    return { store, hosts, found, ledger };
  }

  it('the ledger deleted while running: the next allocation does not hand out a live host’s block, and the records come back', async () => {
    const { store, ledger } = world();
    assert.equal(blockOf(await ledger.assign({ owner: 'ecs-1' })), '10.0.0.0/24');
    assert.equal(blockOf(await ledger.assign({ owner: 'ecs-2' })), '10.0.1.0/24');
    store.shards.clear(); // kubectl delete configmap
    const b = blockOf(await ledger.assign({ owner: 'newcomer' }));
    assert.ok(!['10.0.0.0/24', '10.0.1.0/24'].includes(b), `newcomer got ${b}`);
    assert.deepEqual(Object.fromEntries(store.all()), { '10.0.0.0/24': 'ecs-1', '10.0.1.0/24': 'ecs-2', [b]: 'newcomer' });
    assert.equal(ledger.blockOf('ecs-1'), '10.0.0.0/24');
  });

  it('a record rewritten to name a nonexistent host: the live host whose status and route agree keeps it, and it is reported', async () => {
    const { store, ledger, found } = world();
    await ledger.assign({ owner: 'ecs-1' });
    await ledger.assign({ owner: 'ecs-2' });
    const shard = store.shards.get('10-0')!;
    shard.records.set('10.0.0.0/24', 'ghost');
    shard.version++;
    await ledger.check({ reread: true });
    assert.equal(store.all().get('10.0.0.0/24'), 'ecs-1');
    assert.equal(ledger.blockOf('ecs-1'), '10.0.0.0/24');
    assert.equal(ledger.blockOf('ghost'), undefined);
    assert.equal(found.length, 1);
    assert.match(found[0]![0]!.message, /ghost.*ecs-1 keeps it \(status and route\)/);
  });

  it('a record rewritten to name another live host: nobody is renumbered', async () => {
    const { store, ledger, found } = world();
    await ledger.assign({ owner: 'ecs-1' });
    await ledger.assign({ owner: 'ecs-2' });
    const shard = store.shards.get('10-0')!;
    shard.records.set('10.0.0.0/24', 'ecs-2');
    shard.records.delete('10.0.1.0/24');
    shard.version++;
    const b = blockOf(await ledger.assign({ owner: 'newcomer' }));
    assert.ok(!['10.0.0.0/24', '10.0.1.0/24'].includes(b));
    assert.deepEqual(Object.fromEntries(store.all()), { '10.0.0.0/24': 'ecs-1', '10.0.1.0/24': 'ecs-2', [b]: 'newcomer' });
    assert.ok(found.flat().some((i) => i.claimant === 'ecs-2' && i.keptBy === 'ecs-1'), JSON.stringify(found));
  });

  it('at start-up a record of a missing host never takes a live host’s block, and a live host missing from the ledger gets its block back', async () => {
    const { store, ledger, hosts } = world();
    store.shards.set('10-0', { records: new Map([['10.0.0.0/24', 'ghost'], ['10.0.5.0/24', 'gone']]), version: 1 });
    hosts.set('ecs-3', { podCIDR: '10.0.7.0/24' });
    await ledger.load();
    const found = await ledger.check({ rebuild: true });
    assert.deepEqual(Object.fromEntries(store.all()), { '10.0.0.0/24': 'ecs-1', '10.0.1.0/24': 'ecs-2', '10.0.7.0/24': 'ecs-3', '10.0.5.0/24': 'gone' });
    assert.equal(found.length, 1, JSON.stringify(found));
    assert.equal(found[0]!.claimant, 'ghost');
  });

  it('sharded: a move across /16s whose two shard writes do not both land leaves the owner one block after the reread', async () => {
    const store = new MemoryLedgerStore(true);
    const ledger = new Ledger(store, new BlockAllocator('10.0.0.0/15', 24), silentLogger());
    assert.equal(blockOf(await ledger.assign({ owner: 'a', pinned: '10.0.9.0/24' })), '10.0.9.0/24');
    // Another writer bumps the shard 10.1 so our write there fails once; the one to 10.0 lands.
    store.shards.set('10-1', { records: new Map([['10.1.1.0/24', 'b']]), version: 1 });
    assert.equal(blockOf(await ledger.assign({ owner: 'a', pinned: '10.1.9.0/24' })), '10.1.9.0/24');
    assert.ok(ledger.conflicts > 0, 'the write to 10.1 did conflict');
    assert.deepEqual(Object.fromEntries(store.all()), { '10.1.1.0/24': 'b', '10.1.9.0/24': 'a' });
  });
});
