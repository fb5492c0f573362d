// The per-object Event budget (client-go's EventSourceObjectSpamFilter): a burst, then one Event
// per refill interval; objects do not share a budget; a forgotten object leaves nothing behind.
import assert from 'node:assert/strict';
import { SpamFilter } from '../../controller/kube/spamfilter.js';

describe('kube/spamfilter', () => {
  it('lets a burst through, drops past it, then lets one through per refill interval', () => {
    let now = 1_000_000;
    const f = new SpamFilter({ burst: 25, refillMs: 300_000 }, () => now);
    const allowed = Array.from({ length: 40 }, () => f.allow('a')).filter(Boolean).length;
    assert.equal(allowed, 25);
    now += 299_999;
    assert.equal(f.allow('a'), false, 'no token before a full interval has passed');
    now += 1;
    assert.equal(f.allow('a'), true, 'one token after one interval');
    assert.equal(f.allow('a'), false);
    now += 3 * 300_000 + 150_000;
    const later = Array.from({ length: 10 }, () => f.allow('a')).filter(Boolean).length;
    assert.equal(later, 3, 'three intervals, three tokens');
    now += 150_000;
    assert.equal(f.allow('a'), true, 'the half interval left over counts towards the next token');
  });

  it('never refills past the burst, however long the object was quiet', () => {
    let now = 0;
    const f = new SpamFilter({ burst: 5, refillMs: 1000 }, () => now);
    for (let i = 0; i < 5; i++) f.allow('a');
    now += 1_000_000;
    assert.equal(Array.from({ length: 20 }, () => f.allow('a')).filter(Boolean).length, 5);
  });

  it('each object has its own budget', () => {
    const f = new SpamFilter({ burst: 2, refillMs: 1000 }, () => 0);
    assert.deepEqual([f.allow('a'), f.allow('a'), f.allow('a'), f.allow('b'), f.allow('b'), f.allow('b')], [true, true, false, true, true, false]);
  });

  it('forget() and prune() drop buckets: per object state shrinks when objects go or go quiet', () => {
    let now = 0;
    const f = new SpamFilter({ burst: 2, refillMs: 1000 }, () => now);
    for (const k of ['a', 'b', 'c']) f.allow(k);
    assert.equal(f.size, 3);
    f.forget('a');
    assert.equal(f.size, 2);
    f.allow('b');
    now += 1000; // c is full again, b (two spent) is not
    f.prune();
    assert.equal(f.size, 1);
    now += 1000;
    f.prune();
    assert.equal(f.size, 0);
    assert.equal(f.allow('a'), true, 'a forgotten object starts with a full budget');
  });
});
