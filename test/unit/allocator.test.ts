// The block allocator: a bitmap over a pool cut into equal blocks.
import assert from 'node:assert/strict';
import { BlockAllocator, type ClaimProblem } from '../../controller/allocator.js';

describe('BlockAllocator', () => {
  it('rejects a pool that is not a network address and block sizes that do not fit', () => {
    assert.throws(() => new BlockAllocator('10.0.0.1/16', 24), /not a CIDR network address/);
    assert.throws(() => new BlockAllocator('10.0.0.0/16', 15), /does not fit/);
    assert.throws(() => new BlockAllocator('10.0.0.0/16', 33), /does not fit/);
    assert.throws(() => new BlockAllocator('10.0.0.0/16', 24.5), /does not fit/);
    assert.throws(() => new BlockAllocator('0.0.0.0/4', 30), /more than 2\^24 blocks/);
    assert.equal(new BlockAllocator('10.0.0.0/16', 16).blockCount, 1);
  });

  it('allocates in order from the start of the pool', () => {
    const a = new BlockAllocator('10.0.0.0/16', 24);
    assert.equal(a.blockCount, 256);
    assert.equal(a.blockSize, 256);
    assert.equal(a.allocate('h0'), '10.0.0.0/24');
    assert.equal(a.allocate('h1'), '10.0.1.0/24');
    assert.equal(a.allocate('h2'), '10.0.2.0/24');
    assert.equal(a.ownerOf('10.0.1.0/24'), 'h1');
    assert.equal(a.usedBlocks, 3);
    assert.equal(a.freeBlocks, 253);
  });

  it('round-robin: a released block is not handed out again right away; wraps around at the end', () => {
    const a = new BlockAllocator('10.0.0.0/22', 24); // 4 blocks
    assert.equal(a.allocate('a'), '10.0.0.0/24');
    assert.equal(a.allocate('b'), '10.0.1.0/24');
    assert.equal(a.release('10.0.0.0/24', 'a'), true);
    assert.equal(a.allocate('c'), '10.0.2.0/24');
    assert.equal(a.allocate('d'), '10.0.3.0/24');
    assert.equal(a.allocate('e'), '10.0.0.0/24', 'wraps to the released block');
    assert.equal(a.allocate('f'), undefined, 'full');
    assert.equal(a.freeBlocks, 0);
  });

  it('skips reserved blocks (VPC subnets) when allocating', () => {
    const a = new BlockAllocator('10.0.0.0/22', 24, ['10.0.1.0/24', '10.0.2.128/25']);
    assert.equal(a.freeBlocks, 2);
    assert.equal(a.allocate('a'), '10.0.0.0/24');
    assert.equal(a.allocate('b'), '10.0.3.0/24');
    assert.equal(a.allocate('c'), undefined);
  });

  it('ignores reserved ranges outside the pool; a reserved range containing the pool reserves everything', () => {
    const a = new BlockAllocator('10.0.0.0/22', 24, ['192.168.0.0/16', 'garbage']);
    assert.equal(a.freeBlocks, 4);
    const b = new BlockAllocator('10.0.0.0/22', 24, ['10.0.0.0/8']);
    assert.equal(b.freeBlocks, 0);
    assert.equal(b.allocate('x'), undefined);
  });

  describe('check / claim', () => {
    const pool = () => new BlockAllocator('10.0.0.0/16', 24, ['10.0.7.0/24', '10.0.32.0/20']);
    const problem = (a: BlockAllocator, block: string, owner = 'me'): ClaimProblem | undefined => a.check(block, owner);

    it('NotInPool: outside the pool, partly outside, or not a network address', () => {
      const a = pool();
      for (const b of ['192.168.0.0/24', '10.1.0.0/24', '10.0.0.0/8', 'nonsense']) {
        const p = problem(a, b);
        assert.equal(p?.rule, 'NotInPool', b);
        assert.match(p.message, /10\.0\.0\.0\/16/, 'names the pool');
      }
    });

    it('WrongBlockSize: inside the pool but not a /24', () => {
      const a = pool();
      for (const b of ['10.0.0.0/23', '10.0.0.0/25', '10.0.5.7/32', '10.0.0.0/16']) {
        const p = problem(a, b);
        assert.equal(p?.rule, 'WrongBlockSize', b);
        assert.match(p.message, /\/24/);
      }
    });

    it('OverlapsReserved: a VPC subnet inside the pool, and a reserved range larger than a block', () => {
      const a = pool();
      const p1 = problem(a, '10.0.7.0/24');
      assert.equal(p1?.rule, 'OverlapsReserved');
      assert.equal(p1.rule === 'OverlapsReserved' && p1.with, '10.0.7.0/24');
      for (const b of ['10.0.32.0/24', '10.0.40.0/24', '10.0.47.0/24']) {
        const p = problem(a, b);
        assert.equal(p?.rule, 'OverlapsReserved', b);
        assert.equal(p.rule === 'OverlapsReserved' && p.with, '10.0.32.0/20');
        assert.match(p.message, /10\.0\.32\.0\/20/);
      }
      assert.equal(problem(a, '10.0.31.0/24'), undefined, 'just below the /20');
      assert.equal(problem(a, '10.0.48.0/24'), undefined, 'just above the /20');
      assert.equal(a.freeBlocks, 256 - 1 - 16);
      assert.throws(() => a.claim('10.0.33.0/24', 'me'), /overlaps/);
    });

    it('InUse names the holder; the holder itself may claim again (idempotent)', () => {
      const a = pool();
      a.claim('10.0.9.0/24', 'alice');
      const p = problem(a, '10.0.9.0/24', 'bob');
      assert.equal(p?.rule, 'InUse');
      assert.equal(p.rule === 'InUse' && p.with, 'alice');
      assert.match(p.message, /alice/);
      assert.equal(problem(a, '10.0.9.0/24', 'alice'), undefined);
      a.claim('10.0.9.0/24', 'alice');
      assert.equal(a.usedBlocks, 1, 'claiming twice counts once');
      assert.throws(
        () => a.claim('10.0.9.0/24', 'bob'),
        (err: Error & { problem?: ClaimProblem }) => err.problem?.rule === 'InUse' && /alice/.test(err.message),
      );
      assert.equal(a.ownerOf('10.0.9.0/24'), 'alice');
    });

    it('a claimed block is skipped by allocate', () => {
      const a = new BlockAllocator('10.0.0.0/22', 24);
      a.claim('10.0.0.0/24', 'pinned');
      assert.equal(a.allocate('x'), '10.0.1.0/24');
    });
  });

  describe('release', () => {
    it('frees only when the owner holds the block (or any holder when no owner is given)', () => {
      const a = new BlockAllocator('10.0.0.0/16', 24);
      a.claim('10.0.3.0/24', 'alice');
      assert.equal(a.release('10.0.3.0/24', 'bob'), false);
      assert.equal(a.ownerOf('10.0.3.0/24'), 'alice');
      assert.equal(a.usedBlocks, 1);
      assert.equal(a.release('10.0.3.0/24', 'alice'), true);
      assert.equal(a.ownerOf('10.0.3.0/24'), undefined);
      assert.equal(a.usedBlocks, 0);
      assert.equal(a.release('10.0.3.0/24', 'alice'), false, 'already free');
      a.claim('10.0.4.0/24', 'carol');
      assert.equal(a.release('10.0.4.0/24'), true);
      assert.equal(a.usedBlocks, 0);
    });

    it('returns false for blocks outside the pool or of the wrong size', () => {
      const a = new BlockAllocator('10.0.0.0/16', 24);
      a.claim('10.0.0.0/24', 'x');
      assert.equal(a.release('10.0.0.0/23'), false);
      assert.equal(a.release('10.1.0.0/24'), false);
      assert.equal(a.release('bogus'), false);
      assert.equal(a.usedBlocks, 1);
    });
  });

  it('exhaustion returns undefined and changes nothing', () => {
    const a = new BlockAllocator('10.0.0.0/23', 24);
    assert.ok(a.allocate('a'));
    assert.ok(a.allocate('b'));
    assert.equal(a.allocate('c'), undefined);
    assert.equal(a.usedBlocks, 2);
    assert.equal(a.freeBlocks, 0);
    assert.equal(a.ownerOf('10.0.0.0/24'), 'a');
  });

  describe('rebuild', () => {
    it('replaces the state with the records and reports the ones it cannot honour', () => {
      const a = new BlockAllocator('10.0.0.0/16', 24);
      a.claim('10.0.50.0/24', 'stale');
      const rejected = a.rebuild([
        ['10.0.1.0/24', 'a'],
        ['10.0.2.0/24', 'b'],
        ['10.1.0.0/24', 'outside'],
        ['10.0.3.0/25', 'small'],
        ['not-a-cidr', 'junk'],
      ]);
      assert.deepEqual(
        rejected.map((r) => [r.block, r.owner]),
        [
          ['10.1.0.0/24', 'outside'],
          ['10.0.3.0/25', 'small'],
          ['not-a-cidr', 'junk'],
        ],
      );
      for (const r of rejected) assert.match(r.problem, /\/24 block of 10\.0\.0\.0\/16/);
      assert.equal(a.usedBlocks, 2);
      assert.equal(a.ownerOf('10.0.50.0/24'), undefined, 'earlier state is gone');
      assert.equal(a.ownerOf('10.0.2.0/24'), 'b');
      assert.equal(a.check('10.0.1.0/24', 'z')?.rule, 'InUse');
      assert.equal(a.freeBlocks, 254);
    });

    it('keeps the reservations; a record on a reserved block is honoured and counted once in freeBlocks', () => {
      const a = new BlockAllocator('10.0.0.0/22', 24, ['10.0.1.0/24']);
      a.rebuild([['10.0.1.0/24', 'legacy']]);
      assert.equal(a.ownerOf('10.0.1.0/24'), 'legacy');
      assert.equal(a.usedBlocks, 1);
      assert.equal(a.freeBlocks, 3, 'reserved+used block counted once');
      assert.equal(a.allocate('n1'), '10.0.0.0/24');
      assert.equal(a.allocate('n2'), '10.0.2.0/24');
      assert.equal(a.allocate('n3'), '10.0.3.0/24');
      assert.equal(a.allocate('n4'), undefined);
      assert.equal(a.freeBlocks, 0);
    });
  });

  it('freeBlocks + usedBlocks + reserved-only = blockCount through allocate/claim/release', () => {
    const a = new BlockAllocator('10.0.0.0/20', 24, ['10.0.4.0/23']); // 16 blocks, 2 reserved
    const held: string[] = [];
    for (let i = 0; i < 10; i++) held.push(a.allocate(`h${i}`)!);
    assert.equal(a.usedBlocks, 10);
    assert.equal(a.freeBlocks, 4);
    for (const b of held.slice(0, 3)) a.release(b);
    assert.equal(a.usedBlocks, 7);
    assert.equal(a.freeBlocks, 7);
    assert.equal(a.usedBlocks + a.freeBlocks + 2, a.blockCount);
  });

  it('a /8 pool with /24 blocks hands out all 65,536 blocks without duplicates', () => {
    const a = new BlockAllocator('10.0.0.0/8', 24);
    assert.equal(a.blockCount, 65_536);
    const seen = new Set<string>();
    for (let i = 0; i < 65_536; i++) {
      const b = a.allocate(`h${i}`);
      assert.ok(b !== undefined, `allocation ${i}`);
      seen.add(b);
    }
    assert.equal(seen.size, 65_536);
    assert.ok(seen.has('10.0.0.0/24'));
    assert.ok(seen.has('10.255.255.0/24'));
    assert.equal(a.allocate('one-too-many'), undefined);
    assert.equal(a.freeBlocks, 0);
    assert.equal(a.ownerOf('10.1.2.0/24'), 'h258');
  });
});
