// The reconciler with in-memory parts: a real Ledger + BlockAllocator over MemoryLedgerStore,
// RouteTableSet over MemoryProvider, a fake StatusWriter, MemoryEventSink, silent logger.
import assert from 'node:assert/strict';
import { BlockAllocator } from '../../controller/allocator.js';
import { getCondition } from '../../controller/api/conditions.js';
import { FINALIZER, type HostNetworkSpec } from '../../controller/api/types.js';
import { containsCidr, parseCidr } from '../../controller/cidr.js';
import { Ledger, MemoryLedgerStore } from '../../controller/ledger.js';
import { silentLogger } from '../../controller/logger.js';
import { CloudError } from '../../controller/provider/errors.js';
import { MEMORY_CHECK_OFF as CHECK_OFF, MemoryProvider, type MemoryProviderOptions } from '../../controller/provider/memory.js';
import { Reconciler, RetryLater } from '../../controller/reconciler.js';
import { markFor } from '../../controller/routes/marks.js';
import { FakeStatusWriter, type JournalEntry } from './fakes/status.js';
import { wireReconciler } from './fakes/wiring.js';
import type { MemoryEventSink } from '../../controller/kube/events.js';
import type { RouteTableSet } from '../../controller/routes/tableset.js';

const ID = 'ut';

interface Harness {
  rec: Pick<Reconciler, 'sync'>;
  inner: Reconciler;
  status: FakeStatusWriter;
  journal: JournalEntry[];
  store: MemoryLedgerStore;
  ledger: Ledger;
  tables: RouteTableSet;
  provider: MemoryProvider;
  events: MemoryEventSink;
  create(name: string, spec: HostNetworkSpec): void;
  cond(name: string, type: string): { status: string; reason: string; message: string } | undefined;
  routes(): Map<string, { nexthop: string; description: string; kind: string }>;
  updates(): { add?: number; mod?: number; del?: number }[];
}

async function harness(
  o: {
    pool?: string;
    blockSize?: number;
    servers?: string[];
    sourceDestCheck?: 'disable' | 'block' | 'off';
    foreign?: { destination: string; nexthop: string; description: string }[];
    confirmGone?: (name: string) => Promise<boolean>;
    /** The cloud's shape (write capability, ownership, source/dest check); default: atomic batches, marks. */
    cloud?: MemoryProviderOptions;
    /** Ledger records that exist before the first sync (a restart). */
    records?: Record<string, string>;
  } = {},
): Promise<Harness> {
  const pool = o.pool ?? '10.0.0.0/16';
  const journal: JournalEntry[] = [];
  const provider = new MemoryProvider({ servers: o.servers ?? ['i-1', 'i-2', 'i-3'], localRoutes: ['192.168.0.0/24'], ...o.cloud });
  for (const f of o.foreign ?? []) provider.tables.get('rtb-1')!.set(f.destination, { ...f, kind: 'host' });
  const apply = provider.applyRoutes.bind(provider);
  provider.applyRoutes = async (id, batch) => {
    journal.push({ kind: 'cloud', operation: 'routes.apply', detail: { add: batch.add.length, mod: batch.mod.length, del: batch.del.length } });
    return apply(id, batch);
  };
  const status = new FakeStatusWriter(journal);
  const store = new MemoryLedgerStore();
  const writeShard = store.writeShard.bind(store);
  store.writeShard = async (key, records, meta, version) => {
    const v = await writeShard(key, records, meta, version);
    journal.push({ kind: 'ledger', records: Object.fromEntries(records) });
    return v;
  };
  const log = silentLogger();
  const ledger = new Ledger(store, new BlockAllocator(pool, o.blockSize ?? 24, ['192.168.0.0/24']), log);
  for (const [owner, block] of Object.entries(o.records ?? {})) await ledger.assign({ owner, pinned: block });
  const p = parseCidr(pool)!;
  const inPool = (d: string): boolean => {
    const c = parseCidr(d, false);
    return c !== undefined && containsCidr(p, c);
  };
  // The controller's wiring (controller.ts).
  const { reconciler: inner, tables, events } = await wireReconciler({ provider, status, ledger, log, installationId: ID, inPool, sourceDestCheck: o.sourceDestCheck, confirmGone: o.confirmGone });
  // A sync hands its route change to the table's next batch and returns; the table re-queues
  // the host when the batch is done. Here: sync, let the batch go out, sync again.
  const rec = {
    sync: async (name: string) => {
      await inner.sync(name).catch(() => undefined);
      await tables.flushAll();
      return inner.sync(name);
    },
  };
  return {
    rec,
    inner,
    status,
    journal,
    store,
    ledger,
    tables,
    provider,
    events,
    create: (name, spec) => void status.put({ metadata: { name }, spec }),
    cond: (name, type) => getCondition(status.get(name)?.status?.conditions, type),
    routes: () => provider.tables.get('rtb-1')!,
    updates: () => provider.calls.filter((c) => c.operation === 'routes.apply'),
  };
}

const reasons = (h: Harness, name?: string) => h.events.events.filter((e) => name === undefined || e.name === name).map((e) => e.reason);

