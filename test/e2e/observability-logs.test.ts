// End to end: what a person sees of the controller. Its logs (JSON by default and on a pipe,
// text on a terminal or on request, --log-level), that no secret leaks into logs, Events or
// status when the cloud rejects the credentials, and `kubectl describe hn` after convergence and
// after a route conflict. Controller + real API server + VPC emulator through the real SDK.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi, setHeaderOptions, type CoreV1Event, type KubeConfig } from '@kubernetes/client-node';
import { freePort } from '../../hack/controlplane.js';
import { adminKubeConfig, controlPlane } from '../helpers/controlplane.js';
import { installCrd, repoRoot, resetCluster, waitFor } from '../helpers/kube.js';
import { emulatorArgs, emulatorEnv, startController, type ControllerProcess } from '../helpers/controller.js';
import { kubectl, run } from '../helpers/cli.js';
import { SEED, startEmulator, type Emulator } from '../emulator/server.js';
import type { HostNetwork } from '../../controller/api/types.js';

const HN = { group: 'hostnet.io', version: 'v1alpha1', plural: 'hostnetworks' };
const SEED_FILE = join(repoRoot, 'examples', 'seed-hosts.yaml');
const MAIN = join(repoRoot, 'controller', 'main.ts');
const WRONG_SK = 'some-long-secret-value-that-is-not-the-right-one-7f3a9c';

function ready(hn: HostNetwork | undefined): boolean {
  return hn?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true && hn.status?.observedGeneration === hn.metadata.generation;
}

function lines(text: string): string[] {
  return text.split('\n').filter((l) => l.trim() !== '');
}

interface JsonLine {
  level: string;
  message: string;
  timestamp: string;
  [k: string]: unknown;
}

/** Every line as JSON; fails naming the first line that is not a JSON log event. */
function parseJsonLines(text: string): JsonLine[] {
  return lines(text).map((l, i) => {
    let o: JsonLine;
    try {
      o = JSON.parse(l) as JsonLine;
    } catch {
      return assert.fail(`line ${i + 1} is not JSON: ${l}`);
    }
    assert.ok(['error', 'warn', 'info', 'debug'].includes(o.level), `line ${i + 1} has a level: ${l}`);
    assert.ok(typeof o.message === 'string' && o.message.length > 0, `line ${i + 1} has a message: ${l}`);
    assert.ok(!Number.isNaN(Date.parse(o.timestamp)) && /^\d{4}-\d\d-\d\dT/.test(o.timestamp), `line ${i + 1} has an ISO timestamp: ${l}`);
    return o;
  });
}

