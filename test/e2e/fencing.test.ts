// End to end: no split brain on the route table, and a graceful stop that writes nothing after
// SIGTERM. Two controller processes (real API server, emulator through the real SDK); each
// replica signs with its own AK of the same account, so the emulator's call log tells who wrote.
// Replica A reaches the API server through a TCP proxy the test freezes (bytes stop, nothing
// closes: client-node has no request timeout), replica B directly.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { emulatorArgs, freshCluster, startController, type ControllerProcess } from '../helpers/controller.js';
import { waitFor, resetCluster } from '../helpers/kube.js';
import { ECS1, ECS2, ECS3, createHn, deleteHn, dumpLogs, getHn, hostNetwork, isReady, leaderGauge, logLines, ownedRoutes, patchSpec } from '../helpers/invariants.js';
import { startFreezableProxy, type FreezableProxy } from '../helpers/tcpproxy.js';
import { SEED, startEmulator, type Emulator } from '../emulator/server.js';
import type { CallRecord } from '../emulator/calllog.js';

/** The emulator's write operations (everything that changes its state). */
const WRITES = new Set(['UpdateRouteTable', 'UpdatePort', 'NeutronUpdatePort', 'CreateSecurityGroupRule', 'NeutronCreateSecurityGroupRule']);
const A_ENV = { HUAWEICLOUD_SDK_AK: SEED.ak, HUAWEICLOUD_SDK_SK: SEED.sk };
const B_ENV = { HUAWEICLOUD_SDK_AK: SEED.altAk, HUAWEICLOUD_SDK_SK: SEED.altSk };

function writesBy(emu: Emulator, ak: string): CallRecord[] {
  return emu.calls.filter((c) => c.ak === ak && WRITES.has(c.operation));
}

function describeCalls(calls: CallRecord[]): string {
  return calls.map((c) => `${c.time} ${c.ak === SEED.ak ? 'A' : 'B'} ${c.operation} ${c.status}${c.delta ? ` ${JSON.stringify(c.delta)}` : ''}`).join('\n');
}