describe('Reconciler (in-memory parts)', () => {
  it('new host: finalizer, block recorded in the ledger before any route, route programmed, Ready', async () => {
    const h = await harness();
    h.create('h1', { instanceID: 'i-1' });
    const result = await h.rec.sync('h1');
    assert.equal(result, undefined);

    const obj = h.status.get('h1')!;
    assert.deepEqual(obj.metadata.finalizers, [FINALIZER]);
    assert.equal(obj.status?.podCIDR, '10.0.0.0/24');
    assert.equal(obj.status?.nextHop, 'i-1');
    assert.equal(obj.status?.observedGeneration, 1);
    assert.deepEqual(obj.status?.routeTables, [{ id: 'rtb-1', state: 'Programmed' }]);
    for (const t of ['CIDRAllocated', 'RouteProgrammed', 'SourceDestCheckDisabled', 'Ready']) assert.equal(h.cond('h1', t)?.status, 'True', t);
    assert.equal(h.cond('h1', 'CIDRAllocated')?.reason, 'Allocated');
    assert.equal(h.cond('h1', 'Ready')?.reason, 'HostReady');

    // Order: finalizer, then the ledger's durable record of the block, then the first route
    // call; status gets the block in the pass's one write (none before the route).
    const kinds = h.journal.map((e) => e.kind);
    const recorded = h.journal.findIndex((e) => e.kind === 'ledger' && e.records['10.0.0.0/24'] === 'h1');
    const firstRoute = h.journal.findIndex((e) => e.kind === 'cloud');
    assert.ok(kinds.indexOf('addFinalizer') >= 0 && kinds.indexOf('addFinalizer') < recorded, `journal: ${kinds.join(',')}`);
    assert.ok(recorded >= 0 && firstRoute > recorded, `block recorded in the ledger at ${recorded}, first route call at ${firstRoute}`);
    const statusWrites = h.journal.filter((e) => e.kind === 'status');
    assert.equal(statusWrites.length, 1, `one status write for a new host: journal ${kinds.join(',')}`);
    assert.equal(statusWrites[0]!.kind === 'status' && statusWrites[0]!.status.podCIDR, '10.0.0.0/24');

    const route = h.routes().get('10.0.0.0/24')!;
    assert.deepEqual([route.nexthop, route.description, route.kind], ['i-1', markFor(ID, 'h1'), 'host']);
    assert.equal(h.store.records.get('10.0.0.0/24'), 'h1', 'the ledger record is durable');
    // Events on transitions only: the first block and route of a new host show in its conditions;
    // the address pair set on the server's NIC (a change to the cloud outside the route table) is
    // announced.
    assert.deepEqual(reasons(h).sort(), ['SourceDestCheckDisabled']);
    assert.deepEqual(h.provider.ports.get('i-1')!.pairs, [CHECK_OFF]);

    // A second pass changes nothing and calls nothing.
    const writes = h.status.writes;
    const calls = h.provider.calls.length;
    await h.rec.sync('h1');
    assert.equal(h.status.writes, writes, 'no status write when nothing changed');
    assert.equal(h.updates().length, 1);
    assert.equal(h.provider.calls.length, calls, 'no cloud call at all when nothing changed');
    assert.equal(h.events.events.length, 1, 'no Event when nothing changed');
  });

  it('pinned block inside the pool is honoured (reason Pinned)', async () => {
    const h = await harness();
    h.create('h1', { instanceID: 'i-1', podCIDR: '10.0.42.0/24' });
    await h.rec.sync('h1');
    assert.equal(h.status.get('h1')!.status?.podCIDR, '10.0.42.0/24');
    assert.equal(h.cond('h1', 'CIDRAllocated')?.reason, 'Pinned');
    assert.ok(h.routes().has('10.0.42.0/24'));
  });

  it('pinned outside the pool: CIDRAllocated False NotInPool naming the pool, no route call', async () => {
    const h = await harness();
    h.create('h1', { instanceID: 'i-1', podCIDR: '172.20.5.0/24' });
    await h.rec.sync('h1');
    const c = h.cond('h1', 'CIDRAllocated')!;
    assert.equal(c.status, 'False');
    assert.equal(c.reason, 'NotInPool');
    assert.match(c.message, /10\.0\.0\.0\/16/);
    assert.match(c.message, /172\.20\.5\.0\/24/);
    assert.equal(h.cond('h1', 'Ready')?.status, 'False');
    assert.equal(h.cond('h1', 'Ready')?.reason, 'NotInPool');
    assert.equal(h.cond('h1', 'RouteProgrammed')?.reason, 'WaitingForCIDR');
    assert.equal(h.status.get('h1')!.status?.podCIDR, undefined);
    assert.equal(h.updates().length, 0);
    assert.equal(h.store.records.size, 0);
    assert.deepEqual(reasons(h), ['CIDRRejected']);
    assert.equal(h.events.events[0]!.type, 'Warning');
  });

  it('pinned block in use: CIDRInUse naming the other host', async () => {
    const h = await harness();
    h.create('h1', { instanceID: 'i-1' });
    await h.rec.sync('h1');
    h.create('h2', { instanceID: 'i-2', podCIDR: '10.0.0.0/24' });
    await h.rec.sync('h2');
    const c = h.cond('h2', 'CIDRAllocated')!;
    assert.equal(c.status, 'False');
    assert.equal(c.reason, 'CIDRInUse');
    assert.match(c.message, /\bh1\b/);
    assert.equal(h.routes().get('10.0.0.0/24')!.nexthop, 'i-1', 'h1 keeps its route');
    assert.equal(h.updates().length, 1);
  });

  it('pinned block containing the host IP: ContainsHostIP, nothing allocated', async () => {
    const h = await harness();
    h.create('h1', { instanceID: 'i-1', podCIDR: '10.0.9.0/24', hostIP: '10.0.9.10' });
    await h.rec.sync('h1');
    assert.equal(h.cond('h1', 'CIDRAllocated')?.reason, 'ContainsHostIP');
    assert.equal(h.store.records.size, 0);
    assert.equal(h.updates().length, 0);
  });

  it('pool exhausted: PoolExhausted, requeued after the resync period; gets a block when one is freed', async () => {
    const h = await harness({ pool: '10.0.0.0/23' });
    for (const n of ['h1', 'h2', 'h3']) h.create(n, { instanceID: 'i-1' });
    await h.rec.sync('h1');
    await h.rec.sync('h2');
    const r = await h.rec.sync('h3');
    assert.deepEqual(r, { requeueAfterMs: 60_000 });
    const c = h.cond('h3', 'CIDRAllocated')!;
    assert.equal(c.status, 'False');
    assert.equal(c.reason, 'PoolExhausted');
    assert.equal(h.cond('h3', 'Ready')?.reason, 'PoolExhausted');
    assert.deepEqual(reasons(h, 'h3'), ['PoolExhausted']);
    await h.rec.sync('h3');
    assert.deepEqual(reasons(h, 'h3'), ['PoolExhausted'], 'the event is not repeated');

    h.status.markDeleted('h1');
    await h.rec.sync('h1');
    await h.rec.sync('h3');
    assert.equal(h.status.get('h3')!.status?.podCIDR, '10.0.0.0/24');
    assert.equal(h.cond('h3', 'Ready')?.status, 'True');
  });

  it('instanceID change: the route is modified in place and RouteMigrated is recorded', async () => {
    const h = await harness();
    h.create('h1', { instanceID: 'i-1' });
    await h.rec.sync('h1');
    h.create('h1', { instanceID: 'i-2' });
    await h.rec.sync('h1');
    const last = h.updates().at(-1)!;
    assert.deepEqual([last.add, last.mod, last.del], [0, 1, 0]);
    assert.equal(h.routes().get('10.0.0.0/24')!.nexthop, 'i-2');
    const obj = h.status.get('h1')!;
    assert.equal(obj.status?.nextHop, 'i-2');
    assert.equal(obj.status?.podCIDR, '10.0.0.0/24', 'the block stays');
    assert.equal(obj.status?.observedGeneration, 2);
    const migrated = h.events.events.find((e) => e.reason === 'RouteMigrated');
    assert.ok(migrated);
    assert.match(migrated.message, /i-1/);
    assert.match(migrated.message, /i-2/);
    assert.deepEqual(h.provider.ports.get('i-2')!.pairs, [CHECK_OFF], 'the new server NIC is prepared too');
  });

  it('deletion: route deleted, block released, finalizer removed', async () => {
    const h = await harness();
    h.create('h1', { instanceID: 'i-1' });
    h.create('h2', { instanceID: 'i-2' });
    await h.rec.sync('h1');
    await h.rec.sync('h2');
    h.status.markDeleted('h1');
    await h.rec.sync('h1');
    assert.equal(h.routes().has('10.0.0.0/24'), false);
    assert.equal(h.routes().get('10.0.1.0/24')?.nexthop, 'i-2', 'the other host keeps its route');
    assert.equal(h.routes().has('192.168.0.0/24'), true, 'local route untouched');
    assert.equal(h.store.records.has('10.0.0.0/24'), false);
    assert.equal(h.ledger.blockOf('h1'), undefined);
    assert.equal(h.status.get('h1'), undefined, 'finalizer removed, object gone');
    const kinds = h.journal.map((e) => e.kind);
    assert.ok(kinds.lastIndexOf('cloud') < kinds.indexOf('removeFinalizer'), 'the route goes before the finalizer');
    assert.deepEqual(reasons(h, 'h1').slice(-3), ['RouteRemoved', 'AddressPairRemoved', 'CIDRReleased']);
    // Syncing the vanished object again is harmless.
    await h.rec.sync('h1');
  });

  it('a cache miss releases nothing until a direct read confirms the object is gone', async () => {
    let reallyGone = false;
    const asked: string[] = [];
    const h = await harness({ confirmGone: async (name) => (asked.push(name), reallyGone) });
    h.create('h1', { instanceID: 'i-1' });
    await h.rec.sync('h1');
    const block = h.ledger.blockOf('h1')!;
    // The cache lost the object (a watch restarting), the API server still has it.
    h.status.objects.delete('h1');
    const r = await h.inner.sync('h1');
    assert.deepEqual(asked, ['h1']);
    assert.ok(r && typeof r.requeueAfterMs === 'number', 'looked at again soon');
    assert.equal(h.ledger.blockOf('h1'), block, 'the block is kept');
    assert.equal(h.store.records.get(block), 'h1');
    await h.tables.flushAll();
    assert.equal(h.routes().get(block)?.nexthop, 'i-1', 'the route is kept');
    // Really gone now: released, route removed.
    reallyGone = true;
    await h.inner.sync('h1');
    await h.tables.flushAll();
    assert.equal(h.ledger.blockOf('h1'), undefined);
    assert.equal(h.store.records.has(block), false);
    assert.equal(h.routes().has(block), false);
  });

  it('a foreign route on the block: RouteConflict, the foreign route is left alone', async () => {
    const h = await harness({ foreign: [{ destination: '10.0.0.0/24', nexthop: 'i-3', description: 'added by hand' }] });
    h.create('h1', { instanceID: 'i-1' });
    const r = await h.rec.sync('h1');
    assert.deepEqual(r, { requeueAfterMs: 60_000 });
    const c = h.cond('h1', 'RouteProgrammed')!;
    assert.equal(c.status, 'False');
    assert.equal(c.reason, 'RouteConflict');
    assert.match(c.message, /rtb-1/);
    assert.deepEqual(h.status.get('h1')!.status?.routeTables?.map((t) => t.state), ['Conflict']);
    assert.equal(h.cond('h1', 'Ready')?.status, 'False');
    assert.equal(h.routes().get('10.0.0.0/24')!.nexthop, 'i-3');
    assert.equal(h.updates().length, 0);
    assert.ok(reasons(h).includes('RouteConflict'));
  });

  it('throttled cloud: RetryLater with minRetryDelayMs ≥ 2000 and RouteProgrammed False CloudThrottled', async () => {
    const h = await harness();
    h.provider.failNext.push({
      operation: 'routes.apply',
      error: new CloudError({ kind: 'throttled', operation: 'routes.apply', httpStatus: 429, code: 'RateLimit.0308', cloudMessage: 'The throttling threshold has been reached' }),
    });
    h.create('h1', { instanceID: 'i-1' });
    await assert.rejects(h.rec.sync('h1'), (err: unknown) => {
      assert.ok(err instanceof RetryLater, String(err));
      assert.ok(err.minRetryDelayMs >= 2000, `minRetryDelayMs=${err.minRetryDelayMs}`);
      return true;
    });
    const c = h.cond('h1', 'RouteProgrammed')!;
    assert.equal(c.status, 'False');
    assert.equal(c.reason, 'CloudThrottled');
    assert.match(c.message, /RateLimit\.0308/);
    assert.equal(h.status.get('h1')!.status?.podCIDR, '10.0.0.0/24', 'the block is recorded even though the route is not');
    assert.equal(h.cond('h1', 'Ready')?.status, 'False');
    assert.deepEqual(h.status.get('h1')!.status?.routeTables?.map((t) => t.state), ['Error']);
    assert.ok(h.tables.gate.notBefore - Date.now() >= 1900, 'the shared gate is held');
  });

  it('a final cloud error (next hop not a server): RouteProgrammed False CloudError, requeued, Warning event', async () => {
    const h = await harness();
    h.create('h1', { instanceID: 'i-unknown' });
    const r = await h.rec.sync('h1');
    assert.deepEqual(r, { requeueAfterMs: 60_000 });
    assert.equal(h.cond('h1', 'RouteProgrammed')?.reason, 'CloudError');
    assert.ok(h.events.events.some((e) => e.reason === 'CloudError' && e.type === 'Warning'));
  });

  it('pinning another block moves the host: new route added, old one deleted in one call, status follows', async () => {
    const h = await harness();
    h.create('h1', { instanceID: 'i-1' });
    await h.rec.sync('h1');
    h.create('h1', { instanceID: 'i-1', podCIDR: '10.0.77.0/24' });
    await h.rec.sync('h1');
    const last = h.updates().at(-1)!;
    assert.deepEqual([last.add, last.mod, last.del], [1, 0, 1]);
    assert.deepEqual([...h.routes().keys()].filter((d) => d.startsWith('10.')), ['10.0.77.0/24']);
    assert.equal(h.status.get('h1')!.status?.podCIDR, '10.0.77.0/24');
    assert.deepEqual([...h.store.records], [['10.0.77.0/24', 'h1']]);
    assert.ok(h.events.events.some((e) => /moved from 10\.0\.0\.0\/24 to 10\.0\.77\.0\/24/.test(e.message)));
  });

  it('the first route and the route back after a failure that retried on its own post no RouteProgrammed; back after a conflict, it does', async () => {
    const h = await harness();
    h.create('h1', { instanceID: 'i-1' });
    await h.rec.sync('h1');
    assert.equal(h.cond('h1', 'RouteProgrammed')?.status, 'True');
    assert.equal(reasons(h, 'h1').filter((r) => r === 'RouteProgrammed').length, 0);
    // Deleted behind our back; the repair fails once with a 503 (retryable: no Warning).
    h.routes().delete('10.0.0.0/24');
    await h.tables.refreshAll();
    h.provider.failNext.push({ operation: 'routes.apply', error: new CloudError({ kind: 'transient', operation: 'routes.apply', httpStatus: 503 }) });
    await h.tables.flushAll();
    await assert.rejects(h.inner.sync('h1'), RetryLater);
    assert.equal(h.cond('h1', 'RouteProgrammed')?.status, 'False');
    h.tables.gate.notBefore = 0; // do not wait out the hold in a unit test
    await h.rec.sync('h1');
    assert.equal(h.cond('h1', 'RouteProgrammed')?.status, 'True');
    assert.ok(h.routes().has('10.0.0.0/24'));
    assert.deepEqual(reasons(h, 'h1').filter((r) => r.startsWith('Route')), [], 'no RouteProgrammed');

    // A foreign route takes the destination (RouteConflict, a Warning), then goes: news again.
    h.provider.tables.get('rtb-1')!.set('10.0.0.0/24', { destination: '10.0.0.0/24', kind: 'host', nexthop: 'i-3', description: 'added by hand' });
    await h.tables.refreshAll();
    await h.rec.sync('h1');
    assert.equal(h.cond('h1', 'RouteProgrammed')?.reason, 'RouteConflict');
    h.routes().delete('10.0.0.0/24');
    await h.tables.refreshAll();
    await h.rec.sync('h1');
    assert.equal(h.cond('h1', 'RouteProgrammed')?.status, 'True');
    assert.deepEqual(reasons(h, 'h1').filter((r) => r.startsWith('Route')), ['RouteConflict', 'RouteProgrammed']);
  });

  it('hostIP: checked against the addresses the cloud reports on the NIC; a mismatch names both, Warning once, Ready stays True', async () => {
    const h = await harness();
    h.provider.ports.get('i-1')!.addresses = ['192.168.0.2'];
    h.create('h1', { instanceID: 'i-1', hostIP: '172.16.5.5' });
    await h.rec.sync('h1');
    const c = h.cond('h1', 'HostIPVerified')!;
    assert.equal(c.status, 'False');
    assert.equal(c.reason, 'HostIPMismatch');
    assert.match(c.message, /172\.16\.5\.5/);
    assert.match(c.message, /192\.168\.0\.2/);
    assert.equal(h.status.get('h1')!.status?.hostIP, '192.168.0.2', 'status shows the address the cloud reports');
    assert.equal(h.cond('h1', 'Ready')?.status, 'True', 'the route targets the server id: the host still works');
    const warned = () => h.events.events.filter((e) => e.type === 'Warning').map((e) => e.reason);
    assert.deepEqual(warned(), ['HostIPMismatch']);
    h.inner['portChecked'].clear(); // the next NIC recheck is due
    await h.rec.sync('h1');
    assert.deepEqual(warned(), ['HostIPMismatch'], 'the same mismatch is not announced again');

    h.create('h1', { instanceID: 'i-1', hostIP: '192.168.0.2' });
    await h.rec.sync('h1');
    assert.deepEqual([h.cond('h1', 'HostIPVerified')?.status, h.cond('h1', 'HostIPVerified')?.reason], ['True', 'HostIPMatches']);
    assert.equal(h.status.get('h1')!.status?.hostIP, '192.168.0.2');
    assert.deepEqual(warned(), ['HostIPMismatch']);
  });

  it('hostIP: the right address gives no complaint; without spec.hostIP status still shows the server address', async () => {
    const h = await harness();
    h.provider.ports.get('i-1')!.addresses = ['192.168.0.2'];
    h.provider.ports.get('i-2')!.addresses = ['192.168.0.3'];
    h.create('h1', { instanceID: 'i-1', hostIP: '192.168.0.2' });
    h.create('h2', { instanceID: 'i-2' });
    await h.rec.sync('h1');
    await h.rec.sync('h2');
    assert.equal(h.cond('h1', 'HostIPVerified')?.status, 'True');
    assert.deepEqual([h.cond('h2', 'HostIPVerified')?.status, h.cond('h2', 'HostIPVerified')?.reason], ['Unknown', 'NotSpecified']);
    assert.equal(h.status.get('h2')!.status?.hostIP, '192.168.0.3');
    assert.deepEqual(h.events.events.filter((e) => e.type === 'Warning'), []);
  });

  it('hostIP after a migration: status shows the new server address, and the stale spec.hostIP is flagged', async () => {
    const h = await harness();
    h.provider.ports.get('i-1')!.addresses = ['192.168.0.2'];
    h.provider.ports.get('i-2')!.addresses = ['192.168.0.3'];
    h.create('h1', { instanceID: 'i-1', hostIP: '192.168.0.2' });
    await h.rec.sync('h1');
    assert.equal(h.status.get('h1')!.status?.hostIP, '192.168.0.2');
    h.create('h1', { instanceID: 'i-2', hostIP: '192.168.0.2' });
    await h.rec.sync('h1');
    assert.equal(h.status.get('h1')!.status?.hostIP, '192.168.0.3');
    const c = h.cond('h1', 'HostIPVerified')!;
    assert.equal(c.reason, 'HostIPMismatch');
    assert.match(c.message, /192\.168\.0\.3/);
  });

  it('hostIP with --source-dest-check=off: not checked (Unknown NotChecked), no NIC call, no address shown', async () => {
    const h = await harness({ sourceDestCheck: 'off' });
    h.provider.ports.get('i-1')!.addresses = ['192.168.0.2'];
    h.create('h1', { instanceID: 'i-1', hostIP: '172.16.5.5' });
    await h.rec.sync('h1');
    const c = h.cond('h1', 'HostIPVerified')!;
    assert.deepEqual([c.status, c.reason], ['Unknown', 'NotChecked']);
    assert.match(c.message, /--source-dest-check=off/);
    assert.equal(h.provider.count('nic.read'), 0);
    assert.equal(h.status.get('h1')!.status?.hostIP, undefined);
    assert.equal(h.cond('h1', 'Ready')?.status, 'True');
  });

  it('hostIP: a status written before the check (Ready, NIC verified, no HostIPVerified) gets one NIC read', async () => {
    const h = await harness();
    h.provider.ports.get('i-1')!.addresses = ['192.168.0.2'];
    h.create('h1', { instanceID: 'i-1', hostIP: '172.16.5.5' });
    await h.rec.sync('h1');
    const obj = h.status.objects.get('h1')!;
    obj.status!.conditions = obj.status!.conditions!.filter((x) => x.type !== 'HostIPVerified');
    delete obj.status!.hostIP;
    const fresh = new Reconciler({ ...h.inner['d'] });
    const reads = h.provider.count('nic.read');
    await fresh.sync('h1');
    assert.equal(h.provider.count('nic.read'), reads + 1);
    assert.equal(h.cond('h1', 'HostIPVerified')?.reason, 'HostIPMismatch');
  });

  it('NIC: a throttled call shows in the condition without a Warning (it retries on its own); a missing port gets one', async () => {
    const h = await harness();
    h.provider.failNext.push({ operation: 'nic.read', error: new CloudError({ kind: 'throttled', operation: 'nic.read', httpStatus: 429, code: 'RateLimit.0308' }) });
    h.create('h1', { instanceID: 'i-1' });
    // The first pass records the block and waits for the route's batch; the NIC comes after it.
    await h.inner.sync('h1');
    await h.tables.flushAll();
    await assert.rejects(h.inner.sync('h1'), RetryLater);
    assert.equal(h.cond('h1', 'SourceDestCheckDisabled')?.reason, 'CloudThrottled');
    assert.deepEqual(h.events.events.filter((e) => e.type === 'Warning'), []);
    await h.rec.sync('h1');
    assert.equal(h.cond('h1', 'SourceDestCheckDisabled')?.status, 'True');

    h.provider.ports.delete('i-2'); // a server whose NIC port is gone
    h.create('h2', { instanceID: 'i-2' });
    await h.rec.sync('h2');
    assert.equal(h.cond('h2', 'SourceDestCheckDisabled')?.reason, 'PortNotFound');
    assert.deepEqual(h.events.events.filter((e) => e.type === 'Warning').map((e) => [e.name, e.reason]), [['h2', 'CloudError']]);
  });

  it('deletion while the cloud throttles: RetryLater ≥ 2 s, block and finalizer kept', async () => {
    const h = await harness();
    h.create('h1', { instanceID: 'i-1' });
    await h.rec.sync('h1');
    h.provider.failNext.push({ operation: 'routes.apply', error: new CloudError({ kind: 'throttled', operation: 'routes.apply', httpStatus: 429 }) });
    h.status.markDeleted('h1');
    await assert.rejects(h.rec.sync('h1'), (err: unknown) => err instanceof RetryLater && err.minRetryDelayMs >= 2000);
    assert.ok(h.routes().has('10.0.0.0/24'));
    assert.equal(h.store.records.get('10.0.0.0/24'), 'h1', 'the block is not released while its route exists');
    assert.deepEqual(h.status.get('h1')?.metadata.finalizers, [FINALIZER]);
  });
});

