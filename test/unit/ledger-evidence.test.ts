// Rebuilding the ledger from evidence, as pure code: the strongest claim keeps each block, each
// host ends with at most one block, and every claim that loses is reported.
import assert from 'node:assert/strict';
import { BlockAllocator } from '../../controller/allocator.js';
import { rebuildFromEvidence, type HostEvidence } from '../../controller/ledger-evidence.js';

const pool = new BlockAllocator('10.0.0.0/16', 24);
const honourable = (b: string): boolean => pool.fits(b);

function run(stored: [string, string][], hosts: [string, HostEvidence][], remembered: [string, string][] = []) {
  return rebuildFromEvidence({ stored: new Map(stored), hosts: new Map(hosts), remembered: new Map(remembered), honourable });
}

describe('rebuildFromEvidence', () => {
  it('agreeing sources are not news', () => {
    const r = run([['10.0.1.0/24', 'a']], [['a', { podCIDR: '10.0.1.0/24', route: '10.0.1.0/24' }]], [['10.0.1.0/24', 'a']]);
    assert.deepEqual([...r.records], [['10.0.1.0/24', 'a']]);
    assert.deepEqual(r.inconsistencies, []);
  });

  it('status and route agreeing beat a record naming someone else; the record’s host keeps its own block', () => {
    const r = run(
      [['10.0.1.0/24', 'b'], ['10.0.2.0/24', 'b']],
      [['a', { podCIDR: '10.0.1.0/24', route: '10.0.1.0/24' }], ['b', { podCIDR: '10.0.2.0/24', route: '10.0.2.0/24' }]],
    );
    assert.deepEqual(Object.fromEntries(r.records), { '10.0.1.0/24': 'a', '10.0.2.0/24': 'b' });
    assert.equal(r.inconsistencies.length, 1);
    assert.equal(r.inconsistencies[0]!.claimant, 'b');
    assert.equal(r.inconsistencies[0]!.keptBy, 'a');
  });

  it('a live host’s status alone beats a record of a missing host; a record of a missing host nobody else claims is kept (for garbage collection)', () => {
    const r = run([['10.0.1.0/24', 'ghost'], ['10.0.9.0/24', 'gone']], [['a', { podCIDR: '10.0.1.0/24' }]]);
    assert.deepEqual(Object.fromEntries(r.records), { '10.0.1.0/24': 'a', '10.0.9.0/24': 'gone' });
    assert.deepEqual(r.inconsistencies.map((i) => [i.claimant, i.source]), [['ghost', 'ledger record of a missing host']]);
  });

  it('the record of a live host beats its own stale status; memory only fills gaps', () => {
    const r = run([['10.0.5.0/24', 'a']], [['a', { podCIDR: '10.0.4.0/24' }], ['b', {}]], [['10.0.6.0/24', 'b'], ['10.0.7.0/24', 'a']]);
    assert.deepEqual(Object.fromEntries(r.records), { '10.0.5.0/24': 'a', '10.0.6.0/24': 'b' });
    assert.deepEqual(r.inconsistencies.map((i) => [i.claimant, i.block, i.source]), [['a', '10.0.4.0/24', 'status']]);
  });

  it('evidence the flags cannot hold is dropped and reported, never recorded', () => {
    const r = run([], [['a', { podCIDR: '10.0.4.0/23', route: '10.0.4.0/23' }]]);
    assert.deepEqual([...r.records], []);
    assert.match(r.inconsistencies[0]!.message, /cannot hold/);
  });
});
