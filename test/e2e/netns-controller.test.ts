// End to end, with real packets: the controller process, the real kube-apiserver, the VPC
// emulator reached through the real Huawei SDK, and the netns model of the VPC (docs/netns.md)
// whose router follows the emulator's route table and whose switch ports enforce the
// emulator's source/destination check. Containers on two "ECSs" ping each other only when the
// controller has done its work — the check the seed's manual procedure ends with. The body is
// test/netns/datapath-suite.ts (shared with netns-aws and netns-alibaba); the source/destination
// check left on is this cloud's own case.
//
// Needs root and working network namespaces; skipped with the reason printed otherwise.
//   npx mocha --no-config --import=tsx --extension ts --require test/helpers/hooks.ts --timeout 120000 test/e2e/netns-controller.test.ts
import assert from 'node:assert/strict';
import { waitFor } from '../helpers/kube.js';
import { emulatorArgs, emulatorEnv } from '../helpers/controller.js';
import { SEED, startEmulator, type Emulator } from '../emulator/server.js';
import * as netns from '../netns/index.js';
import { adminSetAddressPairs } from '../netns/emulator-admin.js';
import { emulatorServers, getHostNetwork } from '../netns/cluster.js';
import { condition, describeNetnsDatapath, type CloudRoute } from '../netns/datapath-suite.js';

function ecsRoutes(emu: Emulator): CloudRoute[] {
  const t = emu.snapshot().route_tables.find((r) => r.id === SEED.routeTableId);
  assert.ok(t, `route table ${SEED.routeTableId} in the emulator`);
  return (t.routes as { destination: string; nexthop: string | null; type: string }[]).filter((r) => r.type === 'ecs').map((r) => ({ destination: r.destination, nexthop: r.nexthop }));
}

describeNetnsDatapath({
  title: 'e2e: the controller makes containers on two ECSs talk (netns VPC model, real packets)',
  async setup() {
    const emu = await startEmulator({});
    return {
      servers: await emulatorServers(emu.url),
      source: emu.url,
      routes: async () => ecsRoutes(emu),
      controllerArgs: emulatorArgs(emu.url),
      controllerEnv: emulatorEnv(),
      close: () => emu.close(),
    };
  },
  // The migration's controller opened ecs-1's and ecs-2's ports again.
  settled: (hn) => condition(hn, 'SourceDestCheckDisabled')?.reason === 'AddressPairsSet',
  afterSeed(ctx) {
    it('with the source/destination check still on (--source-dest-check=off), ping fails and the condition says why', async function () {
      // The first controller opened both NIC ports (address pair 1.1.1.1/0). Stop it, close the
      // ports again as a fresh VPC has them, and run a controller that does not manage them.
      const { api, containers, first, second, sync } = ctx();
      const emuUrl = ctx().cloud.source as string;
      await ctx().stopCtl();
      for (const name of [first, second]) {
        const { portId } = ctx().cloud.servers.find((s) => s.name === containers.get(name)!.server) ?? {};
        assert.ok(portId, `the emulator names the NIC port of ${name}'s server`);
        await adminSetAddressPairs(emuUrl, portId, []);
      }
      await ctx().startCtl(['--source-dest-check=off']);
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
      await sync.syncNow();
      const [a, b] = [containers.get(first)!, containers.get(second)!];
      await ctx().waitVpcRoutes({ [a.block]: a.serverIp, [b.block]: b.serverIp });
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
      // Back to a controller that manages the check (the migration starts from it).
      await ctx().startCtl();
    });
  },
});
