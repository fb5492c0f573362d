// End to end, with real packets: the controller process, the real kube-apiserver, the VPC
// emulator reached through the real Huawei SDK, and the netns model of the VPC (docs/netns.md)
// whose router follows the emulator's route table and whose switch ports enforce the
// emulator's source/destination check. Containers on two "ECSs" ping each other only when the
// controller has done its work — the check the seed's manual procedure ends with. The body is
// test/netns/datapath-suite.ts, shared with netns-aws and netns-alibaba.
//
// Needs root and working network namespaces; skipped with the reason printed otherwise.
//   npx mocha --no-config --import=tsx --extension ts --require test/helpers/hooks.ts --timeout 120000 test/e2e/netns-controller.test.ts
import assert from 'node:assert/strict';
import { emulatorArgs, emulatorEnv } from '../helpers/controller.js';
import { SEED, startEmulator, type Emulator } from '../emulator/server.js';
import { adminSetAddressPairs } from '../netns/emulator-admin.js';
import { emulatorServers } from '../netns/cluster.js';
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
  // No address pairs on the NIC port, as a fresh VPC has it (the emulator's admin API).
  async closeSourceDestCheck(ctx, server) {
    assert.ok(server.portId, `the emulator names the NIC port of ${server.name}`);
    await adminSetAddressPairs(ctx.cloud.source as string, server.portId, []);
  },
  // The managing controller opened the NIC ports again.
  settled: (hn) => condition(hn, 'SourceDestCheckDisabled')?.reason === 'AddressPairsSet',
});
