// End to end, with real packets: the controller process, the real kube-apiserver, the VPC
// emulator reached through the real Huawei SDK, and the netns model of the VPC (docs/netns.md)
// whose router follows the emulator's route table and whose switch ports enforce the
// emulator's source/destination check. Containers on two "ECSs" ping each other only when the
// controller has done its work — the check the seed's manual procedure ends with.
//
// Needs root and working network namespaces; skipped with the reason printed otherwise.
//   npx mocha --no-config --import=tsx --extension ts --require test/helpers/hooks.ts --timeout 120000 test/e2e/netns-controller.test.ts
//
// The cases run in order and share one topology: each starts from the state the previous left.
import assert from 'node:assert/strict';
import { setHeaderOptions, type CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { controlPlane, adminKubeConfig } from '../helpers/controlplane.js';
import { installCrd, resetCluster, waitFor } from '../helpers/kube.js';
import { emulatorArgs, emulatorEnv, startController, type ControllerProcess } from '../helpers/controller.js';
import { SEED, startEmulator, type Emulator } from '../emulator/server.js';
import type { Condition, HostNetwork } from '../../controller/api/types.js';
import * as netns from '../netns/index.js';
import { adminSetAddressPairs } from '../netns/emulator-admin.js';
import { Containers, emulatorServers, getHostNetwork, HN_API, hostNetworkApi, placementOf, seedHostNetworks, type EmulatorServer, type Placement } from '../netns/cluster.js';

const MERGE = setHeaderOptions('Content-Type', 'application/merge-patch+json');

function condition(hn: HostNetwork, type: string): Condition | undefined {
  return hn.status?.conditions?.find((c) => c.type === type);
}

/** Ready=True for the current generation. */
function ready(hn: HostNetwork): boolean {
  return condition(hn, 'Ready')?.status === 'True' && hn.status?.observedGeneration === hn.metadata.generation;
}

function ecsRoutes(emu: Emulator): { destination: string; nexthop: string | null }[] {
  const t = emu.snapshot().route_tables.find((r) => r.id === SEED.routeTableId);
  assert.ok(t, `route table ${SEED.routeTableId} in the emulator`);
  return (t.routes as { destination: string; nexthop: string | null; type: string }[]).filter((r) => r.type === 'ecs');
}

describe('e2e: the controller makes containers on two ECSs talk (netns VPC model, real packets)', function () {
  this.timeout(180_000);

  let kc: KubeConfig | undefined;
  let api: CustomObjectsApi;
  let kubeconfig = '';
  let emu: Emulator | undefined;
  let sync: netns.VpcSync | undefined;
  let upStarted = false;
  let servers: EmulatorServer[] = [];
  let ctl: ControllerProcess | undefined;
  let failed = false;
  const containers = new Containers();
  const syncLog: string[] = [];
  const ctlLogs: string[] = [];
  const seed = seedHostNetworks();
  const [first, second] = [seed[0]?.metadata.name ?? 'ecs-1', seed[1]?.metadata.name ?? 'ecs-2'];

  const serverByName = (name: string): EmulatorServer => {
    const s = servers.find((x) => x.name === name);
    assert.ok(s, `emulator server ${name}`);
    return s;
  };

  async function startCtl(extra: string[] = []): Promise<ControllerProcess> {
    await stopCtl();
    ctl = await startController({
      kubeconfig,
      args: [...emulatorArgs(emu!.url), '--leader-elect=false', '--resync-period=5s', ...extra],
      env: emulatorEnv(),
      waitLeader: true,
    });
    return ctl;
  }

  async function stopCtl(): Promise<void> {
    if (!ctl) return;
    const c = ctl;
    ctl = undefined;
    await c.stop();
    ctlLogs.push(c.logs());
  }

  /** (Re)creates the containers of a HostNetwork where and as its status says. */
  async function placeFromStatus(name: string): Promise<Placement> {
    const p = placementOf(await getHostNetwork(api, name), servers);
    assert.ok(p, `${name} has status.podCIDR`);
    await containers.place(p);
    return p;
  }

  async function waitReady(names: string[], extra: (hn: HostNetwork) => boolean = () => true): Promise<void> {
    await waitFor(
      `${names.join(', ')} Ready`,
      async () => {
        for (const n of names) {
          const hn = await getHostNetwork(api, n);
          if (!ready(hn) || !extra(hn)) return false;
        }
        return true;
      },
      60_000,
      200,
    );
  }

  /** Waits until the router namespace has exactly these block → server-IP routes. */
  async function waitVpcRoutes(want: Record<string, string>): Promise<void> {
    const wanted = JSON.stringify(Object.entries(want).sort());
    const ok = await netns.waitFor(async () => JSON.stringify((await netns.vpcRoutes()).map((r) => [r.destination, r.nexthop]).sort()) === wanted, 15_000, 100);
    assert.ok(ok, `VPC router routes: want ${wanted}, have ${JSON.stringify(await netns.vpcRoutes())}`);
  }

  before(async function () {
    const avail = netns.netnsAvailable();
    if (!avail.ok) {
      console.log(`      netns controller suite skipped: ${avail.reason}`);
      this.skip();
    }
    assert.equal(seed.length, 2, 'examples/seed-hosts.yaml holds two HostNetworks');
    kubeconfig = (await controlPlane()).kubeconfig;
    kc = await adminKubeConfig();
    await installCrd(kc);
    await resetCluster(kc);
    api = hostNetworkApi(kc);
    emu = await startEmulator({});
    servers = await emulatorServers(emu.url);
    upStarted = true;
    await netns.up(servers);
    sync = netns.startVpcSync(emu.url, { log: (l) => syncLog.push(`${new Date().toISOString()} ${l}`) });
    await sync.syncNow();
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') failed = true;
  });

  after(async function () {
    const errors: unknown[] = [];
    const attempt = async (what: string, fn: () => Promise<unknown>): Promise<void> => {
      await fn().catch((e: unknown) => errors.push(new Error(`${what}: ${(e as Error).message ?? String(e)}`)));
    };
    await attempt('stop controller', stopCtl);
    if (kc) await attempt('reset cluster', () => resetCluster(kc!));
    await attempt('stop vpc-sync', async () => sync?.stop());
    if (upStarted) {
      if (failed) await attempt('status', async () => console.log(`      netns status:\n${await netns.status()}`));
      await attempt('netns down', () => netns.down());
    }
    await attempt('close emulator', async () => emu?.close());
    if (failed || errors.length) {
      console.log(`      vpc-sync log:\n        ${syncLog.join('\n        ')}`);
      console.log(`      controller logs (last 6000 chars):\n${ctlLogs.join('\n---\n').slice(-6000)}`);
    }
    if (errors.length) throw errors[0];
  });

  it('before the controller runs: no block in status, no route, the containers cannot reach each other', async function () {
    for (const d of seed) await api.createClusterCustomObject({ ...HN_API, body: d });
    // The seed example pins its blocks: as in the seed procedure, Docker got them before the
    // routes existed. So the containers are started from spec.podCIDR here; from the next case
    // on every placement comes from status.podCIDR, the controller's word.
    for (const name of [first, second]) {
      const hn = await getHostNetwork(api, name);
      assert.equal(hn.status?.podCIDR, undefined, `${name}: no controller, no status`);
      const p = placementOf(hn, servers, 'spec');
      assert.ok(p, `${name} pins spec.podCIDR`);
      await containers.place(p);
    }
    await sync!.syncNow();
    assert.deepEqual(ecsRoutes(emu!), [], 'no route in the emulated route table');
    assert.deepEqual(await netns.vpcRoutes(), [], 'no route in the VPC router');
    const [a, b] = [containers.get(first)!, containers.get(second)!];
    assert.ok(await netns.ping(a.ns, a.gateway), 'the container reaches its own bridge (the model works)');
    assert.equal(await netns.ping(a.ns, b.container, 2), false, `${a.container} → ${b.container} must fail`);
    assert.equal(await netns.ping(b.ns, a.container, 2), false, `${b.container} → ${a.container} must fail`);
  });

  it('after the seed example is Ready: ping works both ways, traceroute goes through the destination ECS', async function () {
    await startCtl();
    await waitReady([first, second]);
    const a = await placeFromStatus(first);
    const b = await placeFromStatus(second);
    assert.equal(a.server, 'ecs-1');
    assert.equal(b.server, 'ecs-2');
    await waitVpcRoutes({ [a.block]: a.serverIp, [b.block]: b.serverIp });
    assert.ok(await netns.waitFor(() => netns.ping(a.ns, b.container, 1, 0.5), 10_000, 100), `${a.container} → ${b.container}`);
    const there = await netns.pingOutput(a.ns, b.container, { count: 3, intervalSec: 0.2 });
    const back = await netns.pingOutput(b.ns, a.container, { count: 3, intervalSec: 0.2 });
    console.log(`      [${a.ns}]# ${there.command}\n${indent(there.output)}`);
    console.log(`      [${b.ns}]# ${back.command}\n${indent(back.output)}`);
    assert.ok(there.ok, `${a.container} → ${b.container}:\n${there.output}`);
    assert.ok(back.ok, `${b.container} → ${a.container}:\n${back.output}`);
    const tr = await netns.tracerouteOutput(a.ns, b.container);
    console.log(`      [${a.ns}]# ${tr.command}\n${indent(tr.output)}`);
    // The seed: 10.0.2.2 → 10.0.2.1 → 192.168.0.3 → 10.0.3.2 (the VPC router is no hop).
    assert.deepEqual(tr.hops, [a.gateway, b.serverIp, b.container]);
    assert.deepEqual(await netns.traceroute(b.ns, a.container), [b.gateway, a.serverIp, a.container]);
  });

  it('with the source/destination check still on (--source-dest-check=off), ping fails and the condition says why', async function () {
    // The first controller opened both NIC ports (address pair 1.1.1.1/0). Stop it, close the
    // ports again as a fresh VPC has them, and run a controller that does not manage them.
    await stopCtl();
    for (const name of [first, second]) {
      const { portId } = serverByName(containers.get(name)!.server);
      assert.ok(portId, `the emulator names the NIC port of ${name}'s server`);
      await adminSetAddressPairs(emu!.url, portId, []);
    }
    await startCtl(['--source-dest-check=off']);
    await waitFor(
      'SourceDestCheckDisabled reason NotManaged',
      async () => {
        for (const name of [first, second]) {
          const hn = await getHostNetwork(api, name);
          const c = condition(hn, 'SourceDestCheckDisabled');
          if (c?.reason !== 'NotManaged' || hn.status?.observedGeneration !== hn.metadata.generation) return false;
        }
        return true;
      },
      30_000,
      200,
    );
    await sync!.syncNow();
    const [a, b] = [containers.get(first)!, containers.get(second)!];
    await waitVpcRoutes({ [a.block]: a.serverIp, [b.block]: b.serverIp });
    assert.equal(await netns.ping(a.ns, b.container, 2), false, 'routes are there, but ecs-1 drops its container traffic');
    assert.equal(await netns.ping(b.ns, a.container, 2), false);
    for (const name of [first, second]) {
      const hn = await getHostNetwork(api, name);
      const c = condition(hn, 'SourceDestCheckDisabled');
      console.log(`      ${name} SourceDestCheckDisabled=${c?.status} ${c?.reason}: ${c?.message}`);
      console.log(`      ${name} Ready=${condition(hn, 'Ready')?.status} ${condition(hn, 'Ready')?.reason}: ${condition(hn, 'Ready')?.message}`);
      assert.equal(c?.reason, 'NotManaged');
      assert.match(c?.message ?? '', /--source-dest-check=off/, 'names the flag');
      assert.match(c?.message ?? '', /disable the source\/destination check on the NIC of \S+ yourself/, 'tells the user what to do');
      assert.equal(c?.status, 'Unknown', 'the controller does not claim a check it does not manage');
    }
  });

  it("migration: ecs-2's block moves to ecs-3, its containers are re-created there, ping works again", async function () {
    // Back to a controller that manages the check; it opens ecs-1's and ecs-2's ports again.
    await startCtl();
    await waitReady([first, second], (hn) => condition(hn, 'SourceDestCheckDisabled')?.reason === 'AddressPairsSet');
    const a = containers.get(first)!;
    const before = containers.get(second)!;
    assert.ok(await netns.waitFor(() => netns.ping(a.ns, before.container, 1, 0.5), 10_000, 100), 'ping works before the migration');

    const ecs3 = serverByName('ecs-3');
    const marks: Record<string, number> = {};
    const t0 = Date.now();
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        if (marks.emulator === undefined && ecsRoutes(emu!).some((r) => r.destination === before.block && r.nexthop === ecs3.id)) marks.emulator = Date.now() - t0;
        if (marks.router === undefined && (await netns.vpcRoutes()).some((r) => r.destination === before.block && r.nexthop === ecs3.ip)) marks.router = Date.now() - t0;
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    try {
      await api.patchClusterCustomObject({ ...HN_API, name: second, body: { spec: { instanceID: ecs3.id } } }, MERGE);
      // The user re-creates the containers on ecs-3 with the same block (docker network create
      // --subnet <status.podCIDR>), then removes the old ones: Containers.place does both.
      const moved = placementOf(await getHostNetwork(api, second), servers);
      assert.ok(moved);
      assert.equal(moved.server, 'ecs-3', 'spec.instanceID now names ecs-3');
      assert.equal(moved.block, before.block, 'status.podCIDR stays');
      await containers.place(moved);
      marks.containers = Date.now() - t0;
      const back = await netns.waitFor(() => netns.ping(a.ns, moved.container, 1, 0.3), 30_000, 50);
      marks.ping = Date.now() - t0;
      assert.ok(back, `${a.container} → ${moved.container} on ecs-3 never answered`);
    } finally {
      watching = false;
      await watcher;
    }
    console.log(
      `      migration ${second} → ecs-3: ping works again ${marks.ping} ms after the patch ` +
        `(containers re-created at ${marks.containers} ms, route in the emulator at ${marks.emulator ?? '?'} ms, in the VPC router at ${marks.router ?? '?'} ms)`,
    );
    const b = containers.get(second)!;
    assert.equal(await netns.ping(b.ns, a.container, 2), true, 'and back');
    assert.deepEqual(await netns.traceroute(a.ns, b.container), [a.gateway, ecs3.ip, b.container]);
    await waitReady([second], (hn) => hn.status?.nextHop === ecs3.id);
    assert.deepEqual(
      ecsRoutes(emu!).map((r) => [r.destination, r.nexthop]).sort(),
      [
        [a.block, serverByName(a.server).id],
        [b.block, ecs3.id],
      ].sort(),
    );
  });

  it('deletion: the HostNetwork goes, its route goes from the emulator and the VPC router, ping fails', async function () {
    const a = containers.get(first)!;
    const b = containers.get(second)!;
    await api.deleteClusterCustomObject({ ...HN_API, name: second });
    await waitFor(`${second} gone`, async () => getHostNetwork(api, second).then(() => false, () => true), 30_000, 200);
    assert.deepEqual(
      ecsRoutes(emu!).map((r) => [r.destination, r.nexthop]),
      [[a.block, serverByName(a.server).id]],
      "only ecs-1's route is left in the emulated route table",
    );
    await waitVpcRoutes({ [a.block]: a.serverIp });
    assert.equal(await netns.ping(a.ns, b.container, 2), false, `${a.container} → ${b.container} fails without the route`);
    assert.equal(await netns.ping(b.ns, a.container, 2), false, `${b.container} → ${a.container} fails too (no way back)`);
  });
});

function indent(text: string): string {
  return text
    .trimEnd()
    .split('\n')
    .map((l) => `        ${l}`)
    .join('\n');
}
