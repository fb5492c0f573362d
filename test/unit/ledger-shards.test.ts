// The sharded ledger near the API server's object limit: the fill ratio rises before anything
// fails, a shard with no room refuses one more record (LedgerFull) instead of failing the whole
// write, and releases keep working, so finalizers never hang.
import assert from 'node:assert/strict';
import { BlockAllocator } from '../../controller/allocator.js';
import { Ledger, MemoryLedgerStore } from '../../controller/ledger.js';
import { SHARD_LIMIT_BYTES, shardBytes } from '../../controller/ledger-format.js';
import { silentLogger } from '../../controller/logger.js';

describe('Ledger: shards near the 1 MiB object limit', () => {
  it('a /16 of /32 blocks with 250-character names: the fill ratio warns first, then single records are refused, releases still go through', async () => {
    const store = new MemoryLedgerStore(true);
    const ledger = new Ledger(store, new BlockAllocator('10.0.0.0/16', 32), silentLogger());
    const name = (i: number) => `${'h'.repeat(244)}-${String(i).padStart(5, '0')}`;
    const perRecord = '10.0.0.0/32'.length + name(0).length;
    const fit = Math.floor(SHARD_LIMIT_BYTES / perRecord);
    // Up to 85% of the limit: everything is recorded, and the ratio shows it.
    const first = Math.floor(fit * 0.85);
    const a = await Promise.all(Array.from({ length: first }, (_, i) => ledger.assign({ owner: name(i) })));
    assert.ok(a.every((r) => 'block' in r));
    assert.ok(ledger.stats().fillRatio > 0.8 && ledger.stats().fillRatio < 0.9, String(ledger.stats().fillRatio));
    // Past the limit: the records that would not fit are refused one by one; the rest are stored.
    const more = await Promise.all(Array.from({ length: fit - first + 50 }, (_, i) => ledger.assign({ owner: name(first + i) })));
    const refused = more.filter((r) => 'ledgerFull' in r);
    assert.ok(refused.length >= 50, `${refused.length} refused`);
    assert.match((refused[0] as { ledgerFull: string }).ledgerFull, /shard of 10\.0\.\d+\.\d+\/32 is full/);
    const stored = store.shards.get('10-0')!.records;
    assert.ok(shardBytes(stored) <= SHARD_LIMIT_BYTES && shardBytes(stored) > SHARD_LIMIT_BYTES - 2 * perRecord, `${shardBytes(stored)} bytes stored`);
    assert.equal(stored.size, first + more.length - refused.length);
    // A release in a full shard is written.
    const held = ledger.blockOf(name(0))!;
    assert.equal(await ledger.release(name(0)), held);
    assert.equal(store.shards.get('10-0')!.records.has(held), false);
  });
});
