// A cloud that answers badly is never believed (issue 10, point 7), end to end: the controller
// process, the real API server, the emulator's bad-answer faults and its AK lockout.
import assert from 'node:assert/strict';
import { startEmulatorStack, type EmulatorStack } from '../helpers/controller.js';
import { cond, createHn, dumpLogs, ECS1, ECS2, ECS3, getHn, hostNetwork, isReady, logLines, patchSpec } from '../helpers/invariants.js';
import { waitFor } from '../helpers/kube.js';
import { SEED } from '../emulator/server.js';
import { createHuaweiProvider } from '../../controller/provider/huawei/provider.js';

const TABLE = SEED.routeTableId;
const WRONG_SK = 'revoked-secret-key-that-is-not-the-right-one-0000';

function hasRoute(stack: EmulatorStack, destination: string, nexthop: string): boolean {
  return stack.emu.snapshot().route_tables.find((t) => t.id === TABLE)!.routes.some((r) => r.destination === destination && r.nexthop === nexthop);
}

/** Waits until the host is Ready, checking at every look that it is never Ready without its route. */
async function readyOnlyWithRoute(stack: EmulatorStack, name: string, block: string, nexthop: string): Promise<void> {
  await waitFor(`${name} Ready`, async () => {
    const hn = await getHn(stack.kc, name);
    if (!isReady(hn)) return false;
    assert.ok(hasRoute(stack, block, nexthop), `${name} is Ready but route ${block} → ${nexthop} is not in the table`);
    return true;
  });
}

async function fullSyncs(stack: EmulatorStack, n: number): Promise<void> {
  let last = (await stack.ctl.metric('hostnet_last_full_sync_timestamp_seconds')) ?? 0;
  for (let i = 0; i < n; i++) {
    last = await waitFor('a full sync', async () => {
      const t = (await stack.ctl.metric('hostnet_last_full_sync_timestamp_seconds')) ?? 0;
      return t > last ? t : undefined;
    }, 15_000);
  }
}

