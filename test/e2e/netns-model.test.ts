// Self-test of the netns network model WITHOUT the controller: the emulator's route table and
// port address pairs, changed through its admin API, must decide whether real packets flow
// between containers on two "ECSs" (docs/netns.md). Needs root; skipped with a reason otherwise.
//
//   npx mocha --no-config --import=tsx --extension ts --timeout 60000 test/e2e/netns-model.test.ts
import { strict as assert } from 'node:assert';
import { startEmulator, SEED } from '../emulator/server.js';
import * as netns from '../netns/index.js';
import { adminAddRoute, adminDeleteRoute, adminSetAddressPairs } from '../netns/emulator-admin.js';

const BLOCK1 = '10.0.2.0/24';
const BLOCK2 = '10.0.3.0/24';

describe('netns VPC model: emulator route table drives real packets (no controller)', function () {
  this.timeout(120_000);

  let emu: Awaited<ReturnType<typeof startEmulator>> | undefined;
  let sync: netns.VpcSync | undefined;
  let upStarted = false;
  const syncLog: string[] = [];
  const c1 = netns.containerNs('ecs-1');
  const c2 = netns.containerNs('ecs-2');
  let ip1 = '';
  let ip2 = '';

  const ecs = (name: 'ecs-1' | 'ecs-2'): { id: string; portId: string } => SEED.servers[name];

  before(async function () {
    const avail = netns.netnsAvailable();
    if (!avail.ok) {
      console.log(`      netns model suite skipped: ${avail.reason}`);
      this.skip();
    }
    emu = await startEmulator({});
    upStarted = true;
    await netns.up();
    ip1 = await netns.host('ecs-1', BLOCK1);
    ip2 = await netns.host('ecs-2', BLOCK2);
    sync = netns.startVpcSync(emu.url, { log: (l) => syncLog.push(l) });
    await sync.syncNow();
  });

  after(async function () {
    const errors: unknown[] = [];
    await sync?.stop().catch((e: unknown) => errors.push(e));
    if (upStarted) await netns.down().catch((e: unknown) => errors.push(e));
    await emu?.close().catch((e: unknown) => errors.push(e));
    if (this.currentTest?.state === 'failed' || errors.length) console.log(`      vpc-sync log:\n        ${syncLog.join('\n        ')}`);
    if (errors.length) throw errors[0];
  });

  it('models the seed addressing: containers 10.0.2.2 / 10.0.3.2, hosts reach each other on the subnet', async function () {
    assert.equal(ip1, '10.0.2.2');
    assert.equal(ip2, '10.0.3.2');
    assert.equal(await netns.ping(c1, '10.0.2.1'), true, 'container → its bridge');
    assert.equal(await netns.ping(netns.hostNs('ecs-1'), '192.168.0.3'), true, 'ecs-1 → ecs-2 on the subnet');
    assert.equal(await netns.ping(netns.hostNs('ecs-2'), netns.VPC_GATEWAY), true, 'ecs-2 → VPC gateway');
  });

  it('without routes in the route table, container → container fails', async function () {
    assert.deepEqual(await netns.vpcRoutes(), []);
    assert.equal(await netns.ping(c1, ip2), false);
    assert.equal(await netns.ping(c2, ip1), false);
  });

  it('with routes but the source/destination check on, packets are dropped at the switch port', async function () {
    await adminAddRoute(emu!.url, SEED.routeTableId, BLOCK1, ecs('ecs-1').id);
    await adminAddRoute(emu!.url, SEED.routeTableId, BLOCK2, ecs('ecs-2').id);
    await sync!.syncNow();
    assert.deepEqual(
      (await netns.vpcRoutes()).sort((a, b) => a.destination.localeCompare(b.destination)),
      [
        { destination: BLOCK1, nexthop: '192.168.0.2' },
        { destination: BLOCK2, nexthop: '192.168.0.3' },
      ],
    );
    assert.equal(await netns.ping(c1, ip2), false);
  });

  it('with routes and both ports at 1.1.1.1/0, ping works both ways and traceroute matches the seed', async function () {
    await adminSetAddressPairs(emu!.url, ecs('ecs-1').portId, ['1.1.1.1/0']);
    await adminSetAddressPairs(emu!.url, ecs('ecs-2').portId, ['1.1.1.1/0']);
    await sync!.syncNow();
    assert.equal(await netns.ping(c1, ip2, 3), true, '10.0.2.2 → 10.0.3.2');
    assert.equal(await netns.ping(c2, ip1, 3), true, '10.0.3.2 → 10.0.2.2');
    assert.deepEqual(await netns.traceroute(c1, ip2), ['10.0.2.1', '192.168.0.3', '10.0.3.2']);
    assert.deepEqual(await netns.traceroute(c2, ip1), ['10.0.3.1', '192.168.0.2', '10.0.2.2']);
  });

  it("resetting ecs-2's address pairs breaks it again (destination check on ecs-2's port)", async function () {
    await adminSetAddressPairs(emu!.url, ecs('ecs-2').portId, []);
    await sync!.syncNow();
    assert.equal(await netns.ping(c1, ip2), false);
    assert.equal(await netns.ping(c2, ip1), false);
    // A pair covering just the container block is enough, like a narrower allowed_address_pairs entry.
    await adminSetAddressPairs(emu!.url, ecs('ecs-2').portId, [BLOCK2]);
    await sync!.syncNow();
    assert.equal(await netns.ping(c1, ip2), true);
  });

  it('deleting a route breaks it; the poll loop alone picks up a re-added route', async function () {
    await adminDeleteRoute(emu!.url, SEED.routeTableId, BLOCK2);
    await sync!.syncNow();
    assert.deepEqual(await netns.vpcRoutes(), [{ destination: BLOCK1, nexthop: '192.168.0.2' }]);
    assert.equal(await netns.ping(c1, ip2), false);
    await adminAddRoute(emu!.url, SEED.routeTableId, BLOCK2, ecs('ecs-2').id);
    assert.equal(await netns.waitFor(() => netns.ping(c1, ip2), 10_000), true, 'route re-added by polling');
  });
});
