// Credentials rotate (issue 11, point 4), end to end: the controller process reads its AK/SK from
// a directory laid out the way kubelet mounts a Secret (files are symlinks through `..data` to a
// timestamped directory, and an update swaps `..data` atomically). The key is rotated while it
// runs; the controller picks the new files up without a restart, and no key of either pair ever
// shows in its log, the Events or the status. Real API server, real SDK, the emulator's IAM.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { emulatorArgs, freshCluster, startController, type ControllerProcess } from '../helpers/controller.js';
import { cond, createHn, dumpLogs, ECS1, ECS2, eventsFor, getHn, hostNetwork, isReady, logLines } from '../helpers/invariants.js';
import { resetCluster, waitFor } from '../helpers/kube.js';
import { writeKubeletSecret } from '../helpers/kubelet-secret.js';
import { SEED, startEmulator, type Emulator } from '../emulator/server.js';

const TABLE = SEED.routeTableId;
/** The second key pair of the account, created in IAM for the rotation. */
const KEY2 = { ak: 'ROTATEDAK0000555566667777', sk: 'rotated-secret-key-of-the-second-pair-4d2c9e' };
const FORBIDDEN = [SEED.ak, SEED.sk, KEY2.ak, KEY2.sk, 'Authorization', 'authorization', 'SDK-HMAC-SHA256', 'Signature='];

function assertNoSecret(where: string, text: string): void {
  for (const s of FORBIDDEN) assert.ok(!text.includes(s), `${where} contains "${s}":\n${text.split('\n').filter((l) => l.includes(s)).slice(0, 5).join('\n')}`);
}

function hasRoute(emu: Emulator, destination: string, nexthop: string): boolean {
  return emu.snapshot().route_tables.find((t) => t.id === TABLE)!.routes.some((r) => r.destination === destination && r.nexthop === nexthop);
}

describe('e2e: cloud credentials rotate without a restart', function () {
  this.timeout(90_000);
  let kc: KubeConfig;
  let emu: Emulator | undefined;
  let ctl: ControllerProcess | undefined;
  let dir: string;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hostnet-creds-'));
    writeKubeletSecret(dir, { 'access-key': SEED.ak, 'secret-key': SEED.sk });
    const { cp, kc: k } = await freshCluster();
    kc = k;
    emu = await startEmulator({});
    ctl = await startController({
      kubeconfig: cp.kubeconfig,
      args: [...emulatorArgs(emu.url), '--leader-elect=false', '--resync-period=2s', `--cloud-credentials-dir=${dir}`],
      // Only the directory: no key in the environment to fall back on.
      env: { HUAWEICLOUD_SDK_AK: '', HUAWEICLOUD_SDK_SK: '' },
      waitLeader: true,
    });
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') dumpLogs([ctl]);
    emu?.reset(); // the seed's keys again, for the finalizers
    writeKubeletSecret(dir, { 'access-key': SEED.ak, 'secret-key': SEED.sk });
    await ctl?.stop();
    await resetCluster(kc);
    await emu?.close();
    fs.rmSync(dir, { recursive: true, force: true });
    ctl = emu = undefined;
  });

  async function convergedWithKey1(): Promise<void> {
    await createHn(kc, hostNetwork('ecs-1', { instanceID: ECS1, podCIDR: '10.0.2.0/24' }));
    await waitFor('ecs-1 Ready', async () => isReady(await getHn(kc, 'ecs-1')));
    assert.ok(hasRoute(emu!, '10.0.2.0/24', ECS1));
  }

  /** A new host converges on the same process; after the first call with key 2, key 1 is never used again. */
  async function convergesWithKey2(seq: number, pid: number | undefined): Promise<void> {
    await createHn(kc, hostNetwork('ecs-2', { instanceID: ECS2, podCIDR: '10.0.3.0/24' }));
    await waitFor('ecs-2 Ready', async () => isReady(await getHn(kc, 'ecs-2')));
    assert.ok(hasRoute(emu!, '10.0.3.0/24', ECS2), 'the route of the new host is in the table');
    assert.equal(ctl!.proc.pid, pid);
    assert.equal(ctl!.proc.exitCode, null, 'no restart');
    const calls = emu!.callsSince(seq);
    const first2 = calls.findIndex((c) => c.ak === KEY2.ak);
    assert.ok(first2 >= 0, `a call signed with key 2: ${calls.map((c) => `${c.operation}:${c.ak}:${c.status}`).join(' ')}`);
    assert.ok(calls.slice(first2).every((c) => c.ak === KEY2.ak), 'key 1 unused after the switch');
    assert.ok(calls.some((c) => c.ak === KEY2.ak && c.operation === 'UpdateRouteTable' && c.status === 200), 'the route was written with key 2');
    assert.ok(calls.filter((c) => c.status === 401).length < 5, 'never near the AK lockout');
    const changed = logLines(ctl!).filter((l) => l.message === 'cloud credentials changed; using the new key');
    assert.equal(changed.length, 1, 'one log line for the rotation');
    assert.equal(changed[0]!.accessKey, `…${KEY2.ak.slice(-4)}`, 'the line names the AK by its last 4 characters');
    assertNoSecret('the controller log', ctl!.logs());
    const hns = await Promise.all(['ecs-1', 'ecs-2'].map((n) => getHn(kc, n)));
    assertNoSecret('the HostNetworks', JSON.stringify(hns));
    assertNoSecret('the Events', JSON.stringify(await Promise.all(hns.map((h) => eventsFor(kc, h!)))));
  }

  it('key 2 added in IAM, the Secret files swapped, key 1 revoked: a new host converges with key 2, no restart, no key in logs, Events or status', async () => {
    await convergedWithKey1();
    const pid = ctl!.proc.pid;
    const seq = emu!.lastSeq;
    emu!.state.credentials.set(KEY2.ak, KEY2.sk);
    writeKubeletSecret(dir, { 'access-key': KEY2.ak, 'secret-key': KEY2.sk });
    emu!.state.credentials.delete(SEED.ak);
    await convergesWithKey2(seq, pid);
  });

  it('key 1 revoked first (the auth backoff holds calls back for a minute), then the new files: the change ends the backoff at once', async () => {
    await convergedWithKey1();
    const pid = ctl!.proc.pid;
    const seq = emu!.lastSeq;
    emu!.state.credentials.delete(SEED.ak);
    await createHn(kc, hostNetwork('ecs-3', { instanceID: SEED.servers['ecs-3'].id, podCIDR: '10.0.4.0/24' }));
    await waitFor('ecs-3 reports the refused key', async () => /not sent: the cloud refused the credentials/.test(cond(await getHn(kc, 'ecs-3'), 'RouteProgrammed')?.message ?? ''));
    emu!.state.credentials.set(KEY2.ak, KEY2.sk);
    writeKubeletSecret(dir, { 'access-key': KEY2.ak, 'secret-key': KEY2.sk });
    // Well inside the first backoff (60 s): without the change ending it, nothing is sent.
    await waitFor('ecs-3 Ready', async () => isReady(await getHn(kc, 'ecs-3')), 30_000);
    await convergesWithKey2(seq, pid);
  });
});
