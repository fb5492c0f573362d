// The ledger's stored format as pure code: which shard a record lives in, how a shard describes
// itself, and that format 1 (the single ConfigMap before sharding) still decodes.
import assert from 'node:assert/strict';
import { decodeShard, describeMeta, encodeShard, shardKeyOf, shardName, shardRange } from '../../controller/ledger-format.js';

describe('ledger format', () => {
  it('cuts records by the /16 holding the block; a block larger than a /16 goes by its first address', () => {
    assert.equal(shardKeyOf('10.0.2.0/24'), '10-0');
    assert.equal(shardKeyOf('10.255.255.252/30'), '10-255');
    assert.equal(shardKeyOf('172.16.0.0/12'), '172-16');
    assert.equal(shardKeyOf('not a cidr'), 'invalid', 'a hand-edited key is kept, not dropped');
    assert.equal(shardRange('10-255'), '10.255.0.0/16');
    assert.equal(shardName('blue', '10-0'), 'hostnet-allocations-blue-10-0');
  });

  it('round-trips records and the flags they were written under', () => {
    const records = new Map([
      ['10.0.2.0/24', 'ecs-1'],
      ['10.0.3.0/24', 'ecs-2'],
    ]);
    const enc = encodeShard('10-0', records, { format: 2, pool: '10.0.0.0/16', blockSize: 24 });
    assert.deepEqual(enc.data, { '10.0.2.0_24': 'ecs-1', '10.0.3.0_24': 'ecs-2' });
    assert.equal(enc.annotations['hostnet.io/ledger-format'], '2');
    assert.equal(enc.annotations['hostnet.io/ledger-shard'], '10.0.0.0/16');
    const dec = decodeShard('x', enc.data, enc.annotations);
    assert.deepEqual([...dec.records], [...records]);
    assert.deepEqual(dec.meta, { format: 2, pool: '10.0.0.0/16', blockSize: 24 });
    assert.equal(describeMeta(dec.meta), '--pool-cidr=10.0.0.0/16 --block-size=24');
  });

  it('reads format 1 (no annotations) as records of unknown flags; refuses formats it does not know', () => {
    const dec = decodeShard('hostnet-allocations-default', { '10.0.2.0_24': 'ecs-1' }, undefined);
    assert.deepEqual(dec.meta, { format: 1, pool: '', blockSize: undefined });
    assert.equal(dec.records.get('10.0.2.0/24'), 'ecs-1');
    assert.match(describeMeta(dec.meta), /unknown flags/);
    assert.throws(() => decodeShard('y', {}, { 'hostnet.io/ledger-format': 'two' }), /format two/);
  });
});
