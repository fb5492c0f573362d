// End to end on Alibaba Cloud, with real packets: the controller process (--cloud-provider=
// alibaba) reaching the Alibaba emulator through the real SDKs, the real kube-apiserver, and the
// netns model of the VPC (docs/netns.md) whose router follows the VRouter route table, read
// through the SDK (test/netns/vpc-source-alibaba.ts: only Available entries are routed). The body
// is test/netns/datapath-suite.ts, shared with the Huawei and AWS suites; this cloud's own step is
// the asynchronous entry: while the controller's entries are Pending, the router has no route for
// them and the containers cannot talk; once Available, it has and they can.
//
// Needs root and working network namespaces; skipped with the reason printed otherwise.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as $Vpc from '@alicloud/vpc20160428';
import { waitFor } from '../helpers/kube.js';
import { ALI_SEED, aliSeedState, startAliEmulator } from '../emulator/alibaba/server.js';
import { aliEcsClient, aliVpcClient } from '../emulator/alibaba/sdk.js';
import * as netns from '../netns/index.js';
import { SEED_HOSTS } from '../netns/index.js';
import { OffsetClock } from '../netns/offset-clock.js';
import { alibabaSource } from '../netns/vpc-source-alibaba.js';
import type { EmulatorServer } from '../netns/cluster.js';
import { describeNetnsDatapath } from '../netns/datapath-suite.js';

const REGION = ALI_SEED.regionId;
const RT = ALI_SEED.routeTableId;
/** How long the seed case's entries stay Pending: until the test jumps the emulator's clock. */
const PENDING_MS = 120_000;
/** Afterwards, entries settle about as fast as the cloud's do. */
const SETTLE_MS = 100;

const clock = new OffsetClock();
let em: Awaited<ReturnType<typeof startAliEmulator>> | undefined;

interface EntryRow {
  destination: string;
  status: string;
  nextHopId: string;
}

async function customEntries(vpc: ReturnType<typeof aliVpcClient>): Promise<EntryRow[]> {
  const out: EntryRow[] = [];
  let nextToken: string | undefined;
  do {
    const res = await vpc.describeRouteEntryList(new $Vpc.DescribeRouteEntryListRequest({ regionId: REGION, routeTableId: RT, routeEntryType: 'Custom', maxResult: 100, ...(nextToken ? { nextToken } : {}) }));
    for (const e of res.body?.routeEntrys?.routeEntry ?? []) {
      const hop = e.nextHops?.nextHop?.[0];
      if (hop?.nextHopType === 'Instance') out.push({ destination: e.destinationCidrBlock ?? '', status: e.status ?? '', nextHopId: hop.nextHopId ?? '' });
    }
    nextToken = res.body?.nextToken || undefined;
  } while (nextToken);
  return out;
}

describeNetnsDatapath({
  title: 'e2e: the controller makes containers on two Alibaba ECS instances talk (emulator, netns VPC model, real packets)',
  async setup() {
    // The seed's VPC, with three instances at the netns hosts' addresses 192.168.0.2/.3/.4 (our
    // own fixture: the emulator's seed has two instances at .10/.11).
    const servers: EmulatorServer[] = SEED_HOSTS.map((h, i) => ({ id: `i-gw8netns0datapath0host${i + 1}`, name: `node-${i + 1}`, ip: h.ip }));
    const state = { ...aliSeedState(), instances: servers.map((s) => ({ id: s.id, vswitchId: ALI_SEED.vswitchId, ip: s.ip, name: s.name })) };
    em = await startAliEmulator({ state, entryDelayMs: PENDING_MS, clock: clock.now });
    const dir = await mkdtemp(join(tmpdir(), 'hostnet-netns-ali-'));
    await writeFile(join(dir, 'access-key-id'), ALI_SEED.accessKeyId);
    await writeFile(join(dir, 'access-key-secret'), ALI_SEED.accessKeySecret);
    const vpc = aliVpcClient(em.endpoint);
    const emu = em;
    return {
      servers,
      source: alibabaSource(vpc, aliEcsClient(emu.endpoint), { regionId: REGION, routeTableId: RT }),
      // Every instance entry of the table, whatever its status (Pending ones are in the table).
      routes: async () => (await customEntries(vpc)).map((e) => ({ destination: e.destination, nexthop: e.nextHopId })),
      controllerArgs: [
        '--cloud-provider=alibaba',
        `--cloud-region=${REGION}`,
        `--cloud-endpoint=http://${emu.endpoint}`,
        `--cloud-vpc-id=${ALI_SEED.vpcId}`,
        `--cloud-credentials-dir=${dir}`,
        `--security-group-id=${ALI_SEED.securityGroupId}`,
        '--route-batch-window=300ms',
      ],
      async close() {
        await emu.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  },
  async beforeReady(ctx) {
    const vpc = aliVpcClient(em!.endpoint);
    const pending = await waitFor(
      "the controller's entries in the table, Pending",
      async () => {
        const rows = (await customEntries(vpc)).filter((e) => e.status === 'Pending');
        return rows.length ? rows : undefined;
      },
      30_000,
      100,
    );
    await ctx.sync.syncNow();
    const router = await netns.vpcRoutes();
    for (const e of pending) assert.ok(!router.some((r) => r.destination === e.destination), `no router route for the Pending entry ${e.destination}: ${JSON.stringify(router)}`);
    const [a, b] = [ctx.containers.get(ctx.first)!, ctx.containers.get(ctx.second)!];
    assert.equal(await netns.ping(a.ns, b.container, 2), false, `${a.container} → ${b.container} fails while the entries are Pending`);
    // The router's view above was taken while the entries were Pending (the clock has not moved).
    const still = new Map((await customEntries(vpc)).map((e) => [e.destination, e.status]));
    for (const e of pending) assert.equal(still.get(e.destination), 'Pending', `${e.destination} still Pending`);
    console.log(`      Pending: ${pending.map((e) => e.destination).join(', ')}; the VPC router has ${JSON.stringify(router)}`);

    // The VRouter takes them: Available, and from now on entries settle in SETTLE_MS.
    em!.state.setEntryDelay(SETTLE_MS);
    clock.jump(PENDING_MS);
    const available = await waitFor(
      'both entries Available',
      async () => {
        const rows = await customEntries(vpc);
        return rows.length === 2 && rows.every((e) => e.status === 'Available') ? rows : undefined;
      },
      30_000,
      100,
    );
    const ipOf = new Map(ctx.cloud.servers.map((s) => [s.id, s.ip]));
    await ctx.waitVpcRoutes(Object.fromEntries(available.map((e) => [e.destination, ipOf.get(e.nextHopId)!])));
  },
});