describe('Reconciler: the NIC is left as it was found (issue 11.1)', () => {
  const pairsOf = (h: Harness, server: string) => h.provider.ports.get(server)!.pairs;

  it('disable mode: deleting the last host of a server takes off the pair we added; a pair found there stays', async () => {
    const h = await harness();
    h.provider.ports.get('i-2')!.pairs = [CHECK_OFF];
    h.create('h1', { instanceID: 'i-1' });
    h.create('h2', { instanceID: 'i-2' });
    await h.rec.sync('h1');
    await h.rec.sync('h2');
    assert.deepEqual(h.status.get('h1')!.status?.addedPair, { instanceID: 'i-1', portId: 'port-i-1', pair: CHECK_OFF });
    assert.equal(h.status.get('h2')!.status?.addedPair, undefined, 'a pair found on the port is not recorded as ours');
    h.status.markDeleted('h1');
    h.status.markDeleted('h2');
    await h.rec.sync('h1');
    await h.rec.sync('h2');
    assert.equal(h.status.get('h1'), undefined);
    assert.equal(h.status.get('h2'), undefined);
    assert.deepEqual(pairsOf(h, 'i-1'), [], 'the pair we added is gone');
    assert.deepEqual(pairsOf(h, 'i-2'), [CHECK_OFF], 'the pair we found stays');
    assert.deepEqual(reasons(h, 'h1').filter((r) => r === 'AddressPairRemoved'), ['AddressPairRemoved']);
  });

  it('disable mode: two hosts on one server, deleting either keeps the pair; deleting both removes it', async () => {
    const h = await harness();
    h.create('h1', { instanceID: 'i-1' });
    h.create('h2', { instanceID: 'i-1' });
    await h.rec.sync('h1');
    await h.rec.sync('h2');
    // The one that added it leaves first: the other one shares the record and takes it off last.
    h.status.markDeleted('h1');
    await h.rec.sync('h1');
    assert.equal(h.status.get('h1'), undefined);
    assert.deepEqual(pairsOf(h, 'i-1'), [CHECK_OFF], 'h2 is still served by i-1');
    h.status.markDeleted('h2');
    await h.rec.sync('h2');
    assert.equal(h.status.get('h2'), undefined);
    assert.deepEqual(pairsOf(h, 'i-1'), []);
  });

  it('block mode: deleting one host of a server removes only its block; the other block and a found pair stay', async () => {
    const h = await harness({ sourceDestCheck: 'block' });
    h.provider.ports.get('i-1')!.pairs = ['172.16.0.0/24'];
    h.create('h1', { instanceID: 'i-1' });
    h.create('h2', { instanceID: 'i-1' });
    await h.rec.sync('h1');
    await h.rec.sync('h2');
    assert.deepEqual(pairsOf(h, 'i-1'), ['172.16.0.0/24', '10.0.0.0/24', '10.0.1.0/24']);
    h.status.markDeleted('h1');
    await h.rec.sync('h1');
    assert.deepEqual(pairsOf(h, 'i-1'), ['172.16.0.0/24', '10.0.1.0/24']);
  });

  it('migration of the only host: the pair leaves the old server and is set on the new one', async () => {
    const h = await harness();
    h.provider.ports.get('i-1')!.pairs = ['10.9.0.0/24'];
    h.create('h1', { instanceID: 'i-1' });
    await h.rec.sync('h1');
    h.create('h1', { instanceID: 'i-2' });
    await h.rec.sync('h1');
    assert.deepEqual(pairsOf(h, 'i-1'), ['10.9.0.0/24'], 'only our pair left the old server');
    assert.deepEqual(pairsOf(h, 'i-2'), [CHECK_OFF]);
    assert.deepEqual(h.status.get('h1')!.status?.addedPair, { instanceID: 'i-2', portId: 'port-i-2', pair: CHECK_OFF });
  });

  it('migration away from a server that still serves another host keeps its pair until the last one leaves', async () => {
    const h = await harness();
    h.create('h1', { instanceID: 'i-1' });
    h.create('h2', { instanceID: 'i-1' });
    await h.rec.sync('h1');
    await h.rec.sync('h2');
    h.create('h1', { instanceID: 'i-2' });
    await h.rec.sync('h1');
    assert.deepEqual(pairsOf(h, 'i-1'), [CHECK_OFF], 'h2 is still served by i-1');
    assert.deepEqual(pairsOf(h, 'i-2'), [CHECK_OFF]);
    // The last one leaves i-1 too: now the pair goes; i-2 (serving both) keeps its own.
    h.create('h2', { instanceID: 'i-2' });
    await h.rec.sync('h2');
    assert.deepEqual(pairsOf(h, 'i-1'), []);
    assert.deepEqual(pairsOf(h, 'i-2'), [CHECK_OFF]);
  });

  it('a failed removal keeps the finalizer and the record and is retried', async () => {
    const h = await harness();
    h.create('h1', { instanceID: 'i-1' });
    await h.rec.sync('h1');
    h.status.markDeleted('h1');
    h.provider.failNext.push({ operation: 'nic.update', error: new CloudError({ kind: 'transient', operation: 'nic.update', httpStatus: 500 }) });
    await assert.rejects(h.rec.sync('h1'), RetryLater);
    assert.deepEqual(h.status.get('h1')!.metadata.finalizers, [FINALIZER]);
    assert.equal(h.ledger.blockOf('h1'), '10.0.0.0/24', 'the block is not released before the NIC is clean');
    await h.rec.sync('h1');
    assert.equal(h.status.get('h1'), undefined);
    assert.deepEqual(pairsOf(h, 'i-1'), []);
  });
});