describe('e2e: fencing and graceful stop (two replicas, real API server, emulator)', function () {
  this.timeout(120_000);
  let kc: KubeConfig;
  let kubeconfig: string;
  let apiUrl: URL;
  let emu: Emulator | undefined;
  let proxy: FreezableProxy | undefined;
  let dir: string | undefined;
  const ctls: ControllerProcess[] = [];

  before(async () => {
    const { cp, kc: admin } = await freshCluster();
    kc = admin;
    kubeconfig = cp.kubeconfig;
    apiUrl = new URL(cp.url);
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') dumpLogs(ctls, 4000);
    proxy?.heal();
    for (const c of ctls.splice(0)) await c.stop();
    await proxy?.close();
    proxy = undefined;
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
    await resetCluster(kc);
    await emu?.close();
    emu = undefined;
  });

  /** The admin kubeconfig with the API server's address replaced by the proxy's. */
  function kubeconfigVia(p: FreezableProxy): string {
    dir = mkdtempSync(join(tmpdir(), 'hostnet-fencing-'));
    const file = join(dir, 'kubeconfig');
    const text = readFileSync(kubeconfig, 'utf8');
    assert.ok(text.includes(apiUrl.origin), 'the kubeconfig names the API server');
    writeFileSync(file, text.replaceAll(apiUrl.origin, `https://127.0.0.1:${p.port}`));
    return file;
  }

  it('the leader frozen off the API server: after the new leader writes, the old one writes nothing (also across its full syncs), and exits 1 once healed', async () => {
    emu = await startEmulator({});
    proxy = await startFreezableProxy({ host: apiUrl.hostname, port: Number(apiUrl.port) });
    const args = [...emulatorArgs(emu.url), '--leader-elect=true', '--lease-duration=3s', '--renew-deadline=2s', '--retry-period=300ms', '--resync-period=1s'];
    const a = await startController({ kubeconfig: kubeconfigVia(proxy), args, env: A_ENV, waitLeader: true });
    ctls.push(a);
    const b = await startController({ kubeconfig, args, env: B_ENV });
    ctls.push(b);
    await createHn(kc, hostNetwork('sb-1', { instanceID: ECS1 }));
    await createHn(kc, hostNetwork('sb-2', { instanceID: ECS2 }));
    await waitFor('both hosts Ready under A', async () => isReady(await getHn(kc, 'sb-1')) && isReady(await getHn(kc, 'sb-2')), 30_000);
    const blocks = new Map(ownedRoutes(emu).map((r) => [r.owner, r.destination]));
    assert.equal(blocks.size, 2, 'A programmed both routes');
    assert.equal(writesBy(emu, SEED.altAk).length, 0, 'the standby wrote nothing');

    // A's path to the API server hangs. Meanwhile sb-2 migrates and sb-1 is deleted: only B
    // (once it leads) sees it. A's informer still holds the old view.
    proxy.freeze();
    await patchSpec(kc, 'sb-2', { instanceID: ECS3 });
    await deleteHn(kc, 'sb-1');
    await waitFor('B leads', async () => (await leaderGauge(b)) === 1, 30_000, 50);
    await waitFor(
      "B's work is in the table: sb-2 → ecs-3, sb-1's route gone",
      async () => {
        const routes = ownedRoutes(emu!);
        return routes.length === 1 && routes[0]!.owner === 'sb-2' && routes[0]!.nexthop === ECS3;
      },
      30_000,
    );
    const firstB = writesBy(emu, SEED.altAk)[0];
    assert.ok(firstB, 'B wrote');
    // Three full syncs of B after its first write (same --resync-period as A): time for A's own
    // full syncs, which (without fencing) re-add sb-1's route and move sb-2's back.
    await waitFor(
      'three full syncs of B after its first write',
      async () => emu!.calls.filter((c) => c.ak === SEED.altAk && c.operation === 'ShowRouteTable' && c.time > firstB.time).length >= 3,
      30_000,
    );
    const lateA = writesBy(emu, SEED.ak).filter((c) => c.time >= firstB.time);
    assert.deepEqual(lateA, [], `no write by the old leader after the new leader's first write (${firstB.time}):\n${describeCalls(emu.calls.filter((c) => WRITES.has(c.operation)))}`);
    const routes = ownedRoutes(emu);
    assert.deepEqual(
      routes.map((r) => [r.owner, r.destination, r.nexthop]),
      [['sb-2', blocks.get('sb-2'), ECS3]],
      "the table still holds B's work",
    );
    assert.ok(
      logLines(a).some((l) => l.message === 'lost leadership; stopping reconciles'),
      'A gave up leadership while frozen (renew deadline)',
    );

    // Healed: A learns it is no longer the leader and exits with status 1.
    proxy.heal();
    const code = await Promise.race([a.exited, new Promise((r) => setTimeout(() => r('still running'), 30_000))]);
    assert.equal(code, 1, 'the old leader exits with 1 (lost leadership)');
    ctls.splice(ctls.indexOf(a), 1);
    assert.equal(await leaderGauge(b), 1, 'B still leads');
  });

  it('SIGTERM while NIC reads are in flight (after the route batch): no write starts after SIGTERM, nothing is called after "stopped", the lease is handed back, status 0', async () => {
    emu = await startEmulator({});
    const args = [...emulatorArgs(emu.url), '--leader-elect=true', '--lease-duration=3s', '--renew-deadline=2s', '--retry-period=300ms', '--shutdown-grace-period=10s'];
    const ctl = await startController({ kubeconfig, args, env: A_ENV, waitLeader: true });
    ctls.push(ctl);
    // The NIC comes in the pass after the host's route batch has landed: both NIC look-ups are
    // held for 2.5 s by the emulator, the UpdatePort each would lead to must never be sent.
    emu.faults.set({ timeoutNext: [{ operation: 'ListPorts', ms: 2500, count: 2 }] });
    await createHn(kc, hostNetwork('gs-1', { instanceID: ECS1 }));
    await createHn(kc, hostNetwork('gs-2', { instanceID: ECS2 }));
    await waitFor('both NIC look-ups are held in the emulator', async () => emu!.faults.current().timeoutNext.length === 0, 30_000, 20);
    assert.deepEqual(
      writesBy(emu, SEED.ak).filter((c) => c.operation !== 'CreateSecurityGroupRule' && c.operation !== 'UpdateRouteTable').map((c) => c.operation),
      [],
      'no answered write but the route batch yet',
    );

    const sigterm = new Date().toISOString();
    const code = await ctl.stop();
    ctls.splice(ctls.indexOf(ctl), 1);
    assert.equal(code, 0, 'status 0 after SIGTERM');

    const batches = emu.calls.filter((c) => c.operation === 'UpdateRouteTable');
    assert.ok(batches.length >= 1 && batches.every((b) => b.status === 200), `the route batch before SIGTERM completed: ${describeCalls(batches)}`);
    // The held calls had arrived before SIGTERM (the wait above saw their faults taken); the log
    // stamps arrival to the millisecond, so one of them can share SIGTERM's stamp.
    const afterSigterm = writesBy(emu, SEED.ak).filter((c) => c.time >= sigterm && c.fault !== 'timeout');
    assert.deepEqual(afterSigterm, [], `no cloud write started after SIGTERM (${sigterm}):\n${describeCalls(emu.calls)}`);
    assert.equal(emu.calls.filter((c) => c.operation === 'UpdatePort').length, 0, 'the NIC updates after the held look-ups were not sent');

    const lines = logLines(ctl);
    const stopped = lines.find((l) => l.message === 'stopped: no cloud write from here on');
    assert.ok(stopped?.timestamp, 'the controller logs that it stopped');
    const late = emu.calls.filter((c) => c.time > stopped.timestamp!);
    assert.deepEqual(late, [], `no cloud call after "stopped" (${stopped.timestamp}):\n${describeCalls(late)}`);
    const released = lines.find((l) => l.message === 'released the lease');
    assert.ok(released?.timestamp && released.timestamp >= stopped.timestamp!, 'the lease is handed back after the stop');
  });
});