describe('e2e: logs, secrets and kubectl describe', function () {
  this.timeout(120_000);
  let kc: KubeConfig;
  let kubeconfig: string;
  let api: CustomObjectsApi;
  let emu: Emulator;
  let ctl: ControllerProcess | undefined;
  /** A controller started by hand (without the helper's log flags). */
  let bare: { stop(): Promise<unknown>; logs(): string } | undefined;

  before(async () => {
    kubeconfig = (await controlPlane()).kubeconfig;
    kc = await adminKubeConfig();
    await installCrd(kc);
    await resetCluster(kc);
    api = kc.makeApiClient(CustomObjectsApi);
  });

  beforeEach(async () => {
    emu = await startEmulator({});
  });

  afterEach(async function () {
    const failed = this.currentTest?.state === 'failed';
    // Let a running controller finalize the hosts, then stop it.
    const list = (await api.listClusterCustomObject(HN)) as { items: HostNetwork[] };
    for (const i of list.items) await api.deleteClusterCustomObject({ ...HN, name: i.metadata.name }).catch(() => undefined);
    if (ctl?.proc.exitCode === null) await waitFor('hosts finalized', async () => ((await api.listClusterCustomObject(HN)) as { items: unknown[] }).items.length === 0, 20_000).catch(() => undefined);
    if (failed) console.log((ctl?.logs() ?? bare?.logs() ?? '').slice(-5000));
    await ctl?.stop();
    await bare?.stop();
    ctl = undefined;
    bare = undefined;
    await emu.close();
    await resetCluster(kc);
  });

  async function applySeed(): Promise<Map<string, string>> {
    await kubectl(kubeconfig, ['apply', '-f', SEED_FILE]);
    const uids = new Map<string, string>();
    for (const n of ['ecs-1', 'ecs-2']) uids.set(n, ((await api.getClusterCustomObject({ ...HN, name: n })) as HostNetwork).metadata.uid!);
    return uids;
  }

  async function getHn(name: string): Promise<HostNetwork> {
    return (await api.getClusterCustomObject({ ...HN, name })) as HostNetwork;
  }

  async function waitSeedReady(): Promise<void> {
    await waitFor('seed hosts Ready', async () => ready(await getHn('ecs-1')) && ready(await getHn('ecs-2')), 60_000, 200);
  }

  async function eventsOf(uids: string[]): Promise<CoreV1Event[]> {
    const list = await kc.makeApiClient(CoreV1Api).listNamespacedEvent({ namespace: 'default' });
    return list.items.filter((e) => uids.includes(e.involvedObject.uid ?? ''));
  }

  describe('log format and level', () => {
    it('logs JSON by default when not on a terminal: every line parses, with level, message, timestamp and the host names', async () => {
      const [m, h] = [await freePort(), await freePort()];
      const env = { ...process.env, ...emulatorEnv() };
      delete env.HOSTNET_LOG_FORMAT;
      delete env.HOSTNET_LOG_LEVEL;
      const proc = spawn(
        process.execPath,
        ['--import', 'tsx', MAIN, `--kubeconfig=${kubeconfig}`, `--metrics-bind-address=127.0.0.1:${m}`, `--health-bind-address=127.0.0.1:${h}`, ...emulatorArgs(emu.url), '--leader-elect=false'],
        { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let out = '';
      proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
      proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
      const exited = new Promise<number | null>((resolve) => proc.on('exit', resolve));
      bare = { logs: () => out, stop: async () => (proc.exitCode === null ? (proc.kill('SIGTERM'), exited) : proc.exitCode) };
      await applySeed();
      await waitSeedReady();
      const list = (await api.listClusterCustomObject(HN)) as { items: HostNetwork[] };
      for (const i of list.items) await api.deleteClusterCustomObject({ ...HN, name: i.metadata.name });
      await waitFor('hosts finalized', async () => ((await api.listClusterCustomObject(HN)) as { items: unknown[] }).items.length === 0, 20_000);
      assert.equal(await bare.stop(), 0, 'graceful stop');
      bare = undefined;

      const events = parseJsonLines(out);
      assert.ok(events.length >= 5, out);
      assert.ok(!events.some((e) => e.level === 'debug'), 'the default level is info');
      for (const [name, block] of [['ecs-1', '10.0.2.0/24'], ['ecs-2', '10.0.3.0/24']]) {
        assert.ok(events.some((e) => e.message === 'block assigned' && e.hostnetwork === name && e.podCIDR === block), `"block assigned" names ${name}`);
        assert.ok(events.some((e) => e.message === 'hostnetwork finalized' && e.hostnetwork === name), `"hostnetwork finalized" names ${name}`);
      }
      assert.ok(events.some((e) => e.message === 'leading: start-up sync done' && JSON.stringify(e.tables) === JSON.stringify([SEED.routeTableId])), 'the start-up line names the route table');
    });

    it('auto format: human-readable text on a terminal, JSON on a pipe', async () => {
      // A start-up failure logs one line and exits: enough to see the format chosen.
      const cmd = [process.execPath, '--import', 'tsx', MAIN, '--kubeconfig=/nonexistent/kubeconfig', '--cloud-provider=memory', '--metrics-bind-address=0', '--health-bind-address=0'];
      assert.equal(process.env.HOSTNET_LOG_FORMAT ?? process.env.HOSTNET_LOG_LEVEL, undefined, 'no log settings in the environment');
      const piped = await run(cmd[0]!, cmd.slice(1));
      assert.equal(piped.code, 2);
      const json = parseJsonLines(piped.stdout + piped.stderr);
      assert.ok(json.some((e) => e.level === 'error' && /start-up failed/.test(e.message)), piped.stderr);
      // `script` gives the process a pseudo-terminal.
      const quoted = cmd.map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
      const tty = await run('script', ['-qec', quoted, '/dev/null']);
      const text = lines(tty.stdout.replaceAll('\r', ''));
      assert.ok(text.length > 0, `no output on the terminal (exit ${tty.code}): ${tty.stderr}`);
      assert.ok(text.every((l) => !l.trimStart().startsWith('{')), `text, not JSON, on a terminal:\n${text.join('\n')}`);
      assert.ok(text.some((l) => /^\d\d:\d\d:\d\d\.\d{3} ERROR start-up failed: /.test(l)), text.join('\n'));
    });

    it('--log-format=text at debug: one readable line per event, with route table id and duration on cloud calls', async () => {
      const cp = await controlPlane();
      ctl = await startController({ kubeconfig: cp.kubeconfig, args: [...emulatorArgs(emu.url), '--leader-elect=false', '--log-format=text'], env: emulatorEnv(), waitLeader: true });
      await applySeed();
      await waitSeedReady();
      const text = lines(ctl.logs());
      for (const l of text) {
        assert.match(l, /^\d\d:\d\d:\d\d\.\d{3} (ERROR|WARN |INFO |DEBUG) \S/, `a text log line: ${l}`);
        assert.ok(!l.includes('{"level"'), l);
      }
      assert.ok(text.some((l) => / INFO {2}block assigned hostnetwork=ecs-1 podCIDR=10\.0\.2\.0\/24/.test(l)), text.join('\n'));
      const update = text.find((l) => / DEBUG cloud call provider=huaweicloud operation=routes\.apply /.test(l));
      assert.ok(update, 'the route table write is logged at debug');
      assert.match(update, new RegExp(`durationMs=\\d+ table=${SEED.routeTableId} add=2 mod=0 del=0`));
    });

    it('--log-level=warn hides info and debug but keeps the warnings (a route conflict names host and table)', async () => {
      const cp = await controlPlane();
      emu.addRoute(SEED.routeTableId, { destination: '10.0.3.0/24', nexthop: SEED.servers['ecs-3'].id, description: 'added by a person' });
      ctl = await startController({ kubeconfig: cp.kubeconfig, args: [...emulatorArgs(emu.url), '--leader-elect=false', '--log-level=warn'], env: emulatorEnv(), waitLeader: true });
      await applySeed();
      await waitFor('ecs-1 Ready', async () => ready(await getHn('ecs-1')), 30_000, 200);
      const warning = await waitFor('the conflict warning', async () => parseJsonLines(ctl!.logs()).find((e) => e.message === 'route not programmed'), 15_000, 200);
      assert.equal(warning.level, 'warn');
      assert.equal(warning.hostnetwork, 'ecs-2');
      assert.equal(warning.table, SEED.routeTableId);
      assert.equal(warning.reason, 'RouteConflict');
      const levels = new Set(parseJsonLines(ctl.logs()).map((e) => e.level));
      assert.ok(!levels.has('info') && !levels.has('debug'), `only warn/error: ${[...levels].join(', ')}`);
    });
  });

  describe('secrets', () => {
    const FORBIDDEN = [SEED.ak, SEED.sk, WRONG_SK, 'Authorization', 'authorization', 'SDK-HMAC-SHA256', 'Signature='];

    function assertNoSecret(where: string, text: string): void {
      for (const s of FORBIDDEN) assert.ok(!text.includes(s), `${where} contains "${s}":\n${text.split('\n').filter((l) => l.includes(s)).slice(0, 5).join('\n')}`);
    }

    it('a wrong secret key: 401, the log names APIGW.0301 and shows no AK, SK or signature; it backs off instead of crash-looping into the AK lockout', async () => {
      const cp = await controlPlane();
      await applySeed();
      ctl = await startController({
        kubeconfig: cp.kubeconfig,
        args: [...emulatorArgs(emu.url), '--leader-elect=false', '--log-level=debug'],
        env: { HUAWEICLOUD_SDK_AK: SEED.ak, HUAWEICLOUD_SDK_SK: WRONG_SK },
        waitReady: false,
      });
      // The start-up sync cannot read the route table. It waits out the auth backoff instead of
      // exiting: a restart would sign with the same key at once, and five bad signatures lock
      // the AK for every user of it.
      await waitFor('the refused credentials logged', async () => /the cloud refused the credentials/.test(ctl!.logs()), 30_000, 200);
      const logs = ctl.logs();
      assert.ok(emu.calls.length > 0 && emu.calls.every((c) => c.status === 401), `every call answered 401: ${JSON.stringify(emu.calls.map((c) => [c.operation, c.status]))}`);
      assert.match(logs, /APIGW\.0301/, 'the log names the error code');
      assertNoSecret('the controller log', logs);
      const until = Date.now() + 8000;
      while (Date.now() < until) {
        assert.equal(ctl.proc.exitCode, null, `the controller keeps running:\n${ctl.logs()}`);
        assert.ok(emu.calls.length < 5, `${emu.calls.length} signed requests with the wrong key`);
        await new Promise((r) => setTimeout(r, 250));
      }
      assert.equal((await fetch(`${ctl.healthUrl}/readyz`)).status, 503, 'not ready while the cloud refuses it');
      assert.ok(!/start-up sync failed/.test(ctl.logs()), 'no exit-and-retry loop');
      const hns = JSON.stringify(await Promise.all(['ecs-1', 'ecs-2'].map(getHn)));
      assertNoSecret('the HostNetworks', hns);
    });

    it('credentials revoked while running: status and Events report APIGW.0301; no secret in logs, Events or status', async () => {
      const cp = await controlPlane();
      ctl = await startController({ kubeconfig: cp.kubeconfig, args: [...emulatorArgs(emu.url), '--leader-elect=false', '--resync-period=2s'], env: emulatorEnv(), waitLeader: true });
      const uids = await applySeed();
      await waitSeedReady();
      // The key pair is rotated in IAM: the controller's secret key is now wrong.
      emu.state.credentials.set(SEED.ak, WRONG_SK);
      await api.patchClusterCustomObject({ ...HN, name: 'ecs-2', body: { spec: { instanceID: SEED.servers['ecs-3'].id } } }, setHeaderOptions('Content-Type', 'application/merge-patch+json'));
      const hn = await waitFor(
        'ecs-2 reports the failure',
        async () => {
          const o = await getHn('ecs-2');
          const c = o.status?.conditions?.find((x) => x.type === 'RouteProgrammed');
          return c?.status === 'False' && /APIGW\.0301/.test(c.message) ? o : undefined;
        },
        30_000,
        200,
      );
      const ready2 = hn.status!.conditions!.find((c) => c.type === 'Ready')!;
      assert.equal(ready2.status, 'False');
      assert.match(ready2.message, /APIGW\.0301/);
      const events = await waitFor('a Warning Event', async () => {
        const evs = await eventsOf([...uids.values()]);
        return evs.some((e) => e.type === 'Warning' && /APIGW\.0301/.test(e.message ?? '')) ? evs : undefined;
      }, 15_000, 200);
      await waitFor('a failed cloud call logged', async () => /"code":"APIGW\.0301"/.test(ctl!.logs()), 15_000, 200);
      assertNoSecret('the controller log', ctl.logs());
      assertNoSecret('the Events', JSON.stringify(events));
      assertNoSecret('the HostNetworks', JSON.stringify(await Promise.all(['ecs-1', 'ecs-2'].map(getHn))));
      // Working keys again (reset also lifts the AK lockout), so the finalizers can run.
      emu.reset();
    });
  });

  describe('kubectl describe hn', () => {
    it('after convergence: conditions with reasons and messages, and the Events', async () => {
      const cp = await controlPlane();
      ctl = await startController({ kubeconfig: cp.kubeconfig, args: [...emulatorArgs(emu.url), '--leader-elect=false'], env: emulatorEnv(), waitLeader: true });
      await applySeed();
      await waitSeedReady();
      await waitFor('Events of ecs-1', async () => (await eventsOf([(await getHn('ecs-1')).metadata.uid!])).some((e) => e.reason === 'SourceDestCheckDisabled'), 15_000, 200);
      const out = await kubectl(kubeconfig, ['describe', 'hn', 'ecs-1']);
      const ecs1 = SEED.servers['ecs-1'].id;
      const norm = out.replace(/[ \t]+/g, ' ');
      for (const want of [
        'Name: ecs-1',
        'Pod CIDR: 10.0.2.0/24',
        `Next Hop: ${ecs1}`,
        'Conditions:',
        'Message: Pinned block 10.0.2.0/24 is reserved for this host\n Observed Generation: 1\n Reason: Pinned\n Status: True\n Type: CIDRAllocated',
        `Message: 10.0.2.0/24 → ${ecs1} in route table ${SEED.routeTableId}\n Observed Generation: 1\n Reason: RouteCreated\n Status: True\n Type: RouteProgrammed`,
        'Reason: AddressPairsSet\n Status: True\n Type: SourceDestCheckDisabled',
        `Message: Containers in 10.0.2.0/24 are routed to ${ecs1}\n Observed Generation: 1\n Reason: HostReady\n Status: True\n Type: Ready`,
        `Id: ${SEED.routeTableId}\n State: Programmed`,
        'Events:',
      ]) {
        assert.ok(norm.includes(want), `describe lacks "${want}":\n${out}`);
      }
      const eventsPart = out.slice(out.indexOf('Events:'));
      // Transitions only: the first block and route show in the conditions above; the address
      // pair set on the server's NIC is an Event.
      assert.match(eventsPart, /Normal\s+SourceDestCheckDisabled\s+.*hostnet-controller/, `Event SourceDestCheckDisabled:\n${eventsPart}`);
      for (const reason of ['CIDRAllocated', 'RouteProgrammed']) assert.doesNotMatch(eventsPart, new RegExp(`\\s${reason}\\s`), `no Event ${reason}:\n${eventsPart}`);
    });

    it('after a route conflict: the reason, the foreign route, and what to do next', async () => {
      const cp = await controlPlane();
      emu.addRoute(SEED.routeTableId, { destination: '10.0.2.0/24', nexthop: SEED.servers['ecs-3'].id, description: 'added by a person' });
      ctl = await startController({ kubeconfig: cp.kubeconfig, args: [...emulatorArgs(emu.url), '--leader-elect=false', '--resync-period=2s'], env: emulatorEnv(), waitLeader: true });
      await applySeed();
      await waitFor(
        'ecs-1 RouteConflict',
        async () => (await getHn('ecs-1')).status?.conditions?.some((c) => c.type === 'Ready' && c.reason === 'RouteConflict'),
        30_000,
        200,
      );
      await waitFor('the RouteConflict Event', async () => (await eventsOf([(await getHn('ecs-1')).metadata.uid!])).some((e) => e.reason === 'RouteConflict'), 15_000, 200);
      const out = await kubectl(kubeconfig, ['describe', 'hn', 'ecs-1']);
      const conflict = `route table ${SEED.routeTableId} already has a route for 10.0.2.0/24 that is not ours (type ecs, next hop ${SEED.servers['ecs-3'].id}, description "added by a person"); remove it or pin another podCIDR`;
      assert.ok(out.includes('RouteConflict'), out);
      assert.ok(out.includes(conflict), `describe shows the conflict and the way out:\n${out}`);
      assert.match(out, /State:\s+Conflict/, 'the per-table state');
      const eventsPart = out.slice(out.indexOf('Events:'));
      assert.match(eventsPart, /Warning\s+RouteConflict\s+/, eventsPart);
      assert.ok(eventsPart.includes('remove it or pin another podCIDR'), eventsPart);
      // The way out works: remove the foreign route and the host converges at the next resync.
      emu.deleteRoute(SEED.routeTableId, '10.0.2.0/24', { force: true });
      await waitFor('ecs-1 Ready after the foreign route is gone', async () => ready(await getHn('ecs-1')), 20_000, 200);
      const after = (await kubectl(kubeconfig, ['describe', 'hn', 'ecs-1'])).replace(/[ \t]+/g, ' ');
      assert.ok(after.includes('Reason: HostReady\n Status: True\n Type: Ready'), after);
    });
  });
});
