import assert from 'node:assert/strict';
import { HEAP_GROWING_PERCENT, limitHeapGrowth } from '../../controller/heap.js';

describe('heap growth (controller/heap.ts)', () => {
  it('sets V8\'s heap growing factor when the command line did not', () => {
    const set: string[] = [];
    assert.equal(limitHeapGrowth(['--max-semi-space-size=2'], (f) => set.push(f)), true);
    assert.deepEqual(set, [`--heap-growing-percent=${HEAP_GROWING_PERCENT}`]);
  });

  it('leaves a factor given on the command line alone, in either spelling', () => {
    for (const argv of [['--heap-growing-percent=80'], ['--heap_growing_percent=80'], ['--heap-growing-percent', '80']]) {
      const set: string[] = [];
      assert.equal(limitHeapGrowth(argv, (f) => set.push(f)), false, argv.join(' '));
      assert.deepEqual(set, [], argv.join(' '));
    }
  });
});
