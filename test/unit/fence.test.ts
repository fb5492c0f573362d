// The write fence: checked when a write is SENT (after the rate-limiter wait), closing it ends
// token waits, refusals are reported once per episode, and a stopped route table arms no timer
// and sends nothing.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import sinon from 'sinon';
import { FencedError, WriteFence } from '../../controller/provider/fence.js';
import { createHuaweiProvider, type ProviderLogger } from '../../controller/provider/huawei/provider.js';
import { fenceHooks, instrument } from '../../controller/provider/instrumented.js';
import { MemoryProvider } from '../../controller/provider/memory.js';
import { silentLogger } from '../../controller/logger.js';
import { Metrics } from '../../controller/metrics.js';
import { RouteTableSet } from '../../controller/routes/tableset.js';

const quiet: ProviderLogger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

/** A stub VPC endpoint answering every request with an empty route table, recording paths. */
async function startStub(): Promise<{ url: string; reqs: string[]; close(): Promise<void> }> {
  const reqs: string[] = [];
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      reqs.push(`${req.method} ${req.url}`);
      res.writeHead(200, { 'content-type': 'application/json', 'x-request-id': `req-${reqs.length}` });
      res.end(JSON.stringify({ routetable: { id: 'rt-1', routes: [] } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    reqs,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Reads and writes each get `qps` (reads have a bucket of their own, 20/s by default). */
function provider(url: string, fence: WriteFence, qps: number) {
  return createHuaweiProvider(
    { flavor: 'huaweicloud', endpoint: url, projectId: 'proj0123456789', routeTableIds: ['rt-1'], credentials: { ak: 'UNITAK0000000001', sk: 'UNITSKsecretsecretsecret0001' }, timeoutMs: 2000, qps, readQps: qps, burst: 1 },
    quiet,
    { fence },
  );
}

const BATCH = { add: [{ destination: '10.0.2.0/24', nexthop: 'i-1', description: 'hostnet:default:a' }], mod: [], del: [] };

describe('write fence', () => {
  let stub: Awaited<ReturnType<typeof startStub>> | undefined;
  afterEach(async () => {
    await stub?.close();
    stub = undefined;
  });

  it('a route write that waited for a rate-limiter token while the lease went stale is not sent', async () => {
    stub = await startStub();
    let fresh = true;
    const refused: string[] = [];
    const fence = new WriteFence({ onRefused: (op) => refused.push(op) });
    fence.guard(() => fresh);
    const p = provider(stub.url, fence, 2); // burst 1, then one call per 500 ms
    await p.applyRoutes('rt-1', BATCH);
    assert.equal(stub.reqs.length, 1);
    const second = p.applyRoutes('rt-1', BATCH); // waits about 500 ms for a token
    fresh = false; // the lease goes stale while it waits
    await assert.rejects(second, (err: unknown) => err instanceof FencedError && err.operation === 'UpdateRouteTable');
    assert.equal(stub.reqs.length, 1, 'the second write never reached the cloud');
    assert.deepEqual(refused, ['UpdateRouteTable']);
    // Reads are not fenced by the lease (only writes change anything).
    await p.listRoutes('rt-1');
    assert.equal(stub.reqs.length, 2);
  });

  it('closing the fence ends a wait for a token at once (nothing is sent after the stop)', async () => {
    stub = await startStub();
    const fence = new WriteFence();
    const p = provider(stub.url, fence, 0.1); // the next token in 10 s
    await p.listRoutes('rt-1');
    const waiting = p.listRoutes('rt-1');
    const write = p.applyRoutes('rt-1', BATCH);
    fence.close('stopping');
    await assert.rejects(waiting, FencedError);
    await assert.rejects(write, FencedError);
    assert.equal(stub.reqs.length, 1);
  });

  it('refusals are reported once per closed episode and counted each time; drain waits for a write in flight', async () => {
    let open = false;
    const first: string[] = [];
    let count = 0;
    const fence = new WriteFence({ onFirstRefusal: (op) => first.push(op), onRefused: () => count++ });
    fence.guard(() => open);
    for (const op of ['UpdateRouteTable', 'UpdatePort', 'UpdateRouteTable']) assert.throws(() => fence.check(op), FencedError);
    assert.deepEqual(first, ['UpdateRouteTable']);
    assert.equal(count, 3);
    open = true;
    let finish!: () => void;
    const inFlight = fence.run('UpdatePort', () => new Promise<void>((r) => (finish = r)));
    assert.equal(fence.writesInFlight, 1);
    open = false;
    assert.throws(() => fence.check('UpdatePort'), FencedError);
    assert.deepEqual(first, ['UpdateRouteTable', 'UpdatePort'], 'a new episode is reported again');
    let drained: number | undefined;
    const draining = fence.drain(60_000).then((left) => (drained = left));
    await new Promise((r) => setImmediate(r));
    assert.equal(drained, undefined, 'drain waits for the write in flight');
    finish();
    await inFlight;
    await draining;
    assert.equal(drained, 0);
  });

  it("hostnet_cloud_writes_fenced_total counts refusals by provider and the core's operation name (routes.apply, routes.write, securityGroup.ensure), not the cloud's API name", async () => {
    stub = await startStub();
    const metrics = new Metrics();
    const warned: Record<string, unknown>[] = [];
    const log = silentLogger();
    log.warn = ((msg: string, meta: Record<string, unknown>) => (msg === 'cloud write not sent' && warned.push(meta), log)) as typeof log.warn;
    const fence = new WriteFence(fenceHooks(metrics, log, 'huaweicloud'));
    const huawei = instrument(provider(stub.url, fence, 100), metrics, log);
    const perRoute = new MemoryProvider({ servers: ['i-1'], routeWrites: { kind: 'per-route', concurrency: 4 } });
    perRoute.fence = fence;
    const memory = instrument(perRoute, metrics, log);
    fence.guard(() => false); // the lease not renewed within the renew deadline
    await assert.rejects(huawei.applyRoutes!('rt-1', BATCH), FencedError);
    await assert.rejects(huawei.applyRoutes!('rt-1', BATCH), FencedError);
    await assert.rejects(memory.writeRoute!('rt-memory', { op: 'create', route: BATCH.add[0]! }), FencedError);
    await assert.rejects(memory.ensureIngressRule({ securityGroupId: 'sg-1', remoteIpPrefix: '10.0.0.0/16', protocols: ['all'] }), FencedError);
    assert.equal(stub.reqs.length, 0);
    const counted = (await metrics.cloudWritesFenced.get()).values.map((v) => `${String(v.labels.provider)} ${String(v.labels.operation)} ${v.value}`).sort();
    assert.deepEqual(counted, ['huaweicloud routes.apply 2', 'memory routes.write 1', 'memory securityGroup.ensure 1']);
    // Once per closed period, with the core's name and the cloud's API name for the logs.
    assert.deepEqual(warned.map((m) => [m.provider, m.operation, m.api]), [['huaweicloud', 'routes.apply', 'UpdateRouteTable']]);
  });

  it('a stopped route table set arms no batch timer, sends nothing, releases flush waiters and gate sleepers', async () => {
    const clock = sinon.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    try {
      const p = new MemoryProvider({ servers: ['i-1'] });
      const set = new RouteTableSet(p, { capacity: 200, batchWindowMs: 50, isOwned: (r) => r.description.startsWith('hostnet:'), inPool: () => true });
      await set.init();
      set.set('a', { destination: '10.0.2.0/24', nexthop: 'i-1', description: 'hostnet:default:a' });
      set.gate.hold(5000);
      const flushed = set.flushAll();
      const gateWait = set.gate.wait();
      set.stop();
      await flushed;
      await gateWait;
      assert.equal(clock.countTimers(), 0, 'no timer left');
      set.requestFlush();
      await set.flushAll();
      await clock.tickAsync(10_000);
      assert.equal(p.count('UpdateRouteTable'), 0, 'nothing sent after stop');
      assert.equal(clock.countTimers(), 0, 'no timer armed after stop');
    } finally {
      clock.restore();
    }
  });
});