describe('e2e: a cloud that answers badly is never believed', function () {
  this.timeout(90_000);
  let stack: EmulatorStack | undefined;

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && stack) dumpLogs([stack.ctl]);
    stack?.emu.reset(); // good keys again, so the finalizers can run
    await stack?.stop();
    stack = undefined;
  });

  it('a route write answered 200 with a body that is not JSON (not applied): re-read, written again, Ready only with the route', async () => {
    stack = await startEmulatorStack({ args: ['--leader-elect=false'] });
    const seq = stack.emu.lastSeq;
    stack.emu.faults.set({ badBodyNext: { operation: 'UpdateRouteTable', body: 'invalidJson', apply: false } });
    await createHn(stack.kc, hostNetwork('ecs-1', { instanceID: ECS1, podCIDR: '10.0.2.0/24' }));
    await readyOnlyWithRoute(stack, 'ecs-1', '10.0.2.0/24', ECS1);
    const ops = stack.emu.callsSince(seq).filter((c) => c.operation === 'UpdateRouteTable' || c.operation === 'ShowRouteTable').map((c) => `${c.operation}${c.fault ? `(${c.fault})` : ''}`);
    const bad = ops.indexOf('UpdateRouteTable(badBody:invalidJson)');
    assert.ok(bad >= 0, ops.join(' '));
    assert.deepEqual(ops.slice(bad, bad + 3), ['UpdateRouteTable(badBody:invalidJson)', 'ShowRouteTable', 'UpdateRouteTable'], 'the table is re-read before the next write');
  });

  it('a route write answered 200 with an empty body (applied): the re-read finds the route, no second write', async () => {
    stack = await startEmulatorStack({ args: ['--leader-elect=false'] });
    const seq = stack.emu.lastSeq;
    stack.emu.faults.set({ badBodyNext: { operation: 'UpdateRouteTable', body: 'empty' } });
    await createHn(stack.kc, hostNetwork('ecs-1', { instanceID: ECS1, podCIDR: '10.0.2.0/24' }));
    await readyOnlyWithRoute(stack, 'ecs-1', '10.0.2.0/24', ECS1);
    const ops = stack.emu.callsSince(seq).filter((c) => c.operation === 'UpdateRouteTable' || c.operation === 'ShowRouteTable').map((c) => `${c.operation}${c.fault ? `(${c.fault})` : ''}`);
    const bad = ops.indexOf('UpdateRouteTable(badBody:empty)');
    assert.equal(ops[bad + 1], 'ShowRouteTable', `the write is not believed: the table is re-read (${ops.join(' ')})`);
    assert.ok(!ops.slice(bad + 1).includes('UpdateRouteTable'), `no second write: the route was there (${ops.join(' ')})`);
  });

  it('a truncated table read at a full sync is an error, not an empty table: no drift, no write', async () => {
    stack = await startEmulatorStack({ args: ['--leader-elect=false', '--resync-period=2s'] });
    await createHn(stack.kc, hostNetwork('ecs-1', { instanceID: ECS1, podCIDR: '10.0.2.0/24' }));
    await createHn(stack.kc, hostNetwork('ecs-2', { instanceID: ECS2, podCIDR: '10.0.3.0/24' }));
    await readyOnlyWithRoute(stack, 'ecs-1', '10.0.2.0/24', ECS1);
    await readyOnlyWithRoute(stack, 'ecs-2', '10.0.3.0/24', ECS2);
    await fullSyncs(stack, 1);
    const seq = stack.emu.lastSeq;
    stack.emu.faults.set({ badBodyNext: { operation: 'ShowRouteTable', body: 'truncated' } });
    await waitFor('the truncated read', async () => stack!.emu.callsSince(seq, 'ShowRouteTable').some((c) => c.fault === 'badBody:truncated'));
    await fullSyncs(stack, 1);
    assert.equal(await stack.ctl.metric('hostnet_drift_repairs_total', { kind: 'missing' }), 0, 'no route taken for missing');
    assert.deepEqual(stack.emu.callsSince(seq, 'UpdateRouteTable'), [], 'nothing rewritten');
    assert.ok(
      logLines(stack.ctl).some((l) => l.message === 'full sync failed; the next one retries' && /ShowRouteTable: HTTP 200 .*not JSON.*not believed/.test(String(l.error))),
      'the failed sync is logged with the reason',
    );
    assert.ok(isReady(await getHn(stack.kc, 'ecs-1')) && isReady(await getHn(stack.kc, 'ecs-2')));
  });

  it('credentials revoked while running: fewer than 5 bad signatures (the AK is never locked), reported once', async () => {
    stack = await startEmulatorStack({ args: ['--leader-elect=false', '--resync-period=2s'] });
    await createHn(stack.kc, hostNetwork('ecs-1', { instanceID: ECS1, podCIDR: '10.0.2.0/24' }));
    await createHn(stack.kc, hostNetwork('ecs-2', { instanceID: ECS2, podCIDR: '10.0.3.0/24' }));
    await readyOnlyWithRoute(stack, 'ecs-2', '10.0.3.0/24', ECS2);
    const seq = stack.emu.lastSeq;
    stack.emu.state.credentials.set(SEED.ak, WRONG_SK); // rotated in IAM: our key is now wrong
    await patchSpec(stack.kc, 'ecs-2', { instanceID: ECS3 });
    const c = await waitFor('ecs-2 reports the refused credentials', async () => {
      const rp = cond(await getHn(stack!.kc, 'ecs-2'), 'RouteProgrammed');
      return rp?.status === 'False' && /APIGW\.0301/.test(rp.message) ? rp : undefined;
    });
    assert.equal(c.reason, 'CloudError');
    // Six full syncs' worth (2 s each) of reconciles, retries and table reads: today's code
    // signs every one of them (and locks the AK after five).
    const until = Date.now() + 12_000;
    while (Date.now() < until) {
      const bad = stack.emu.callsSince(seq).filter((x) => x.status === 401);
      assert.ok(bad.length < 5, `${bad.length} requests with the revoked key: ${bad.map((x) => x.operation).join(', ')}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    const lines = logLines(stack.ctl).filter((l) => /the cloud refused the credentials/.test(String(l.message)));
    assert.equal(lines.length, 1, 'one log line per backoff');
    assert.equal(lines[0]!.backoffSeconds, 60);
    // The good key still works: the gateway never locked the AK.
    stack.emu.state.credentials.set(SEED.ak, SEED.sk);
    const probe = createHuaweiProvider(
      { flavor: 'huaweicloud', endpoint: stack.emu.url, projectId: SEED.projectId, routeTableIds: [TABLE], credentials: { ak: SEED.ak, sk: SEED.sk }, timeoutMs: 5000, qps: 100, burst: 100 },
      { debug() {}, info() {}, warn() {}, error() {} },
    );
    assert.ok((await probe.listRoutes(TABLE)).length > 0);
  });
});
