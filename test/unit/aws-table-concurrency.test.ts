// controller/provider/aws/table-concurrency.ts: bounded writes per route table.
import assert from 'node:assert/strict';
import { PerTableConcurrency } from '../../controller/provider/aws/table-concurrency.js';

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void } {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('AWS per-table write concurrency', () => {
  it('runs at most `limit` per table, in arrival order, and other tables are not held up', async () => {
    const limit = new PerTableConcurrency(2);
    const started: string[] = [];
    const gates = new Map<string, ReturnType<typeof deferred>>();
    const task = (table: string, id: string): Promise<void> =>
      limit.run(table, async () => {
        started.push(id);
        const d = deferred();
        gates.set(id, d);
        await d.promise;
      });
    // Outcomes observed as they settle (no rejection left unhandled while the others run).
    const all = [task('a', 'a1'), task('a', 'a2'), task('a', 'a3'), task('a', 'a4'), task('b', 'b1')].map((p) =>
      p.then(
        () => 'fulfilled',
        () => 'rejected',
      ),
    );
    await tick();
    assert.deepEqual(started, ['a1', 'a2', 'b1']);
    assert.deepEqual([limit.inFlight('a'), limit.queued('a'), limit.inFlight('b')], [2, 2, 1]);
    gates.get('a2')!.resolve();
    await tick();
    assert.deepEqual(started, ['a1', 'a2', 'b1', 'a3']);
    gates.get('a1')!.reject(new Error('boom')); // a failed write frees its slot too
    await tick();
    assert.deepEqual(started, ['a1', 'a2', 'b1', 'a3', 'a4']);
    for (const id of ['a3', 'a4', 'b1']) gates.get(id)!.resolve();
    assert.deepEqual(await Promise.all(all), ['rejected', 'fulfilled', 'fulfilled', 'fulfilled', 'fulfilled'],
    );
    assert.deepEqual([limit.inFlight('a'), limit.queued('a'), limit.inFlight('b')], [0, 0, 0]);
  });

  it('refuses a limit below 1', () => {
    assert.throws(() => new PerTableConcurrency(0), /positive integer/);
  });
});
