// The netns datapath end-to-end suite, one body for every cloud: the controller process, the
// real kube-apiserver, a cloud (the Huawei emulator, moto, the Alibaba emulator) reached through
// its real SDK, and the netns model of the VPC (docs/netns.md) whose router follows that cloud's
// route table. Containers on two hosts ping each other only when the controller has done its
// work — the check the seed's manual procedure ends with — and the route follows a migration and
// goes with a deletion. Used by test/e2e/netns-controller.test.ts (Huawei), netns-aws.test.ts and
// netns-alibaba.test.ts; each gives its cloud (DatapathCloud) and its own extra steps.
//
// Needs root and working network namespaces; skipped with the reason printed otherwise.
// The cases run in order and share one topology: each starts from the state the previous left.
import assert from 'node:assert/strict';
import { setHeaderOptions, type CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { controlPlane, adminKubeConfig } from '../helpers/controlplane.js';
import { installCrd, resetCluster, waitFor } from '../helpers/kube.js';
import { startController, type ControllerProcess } from '../helpers/controller.js';
import type { Condition, HostNetwork } from '../../controller/api/types.js';
import * as netns from './index.js';
import type { VpcRouteSource } from './vpc-sync.js';
import { Containers, getHostNetwork, HN_API, hostNetworkApi, placementOf, seedHostNetworks, type EmulatorServer, type Placement } from './cluster.js';
import { teardownSteps } from '../helpers/teardown.js';

const MERGE = setHeaderOptions('Content-Type', 'application/merge-patch+json');

/** A route of the cloud's table to a host: destination → the host's id (server / instance id). */
export interface CloudRoute {
  destination: string;
  nexthop: string | null;
}

/** One cloud as the suite drives it. */
export interface DatapathCloud {
  /**
   * The cloud's hosts, at least three, in order: the seed's two HostNetworks go on the first
   * two (their spec.instanceID set to these ids), the migration moves the second to the third.
   * Their addresses are the seed's, 192.168.0.2/.3/.4, so the traceroute shows the seed's hops.
   */
  servers: EmulatorServer[];
  /** What the VPC router follows: the Huawei emulator's URL or any cloud's VpcRouteSource. */
  source: string | VpcRouteSource;
  /** The cloud's routes to hosts now, read from the cloud (not from the controller). */
  routes(): Promise<CloudRoute[]>;
  /** The controller's cloud flags and environment (the suite adds kubeconfig, leader election, resync). */
  controllerArgs: string[];
  controllerEnv?: Record<string, string>;
  close(): Promise<void>;
}

/** What a cloud's own steps get to work with. */
export interface DatapathContext {
  readonly cloud: DatapathCloud;
  readonly sync: netns.VpcSync;
  readonly containers: Containers;
  /** The seed's HostNetwork names (ecs-1, ecs-2). */
  readonly first: string;
  readonly second: string;
  /** Waits until the router namespace has exactly these block → host-address routes. */
  waitVpcRoutes(want: Record<string, string>): Promise<void>;
}

export interface DatapathSuiteOptions {
  title: string;
  setup(): Promise<DatapathCloud>;
  /**
   * In the seed case, after the controller started and before its hosts are awaited Ready
   * (Alibaba: the entries are Pending and the router has no route for them yet).
   */
  beforeReady?(ctx: DatapathContext): Promise<void>;
  /**
   * For a cloud with a per-NIC source/destination check (Huawei, AWS): turns it on again on a
   * host's NIC, as a fresh host has it. Given, the suite runs the case "the check still on".
   */
  closeSourceDestCheck?(ctx: DatapathContext, server: EmulatorServer): Promise<void>;
  /** Before the migration, what else a settled HostNetwork shows (Huawei: its NIC port opened again). */
  settled?(hn: HostNetwork): boolean;
}

export function condition(hn: HostNetwork, type: string): Condition | undefined {
  return hn.status?.conditions?.find((c) => c.type === type);
}

/** Ready=True for the current generation. */
function ready(hn: HostNetwork): boolean {
  return condition(hn, 'Ready')?.status === 'True' && hn.status?.observedGeneration === hn.metadata.generation;
}

export function indent(text: string): string {
  return text
    .trimEnd()
    .split('\n')
    .map((l) => `        ${l}`)
    .join('\n');
}

export function describeNetnsDatapath(opts: DatapathSuiteOptions): void {
  describe(opts.title, function () {
    this.timeout(180_000);

    let kc: KubeConfig | undefined;
    let api: CustomObjectsApi;
    let kubeconfig = '';
    let cloud: DatapathCloud | undefined;
    let sync: netns.VpcSync | undefined;
    let upStarted = false;
    let servers: EmulatorServer[] = [];
    let ctl: ControllerProcess | undefined;
    let failed = false;
    const containers = new Containers();
    const syncLog: string[] = [];
    const ctlLogs: string[] = [];
    const seedDocs = seedHostNetworks();
    const [first, second] = [seedDocs[0]?.metadata.name ?? 'ecs-1', seedDocs[1]?.metadata.name ?? 'ecs-2'];

    const server = (index: number): EmulatorServer => {
      const s = servers[index];
      assert.ok(s, `the cloud has a host #${index + 1}`);
      return s;
    };

    async function startCtl(extra: string[] = []): Promise<ControllerProcess> {
      await stopCtl();
      ctl = await startController({
        kubeconfig,
        args: [...cloud!.controllerArgs, '--leader-elect=false', '--resync-period=5s', ...extra],
        ...(cloud!.controllerEnv ? { env: cloud!.controllerEnv } : {}),
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

    async function waitVpcRoutes(want: Record<string, string>): Promise<void> {
      const wanted = JSON.stringify(Object.entries(want).sort());
      const ok = await netns.waitFor(async () => JSON.stringify((await netns.vpcRoutes()).map((r) => [r.destination, r.nexthop]).sort()) === wanted, 15_000, 100);
      assert.ok(ok, `VPC router routes: want ${wanted}, have ${JSON.stringify(await netns.vpcRoutes())}`);
    }

    const context = (): DatapathContext => ({ cloud: cloud!, sync: sync!, containers, first, second, waitVpcRoutes });

    before(async function () {
      const avail = netns.netnsAvailable();
      if (!avail.ok) {
        console.log(`      netns datapath suite skipped: ${avail.reason}`);
        this.skip();
      }
      assert.equal(seedDocs.length, 2, 'examples/seed-hosts.yaml holds two HostNetworks');
      kubeconfig = (await controlPlane()).kubeconfig;
      kc = await adminKubeConfig();
      await installCrd(kc);
      await resetCluster(kc);
      api = hostNetworkApi(kc);
      cloud = await opts.setup();
      servers = cloud.servers;
      assert.ok(servers.length >= 3, 'the cloud has three hosts');
      upStarted = true;
      await netns.up(servers);
      sync = netns.startVpcSync(cloud.source, { log: (l) => syncLog.push(`${new Date().toISOString()} ${l}`) });
      await sync.syncNow();
    });

    afterEach(function () {
      if (this.currentTest?.state === 'failed') failed = true;
    });

    after(async function () {
      const { attempt, errors } = teardownSteps();
      await attempt('stop controller', stopCtl);
      if (kc) await attempt('reset cluster', () => resetCluster(kc!));
      await attempt('stop vpc-sync', async () => sync?.stop());
      if (upStarted) {
        if (failed) await attempt('status', async () => console.log(`      netns status:\n${await netns.status()}`));
        await attempt('netns down', () => netns.down());
      }
      await attempt('close the cloud', async () => cloud?.close());
      if (failed || errors.length) {
        console.log(`      vpc-sync log:\n        ${syncLog.join('\n        ')}`);
        console.log(`      controller logs (last 6000 chars):\n${ctlLogs.join('\n---\n').slice(-6000)}`);
      }
      if (errors.length) throw errors[0];
    });

    it('before the controller runs: no block in status, no route, the containers cannot reach each other', async function () {
      // The seed's HostNetworks, on this cloud's first two hosts.
      for (const [i, d] of seedDocs.entries()) {
        await api.createClusterCustomObject({ ...HN_API, body: { ...d, spec: { ...d.spec, instanceID: server(i).id } } });
      }
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
      assert.deepEqual(await cloud!.routes(), [], "no route in the cloud's route table");
      assert.deepEqual(await netns.vpcRoutes(), [], 'no route in the VPC router');
      const [a, b] = [containers.get(first)!, containers.get(second)!];
      assert.ok(await netns.ping(a.ns, a.gateway), 'the container reaches its own bridge (the model works)');
      assert.equal(await netns.ping(a.ns, b.container, 2), false, `${a.container} → ${b.container} must fail`);
      assert.equal(await netns.ping(b.ns, a.container, 2), false, `${b.container} → ${a.container} must fail`);
    });

    it('after the seed example is Ready: ping works both ways, traceroute goes through the destination host', async function () {
      await startCtl();
      if (opts.beforeReady) await opts.beforeReady(context());
      await waitReady([first, second]);
      const a = await placeFromStatus(first);
      const b = await placeFromStatus(second);
      assert.equal(a.server, server(0).name);
      assert.equal(b.server, server(1).name);
      await waitVpcRoutes({ [a.block]: a.serverIp, [b.block]: b.serverIp });
      assert.deepEqual(
        (await cloud!.routes()).map((r) => [r.destination, r.nexthop]).sort(),
        [
          [a.block, server(0).id],
          [b.block, server(1).id],
        ].sort(),
        "the cloud's table routes each block to its host",
      );
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

    if (opts.closeSourceDestCheck) {
      const closeCheck = opts.closeSourceDestCheck;
      it('with the source/destination check still on (--source-dest-check=off), ping fails and the condition says why', async function () {
        // The first controller opened both NICs. Stop it, close the check again as a fresh VPC
        // has it, and run a controller that does not manage it.
        await stopCtl();
        for (const name of [first, second]) {
          const s = servers.find((x) => x.name === containers.get(name)!.server);
          assert.ok(s, `the host of ${name}`);
          await closeCheck(context(), s);
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
        assert.equal(await netns.ping(a.ns, b.container, 2), false, `routes are there, but ${a.server} drops its container traffic`);
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
        // Back to a controller that manages the check (the migration starts from it).
        await startCtl();
      });
    }

    it("migration: the second host's block moves to the third host, its containers are re-created there, ping works again", async function () {
      // A controller with the cloud's plain flags (an extra step may have run another).
      if (!ctl) await startCtl();
      await waitReady([first, second], opts.settled);
      const a = containers.get(first)!;
      const before = containers.get(second)!;
      assert.ok(await netns.waitFor(() => netns.ping(a.ns, before.container, 1, 0.5), 10_000, 100), 'ping works before the migration');

      const third = server(2);
      const marks: Record<string, number> = {};
      const t0 = Date.now();
      let watching = true;
      const watcher = (async () => {
        while (watching) {
          if (marks.cloud === undefined && (await cloud!.routes()).some((r) => r.destination === before.block && r.nexthop === third.id)) marks.cloud = Date.now() - t0;
          if (marks.router === undefined && (await netns.vpcRoutes()).some((r) => r.destination === before.block && r.nexthop === third.ip)) marks.router = Date.now() - t0;
          await new Promise((r) => setTimeout(r, 20));
        }
      })();
      try {
        // The host moved to another machine: its instance and its address change.
        await api.patchClusterCustomObject({ ...HN_API, name: second, body: { spec: { instanceID: third.id, hostIP: third.ip } } }, MERGE);
        // The user re-creates the containers on the third host with the same block (docker network
        // create --subnet <status.podCIDR>), then removes the old ones: Containers.place does both.
        const moved = placementOf(await getHostNetwork(api, second), servers);
        assert.ok(moved);
        assert.equal(moved.server, third.name, 'spec.instanceID now names the third host');
        assert.equal(moved.block, before.block, 'status.podCIDR stays');
        await containers.place(moved);
        marks.containers = Date.now() - t0;
        const back = await netns.waitFor(() => netns.ping(a.ns, moved.container, 1, 0.3), 30_000, 50);
        marks.ping = Date.now() - t0;
        assert.ok(back, `${a.container} → ${moved.container} on ${third.name} never answered`);
      } finally {
        watching = false;
        await watcher;
      }
      console.log(
        `      migration ${second} → ${third.name}: ping works again ${marks.ping} ms after the patch ` +
          `(containers re-created at ${marks.containers} ms, route in the cloud at ${marks.cloud ?? '?'} ms, in the VPC router at ${marks.router ?? '?'} ms)`,
      );
      const b = containers.get(second)!;
      assert.equal(await netns.ping(b.ns, a.container, 2), true, 'and back');
      assert.deepEqual(await netns.traceroute(a.ns, b.container), [a.gateway, third.ip, b.container]);
      await waitReady([second], (hn) => hn.status?.nextHop === third.id);
      assert.deepEqual(
        (await cloud!.routes()).map((r) => [r.destination, r.nexthop]).sort(),
        [
          [a.block, server(0).id],
          [b.block, third.id],
        ].sort(),
      );
    });

    it("deletion: the HostNetwork goes, its route goes from the cloud's table and the VPC router, ping fails", async function () {
      const a = containers.get(first)!;
      const b = containers.get(second)!;
      await api.deleteClusterCustomObject({ ...HN_API, name: second });
      await waitFor(`${second} gone`, async () => getHostNetwork(api, second).then(() => false, () => true), 30_000, 200);
      assert.deepEqual(
        (await cloud!.routes()).map((r) => [r.destination, r.nexthop]),
        [[a.block, server(0).id]],
        "only the first host's route is left in the cloud's route table",
      );
      await waitVpcRoutes({ [a.block]: a.serverIp });
      assert.equal(await netns.ping(a.ns, b.container, 2), false, `${a.container} → ${b.container} fails without the route`);
      assert.equal(await netns.ping(b.ns, a.container, 2), false, `${b.container} → ${a.container} fails too (no way back)`);
    });
  });
}