describe('Reconciler: a block that changes on the same server (block mode, issue 11.1)', () => {
  it('pinning another block replaces the pair we added for the old one; a found pair stays', async () => {
    const h = await harness({ sourceDestCheck: 'block' });
    h.provider.ports.get('i-1')!.pairs = ['172.16.0.0/24'];
    h.create('h1', { instanceID: 'i-1', podCIDR: '10.0.5.0/24' });
    await h.rec.sync('h1');
    h.create('h1', { instanceID: 'i-1', podCIDR: '10.0.6.0/24' });
    await h.rec.sync('h1');
    assert.deepEqual(h.provider.ports.get('i-1')!.pairs, ['172.16.0.0/24', '10.0.6.0/24']);
    assert.deepEqual(h.status.get('h1')!.status?.addedPair, { instanceID: 'i-1', portId: 'port-i-1', pair: '10.0.6.0/24' });
  });
});

describe('Reconciler: a cloud without a route mark (ownership by ledger)', () => {
  const ledgerCloud = (extra: MemoryProviderOptions = {}): MemoryProviderOptions => ({ ownership: { kind: 'ledger' }, ...extra });

  it('programs routes without a mark; a foreign route on a wanted destination is a RouteConflict and stays', async () => {
    const h = await harness({ cloud: ledgerCloud(), foreign: [{ destination: '10.0.0.0/24', nexthop: 'i-3', description: '' }] });
    h.create('h1', { instanceID: 'i-1' });
    await h.rec.sync('h1');
    assert.equal(h.cond('h1', 'RouteProgrammed')?.reason, 'RouteConflict');
    assert.equal(h.routes().get('10.0.0.0/24')!.nexthop, 'i-3', 'untouched');
    assert.equal(h.updates().length, 0);
    h.create('h2', { instanceID: 'i-2', podCIDR: '10.0.1.0/24' });
    await h.rec.sync('h2');
    assert.equal(h.cond('h2', 'Ready')?.status, 'True');
    assert.deepEqual({ ...h.routes().get('10.0.1.0/24') }, { destination: '10.0.1.0/24', kind: 'host', nexthop: 'i-2', description: '' });
  });

  it('a route outside the pool, or in the pool but of no block of ours, is never touched', async () => {
    const h = await harness({
      cloud: ledgerCloud(),
      foreign: [
        { destination: '172.16.5.0/24', nexthop: 'i-1', description: '' },
        { destination: '10.0.9.0/24', nexthop: 'i-1', description: '' },
      ],
    });
    h.create('h1', { instanceID: 'i-1' });
    await h.rec.sync('h1');
    assert.equal(h.cond('h1', 'Ready')?.status, 'True');
    await h.tables.refreshAll();
    await h.tables.flushAll();
    assert.equal(h.routes().get('172.16.5.0/24')?.nexthop, 'i-1', 'outside the pool: kept');
    assert.equal(h.routes().get('10.0.9.0/24')?.nexthop, 'i-1', 'a block the ledger does not record: kept');
  });

  it('a deleted host: its route is removed, then its block released', async () => {
    const h = await harness({ cloud: ledgerCloud() });
    h.create('h1', { instanceID: 'i-1' });
    await h.rec.sync('h1');
    const block = h.ledger.blockOf('h1')!;
    assert.equal(h.routes().get(block)?.nexthop, 'i-1');
    h.status.markDeleted('h1');
    await h.rec.sync('h1');
    assert.equal(h.routes().has(block), false, 'the route is gone');
    assert.equal(h.ledger.blockOf('h1'), undefined, 'the block is released');
    assert.equal(h.status.objects.has('h1'), false, 'finalized');
  });

  it('at start: the route of a host that vanished is collected (the record outlives the route), another installation\'s stays', async () => {
    // While the controller was down h-gone's object went without our finalizer; the ledger still
    // records its block. Its server i-2 is the server of h2 (re-created under another name).
    const h = await harness({ cloud: ledgerCloud(), records: { 'h-gone': '10.0.5.0/24' }, foreign: [{ destination: '10.0.5.0/24', nexthop: 'i-2', description: '' }, { destination: '10.0.6.0/24', nexthop: 'i-2', description: '' }] });
    h.create('h2', { instanceID: 'i-2' });
    // The work queue syncs every ledger owner at start: h-gone is not in the cache. Its record
    // is what makes the route ours, so it is kept until the route is gone.
    const r = await h.inner.sync('h-gone');
    assert.ok(r && typeof r.requeueAfterMs === 'number', 'looked at again');
    assert.equal(h.ledger.blockOf('h-gone'), '10.0.5.0/24', 'kept while the route is there');
    await h.tables.flushAll();
    assert.equal(h.routes().has('10.0.5.0/24'), false, 'the vanished host\'s route is collected');
    await h.inner.sync('h-gone');
    assert.equal(h.ledger.blockOf('h-gone'), undefined, 'then released');
    await h.rec.sync('h2');
    assert.equal(h.cond('h2', 'Ready')?.status, 'True');
    assert.equal(h.routes().get('10.0.6.0/24')?.nexthop, 'i-2', 'not a block of ours: untouched');
  });

  it('per-route writes through the whole reconcile: created, migrated with a replace, deleted', async () => {
    const h = await harness({ cloud: ledgerCloud({ routeWrites: { kind: 'per-route', concurrency: 2 } }) });
    h.create('h1', { instanceID: 'i-1' });
    await h.rec.sync('h1');
    assert.equal(h.cond('h1', 'Ready')?.status, 'True');
    h.create('h1', { instanceID: 'i-2' });
    await h.rec.sync('h1');
    assert.equal(h.routes().get(h.ledger.blockOf('h1')!)?.nexthop, 'i-2');
    const writes = h.provider.calls.filter((c) => c.operation === 'routes.write').map((c) => [c.add, c.mod, c.del]);
    assert.deepEqual(writes, [[1, 0, 0], [0, 1, 0]]);
  });
});

