// The netns VPC router's Alibaba source (test/netns/vpc-source-alibaba.ts) against the Alibaba
// emulator through the real SDKs: what the router would do for a VRouter table whose entries go
// through their asynchronous life. No root needed: this checks the mapping; test/e2e/netns-*
// send the packets.
import assert from 'node:assert/strict';
import * as $Vpc from '@alicloud/vpc20160428';
import { ALI_SEED, startAliEmulator, type AliEmulator } from '../emulator/alibaba/server.js';
import { aliEcsClient, aliVpcClient, type AliVpcClient } from '../emulator/alibaba/sdk.js';
import { alibabaSource } from '../netns/vpc-source-alibaba.js';
import { OffsetClock } from '../netns/offset-clock.js';

const REGION = ALI_SEED.regionId;
const RT = ALI_SEED.routeTableId;
const [N1, N2] = ALI_SEED.instances;
/** Long enough that an entry stays Pending until the test jumps the clock. */
const DELAY = 60_000;

describe('netns VPC router: the Alibaba route source (emulator, real SDK)', () => {
  let em: AliEmulator;
  let vpc: AliVpcClient;
  const clock = new OffsetClock();

  before(async () => {
    em = await startAliEmulator({ entryDelayMs: DELAY, clock: clock.now });
    vpc = aliVpcClient(em.endpoint);
  });
  after(async () => em?.close());

  const entry = (dst: string, hop: string): $Vpc.CreateRouteEntriesRequestRouteEntries =>
    new $Vpc.CreateRouteEntriesRequestRouteEntries({ routeTableId: RT, dstCidrBlock: dst, nextHop: hop, nextHopType: 'Instance' });

  it('Pending entries are not routed, Available ones are via the instance address; Deleting and unknown next hops are left out', async () => {
    const source = alibabaSource(vpc, aliEcsClient(em.endpoint), { regionId: REGION, routeTableId: RT });
    await vpc.createRouteEntries(new $Vpc.CreateRouteEntriesRequest({ regionId: REGION, routeEntries: [entry('10.0.2.0/24', N1.id), entry('10.0.3.0/24', N2.id)] }));
    assert.deepEqual(em.state.tableEntries(RT).filter((e) => e.type === 'Custom').map((e) => e.status), ['Pending', 'Pending'], 'the emulator holds them Pending');
    const pending = await source.desired();
    assert.deepEqual([...pending.routes], [], 'nothing routed while Pending');
    assert.deepEqual(pending.ports, [], 'Alibaba has no per-NIC check');

    clock.jump(DELAY);
    const available = await source.desired();
    assert.deepEqual([...available.routes].sort(), [['10.0.2.0/24', N1.ip], ['10.0.3.0/24', N2.ip]]);
    assert.deepEqual(available.warnings, []);

    // A released instance: its entry stays in the table (as in the cloud) but leads nowhere.
    const res = await fetch(`${em.url}/_admin/instances/${N2.id}`, { method: 'DELETE' });
    assert.equal(res.status, 200);
    const released = await source.desired();
    assert.deepEqual([...released.routes], [['10.0.2.0/24', N1.ip]]);
    assert.ok(released.warnings.some((w) => w.includes('10.0.3.0/24') && w.includes(N2.id)), released.warnings.join('; '));

    // Deleting: left out at once, not when the entry finally goes.
    await vpc.deleteRouteEntries(
      new $Vpc.DeleteRouteEntriesRequest({ regionId: REGION, routeEntries: [new $Vpc.DeleteRouteEntriesRequestRouteEntries({ routeTableId: RT, dstCidrBlock: '10.0.2.0/24', nextHop: N1.id })] }),
    );
    assert.equal(em.state.tableEntries(RT).find((e) => e.destination === '10.0.2.0/24')?.status, 'Deleting');
    assert.deepEqual([...(await source.desired()).routes], []);
  });
});
