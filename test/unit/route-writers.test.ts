// One route table over the in-memory cloud in each shape a provider can declare: atomic
// batches with a size limit, partial batches, one call per route with a concurrency, and
// asynchronous entries (pending until the cloud shows them available).
import assert from 'node:assert/strict';
import { containsCidr, formatCidr, parseCidr } from '../../controller/cidr.js';
import { CloudError } from '../../controller/provider/errors.js';
import { MemoryCode, MemoryProvider, type MemoryProviderOptions } from '../../controller/provider/memory.js';
import type { RouteSpec } from '../../controller/provider/provider.js';
import { isOwnedBy, markFor } from '../../controller/routes/marks.js';
import { CloudGate, RouteTable, type TableOptions } from '../../controller/routes/table.js';
import { waitFor } from '../helpers/kube.js';

const ID = 'ut';
const POOL = parseCidr('10.0.0.0/16')!;
const blockN = (i: number) => formatCidr({ base: POOL.base + i * 256, prefix: 24 });
const spec = (owner: string, dest: string, nexthop: string): RouteSpec => ({ destination: dest, nexthop, description: markFor(ID, owner) });
const servers = (n: number) => Array.from({ length: n }, (_, i) => `i-${i}`);

function options(extra: Partial<TableOptions> = {}): TableOptions {
  return {
    capacity: 200,
    batchWindowMs: 1,
    isOwned: (r) => r.kind === 'host' && isOwnedBy(ID, r.description),
    inPool: (d) => {
      const c = parseCidr(d, false);
      return c !== undefined && containsCidr(POOL, c);
    },
    gate: new CloudGate(),
    ...extra,
  };
}

function cloud(o: MemoryProviderOptions): MemoryProvider {
  return new MemoryProvider({ servers: servers(40), ...o });
}

describe('routes/table with each write capability (MemoryProvider)', () => {
  it('atomic batches never carry more than maxBatch changes', async () => {
    const p = cloud({ routeWrites: { kind: 'atomic-batch', maxBatch: 10 } });
    const t = new RouteTable('rtb-1', p, options());
    await t.refresh();
    for (let i = 0; i < 35; i++) t.set(`h${i}`, spec(`h${i}`, blockN(i), `i-${i}`));
    await t.flush();
    const calls = p.calls.filter((c) => c.operation === 'routes.apply');
    assert.deepEqual(calls.map((c) => c.add), [10, 10, 10, 5]);
    for (let i = 0; i < 35; i++) assert.equal(t.outcome(`h${i}`).state, 'Programmed', `h${i}`);
  });

  it('per-route: one call per route, at most `concurrency` at once, a migration is a replace', async () => {
    const p = cloud({ routeWrites: { kind: 'per-route', concurrency: 4 } });
    p.latencyMs = 2;
    const t = new RouteTable('rtb-1', p, options());
    await t.refresh();
    for (let i = 0; i < 20; i++) t.set(`h${i}`, spec(`h${i}`, blockN(i), `i-${i}`));
    await t.flush();
    assert.equal(p.count('routes.write'), 20);
    assert.equal(p.count('routes.apply'), 0);
    assert.ok(p.maxInFlight > 1 && p.maxInFlight <= 4, `maxInFlight=${p.maxInFlight}`);
    for (let i = 0; i < 20; i++) assert.equal(t.outcome(`h${i}`).state, 'Programmed', `h${i}`);

    const before = p.calls.length;
    t.set('h3', spec('h3', blockN(3), 'i-30'));
    await t.flush();
    assert.deepEqual(p.calls.slice(before).map((c) => [c.operation, c.add, c.mod, c.del]), [['routes.write', 0, 1, 0]], 'one replace, not delete + create');
    assert.equal(p.tables.get('rtb-1')!.get(blockN(3))!.nexthop, 'i-30');
  });

  it('per-route: a refused route is found without bisection and the others are programmed', async () => {
    const p = cloud({ routeWrites: { kind: 'per-route', concurrency: 3 } });
    const t = new RouteTable('rtb-1', p, options());
    await t.refresh();
    for (let i = 0; i < 12; i++) t.set(`h${i}`, spec(`h${i}`, blockN(i), i === 5 ? 'i-ghost' : `i-${i}`));
    await t.flush();
    assert.equal(p.count('routes.write'), 12, 'each route sent exactly once');
    for (let i = 0; i < 12; i++) {
      const o = t.outcome(`h${i}`);
      if (i === 5) assert.deepEqual([o.state, o.error?.code], ['Error', MemoryCode.nexthopNotFound]);
      else assert.equal(o.state, 'Programmed', `h${i}`);
    }
  });

  it('per-route: a retryable failure stops new calls; what was not sent goes with the next flush', async () => {
    const p = cloud({ routeWrites: { kind: 'per-route', concurrency: 1 } });
    const gate = new CloudGate();
    const t = new RouteTable('rtb-1', p, options({ gate }));
    await t.refresh();
    p.failNext.push({ operation: 'routes.write', error: new CloudError({ kind: 'transient', operation: 'routes.write', httpStatus: 503 }) });
    for (let i = 0; i < 5; i++) t.set(`h${i}`, spec(`h${i}`, blockN(i), `i-${i}`));
    await t.flush();
    assert.equal(p.count('routes.write'), 1, 'nothing after the failure');
    for (let i = 0; i < 5; i++) assert.equal(t.outcome(`h${i}`).state, 'Error');
    gate.notBefore = 0;
    await t.flush();
    for (let i = 0; i < 5; i++) assert.equal(t.outcome(`h${i}`).state, 'Programmed', `h${i}`);
    assert.equal(p.tables.get('rtb-1')!.size, 5);
  });

  it('partial batches: the refused change is named by the cloud, the rest applied in the same call', async () => {
    const p = cloud({ routeWrites: { kind: 'partial-batch', maxBatch: 50 } });
    const t = new RouteTable('rtb-1', p, options());
    await t.refresh();
    for (let i = 0; i < 8; i++) t.set(`h${i}`, spec(`h${i}`, blockN(i), i === 2 ? 'i-ghost' : `i-${i}`));
    await t.flush();
    assert.equal(p.count('routes.apply'), 1, 'no bisection');
    for (let i = 0; i < 8; i++) assert.equal(t.outcome(`h${i}`).state, i === 2 ? 'Error' : 'Programmed', `h${i}`);
    assert.equal(p.tables.get('rtb-1')!.size, 7);
  });

  it('asynchronous entries: Pending until the cloud shows them available, then the host is told', async () => {
    const settled: string[] = [];
    const p = cloud({ asyncRoutes: true });
    const t = new RouteTable('rtb-1', p, options({ pendingPollMs: 5, onSettled: (o) => settled.push(...o) }));
    await t.refresh();
    t.set('h1', spec('h1', blockN(1), 'i-1'));
    await t.flush();
    assert.equal(p.tables.get('rtb-1')!.get(blockN(1))!.state, 'pending');
    assert.deepEqual(t.outcome('h1'), { state: 'Pending', cloudPending: true });
    // Still pending at the cloud: re-reads change nothing and send nothing.
    const reads = p.count('routes.list');
    await waitFor('a re-read of the pending table', async () => p.count('routes.list') > reads + 1, 5000, 2);
    assert.equal(t.outcome('h1').state, 'Pending');
    assert.equal(p.count('routes.apply'), 1, 'the pending route is not written again');
    settled.length = 0;
    p.settleRoutes();
    await waitFor('the route available', async () => t.outcome('h1').state === 'Programmed', 5000, 2);
    await waitFor('h1 re-queued', async () => settled.includes('h1'), 5000, 2);
    t.stop();
  });
});
