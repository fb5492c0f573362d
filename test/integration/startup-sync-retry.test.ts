// The start-up read of the route tables survives throttling and transient cloud failures (a reset,
// a 503, a 429) by retrying with backoff, instead of exiting 1 on the first lost call (found by the
// chaos soak: each new leader that met one fault exited, and the next one met the next fault).
import assert from 'node:assert/strict';
import { emulatorArgs, emulatorEnv, freshCluster, startController, type ControllerProcess } from '../helpers/controller.js';
import { resetCluster, waitFor } from '../helpers/kube.js';
import { ECS1, createHn, dumpLogs, getHn, hostNetwork, isReady, logLines } from '../helpers/invariants.js';
import { startEmulator, type Emulator } from '../emulator/server.js';

describe('controller: start-up sync against a flaky cloud (real API server, emulator)', function () {
  this.timeout(90_000);
  let emu: Emulator | undefined;
  let ctl: ControllerProcess | undefined;

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') dumpLogs([ctl]);
    await ctl?.stop();
    ctl = undefined;
    const { kc } = await freshCluster();
    await resetCluster(kc);
    await emu?.close();
    emu = undefined;
  });

  it('a reset, a 503 and a 429 on the first route-table reads: retried, the replica leads and serves hosts, no exit', async () => {
    const { cp, kc } = await freshCluster();
    emu = await startEmulator({});
    emu.faults.set({
      resetNext: { operation: 'ShowRouteTable', count: 1 },
      failNext: [
        { operation: 'ShowRouteTable', status: 503, count: 1 },
        { operation: 'ShowRouteTable', status: 429, code: 'APIG.0308', count: 1 },
      ],
    });
    ctl = await startController({ kubeconfig: cp.kubeconfig, args: [...emulatorArgs(emu.url), '--leader-elect=true'], env: emulatorEnv(), waitLeader: true });
    const c = ctl;
    await waitFor('the start-up sync done', async () => logLines(c).some((l) => l.message === 'leading: start-up sync done') || c.proc.exitCode !== null, 30_000);
    assert.equal(c.proc.exitCode, null, `the replica did not exit (it exited with ${c.proc.exitCode})`);
    const faulted = emu.calls.filter((c) => c.operation === 'ShowRouteTable' && c.fault !== undefined).map((c) => `${c.fault} ${c.status}`);
    assert.deepEqual(faulted, ['reset 0', 'failNext 503', 'failNext 429'], 'the three faults hit the start-up reads');
    await createHn(kc, hostNetwork('flaky-1', { instanceID: ECS1 }));
    await waitFor('flaky-1 Ready', async () => isReady(await getHn(kc, 'flaky-1')), 30_000);
    assert.equal(ctl.proc.exitCode, null, 'the replica is still running');
    const retries = logLines(ctl).filter((l) => l.message === 'start-up read of the route tables failed; retrying');
    assert.equal(retries.length, 3, 'one warning per failed attempt');
  });
});