describe('Reconciler: a cloud without a source/destination check', () => {
  it('SourceDestCheckDisabled says NotApplicable, Ready does not wait for it, the NIC is never called', async () => {
    const h = await harness({ cloud: { sourceDestCheck: 'not-applicable' } });
    h.create('h1', { instanceID: 'i-1' });
    await h.rec.sync('h1');
    assert.deepEqual([h.cond('h1', 'SourceDestCheckDisabled')?.status, h.cond('h1', 'SourceDestCheckDisabled')?.reason], ['True', 'NotApplicable']);
    assert.equal(h.cond('h1', 'Ready')?.status, 'True');
    assert.equal(h.cond('h1', 'HostIPVerified')?.status, 'Unknown');
    assert.equal(h.provider.count('nic.read') + h.provider.count('nic.update'), 0);
    h.status.markDeleted('h1');
    await h.rec.sync('h1');
    assert.equal(h.status.objects.has('h1'), false);
    assert.equal(h.provider.count('nic.read'), 0);
  });
});

describe('Reconciler: status writes per pass', () => {
  it('a new host: one write per pass (its first block rides with it: the ledger recorded it before the route); none once converged', async () => {
    const h = await harness();
    h.create('h1', { instanceID: 'i-1' });
    const perPass: number[] = [];
    for (let i = 0; i < 3; i++) {
      const before = h.status.writes;
      await h.inner.sync('h1');
      await h.tables.flushAll();
      perPass.push(h.status.writes - before);
    }
    assert.deepEqual(perPass, [0, 1, 0]);
    assert.equal(h.cond('h1', 'Ready')?.status, 'True');
    // A migration: one write per pass until Ready again.
    h.create('h1', { instanceID: 'i-2' });
    const migration: number[] = [];
    for (let i = 0; i < 3; i++) {
      const before = h.status.writes;
      await h.inner.sync('h1');
      await h.tables.flushAll();
      migration.push(h.status.writes - before);
    }
    assert.deepEqual(migration, [0, 1, 0]);
    assert.equal(h.status.get('h1')!.status?.nextHop, 'i-2');
  });
});
