// The Alibaba emulator driven through the REAL SDKs (@alicloud/vpc20160428 7.3.2 and
// @alicloud/ecs20140526 7.11.6, endpoint 127.0.0.1:PORT, protocol http, default ACS3 signature):
// route entries through their asynchronous life, TaskConflict, quota, a partly failed batch of
// 50, throttling, faults, the captured request over HTTP, and every refused credential.

import assert from 'node:assert/strict';
import { request } from 'node:http';
import * as $Ecs from '@alicloud/ecs20140526';
import * as $Vpc from '@alicloud/vpc20160428';
import { ALI_SEED, aliSeedState, startAliEmulator, type AliEmulator } from '../emulator/alibaba/server.js';
import { aliEcsClient, aliVpcClient, type AliVpcClient } from '../emulator/alibaba/sdk.js';
import { signedRpc } from '../emulator/alibaba/signer.js';
import { waitFor } from '../helpers/kube.js';
import { CAPTURED } from '../emulator/alibaba/captured.js';

const REGION = ALI_SEED.regionId;
const RT = ALI_SEED.routeTableId;
const I1 = ALI_SEED.instances[0].id;
const I2 = ALI_SEED.instances[1].id;

interface SdkError {
  code?: string;
  statusCode?: number;
  data?: Record<string, unknown>;
}

async function sdkError(p: Promise<unknown>): Promise<SdkError> {
  try {
    await p;
  } catch (e) {
    return e as SdkError;
  }
  assert.fail('expected the SDK to throw');
}

const routeEntry = (dst: string, hop: string = I1, extra: Partial<$Vpc.CreateRouteEntriesRequestRouteEntries> = {}): $Vpc.CreateRouteEntriesRequestRouteEntries =>
  new $Vpc.CreateRouteEntriesRequestRouteEntries({ routeTableId: RT, dstCidrBlock: dst, nextHop: hop, nextHopType: 'Instance', ...extra });

function create(client: AliVpcClient, entries: $Vpc.CreateRouteEntriesRequestRouteEntries[]): Promise<$Vpc.CreateRouteEntriesResponse> {
  return client.createRouteEntries(new $Vpc.CreateRouteEntriesRequest({ regionId: REGION, routeEntries: entries }));
}

/** Every custom entry of the table, all pages (MaxResult as given). */
async function customEntries(client: AliVpcClient, maxResult = 100): Promise<$Vpc.DescribeRouteEntryListResponseBodyRouteEntrysRouteEntry[]> {
  const out: $Vpc.DescribeRouteEntryListResponseBodyRouteEntrysRouteEntry[] = [];
  let nextToken: string | undefined;
  do {
    const res = await client.describeRouteEntryList(new $Vpc.DescribeRouteEntryListRequest({ regionId: REGION, routeTableId: RT, routeEntryType: 'Custom', maxResult, ...(nextToken ? { nextToken } : {}) }));
    out.push(...(res.body?.routeEntrys?.routeEntry ?? []));
    nextToken = res.body?.nextToken || undefined;
  } while (nextToken);
  return out;
}

async function allAvailable(client: AliVpcClient, count: number): Promise<$Vpc.DescribeRouteEntryListResponseBodyRouteEntrysRouteEntry[]> {
  return waitFor(`${count} Available entries`, async () => {
    const list = await customEntries(client);
    return list.length === count && list.every((e) => e.status === 'Available') ? list : undefined;
  });
}

/**
 * The emulator's clock: real time, or frozen at a moment the test moves by hand (within the
 * 15-minute signature window of the SDK's real-time x-acs-date), so states that depend on time
 * (Pending, a running task, a throttle bucket) hold however slow the machine is.
 */
class TestClock {
  private frozenAt: number | undefined;
  now = (): Date => new Date(this.frozenAt ?? Date.now());
  freeze(): void {
    this.frozenAt = Date.now();
  }
  advance(ms: number): void {
    if (this.frozenAt === undefined) throw new Error('advance() needs a frozen clock');
    this.frozenAt += ms;
  }
  thaw(): void {
    this.frozenAt = undefined;
  }
}

describe('alibaba emulator through the real SDK', function () {
  let em: AliEmulator;
  let vpc: AliVpcClient;
  const clock = new TestClock();
  const DELAY = 300;

  before(async () => {
    em = await startAliEmulator({ entryDelayMs: DELAY, clock: clock.now });
    vpc = aliVpcClient(em.endpoint);
  });
  after(async () => em.close());
  beforeEach(() => {
    clock.thaw();
    em.reset();
  });

  it('serves the seed topology: the VRouter table, the vSwitch, the instances', async () => {
    const tables = await vpc.describeRouteTableList(new $Vpc.DescribeRouteTableListRequest({ regionId: REGION, vpcId: ALI_SEED.vpcId }));
    assert.deepEqual(tables.body?.routerTableList?.routerTableListType?.map((t) => [t.routeTableId, t.routerType, t.routeTableType]), [[RT, 'VRouter', 'System']]);
    const vsw = await vpc.describeVSwitches(new $Vpc.DescribeVSwitchesRequest({ regionId: REGION, vpcId: ALI_SEED.vpcId }));
    assert.deepEqual(vsw.body?.vSwitches?.vSwitch?.map((s) => [s.vSwitchId, s.cidrBlock]), [[ALI_SEED.vswitchId, ALI_SEED.vswitchCidr]]);
    const ecs = aliEcsClient(em.endpoint);
    const inst = await ecs.describeInstances(new $Ecs.DescribeInstancesRequest({ regionId: REGION, instanceIds: JSON.stringify([I2]) }));
    assert.deepEqual(inst.body?.instances?.instance?.map((i) => [i.instanceId, i.vpcAttributes?.vpcId, i.vpcAttributes?.privateIpAddress?.ipAddress]), [[I2, ALI_SEED.vpcId, [ALI_SEED.instances[1].ip]]]);
  });

  it('creates entries Pending, shows them Available later, modifies the next hop in place and deletes them', async () => {
    clock.freeze();
    const res = await create(vpc, [routeEntry('172.16.0.0/24', I1, { name: 'hostnet/node-1', description: 'hostnet-controller inst=a*b' })]);
    assert.equal(res.body?.successCount, 1);
    const [id] = res.body?.routeEntryIds ?? [];
    const first = await customEntries(vpc);
    assert.deepEqual(first.map((e) => [e.routeEntryId, e.status]), [[id, 'Pending']]);
    clock.advance(DELAY);
    const [ready] = await allAvailable(vpc, 1);
    assert.deepEqual([ready!.routeEntryName, ready!.description, ready!.nextHops?.nextHop?.[0]?.nextHopId], ['hostnet/node-1', 'hostnet-controller inst=a*b', I1]);

    await vpc.modifyRouteEntry(new $Vpc.ModifyRouteEntryRequest({ regionId: REGION, routeEntryId: id, newNextHopId: I2, newNextHopType: 'Instance' }));
    assert.deepEqual((await customEntries(vpc)).map((e) => e.status), ['Modifying']);
    clock.advance(DELAY);
    const [moved] = await allAvailable(vpc, 1);
    assert.deepEqual([moved!.routeEntryId, moved!.nextHops?.nextHop?.[0]?.nextHopId], [id, I2]);
    assert.equal(em.callsSince(0, 'ModifyRouteEntry').length, 1);

    const del = await vpc.deleteRouteEntries(new $Vpc.DeleteRouteEntriesRequest({ regionId: REGION, routeEntries: [new $Vpc.DeleteRouteEntriesRequestRouteEntries({ routeEntryId: id, routeTableId: RT })] }));
    assert.equal(del.body?.successCount, 1);
    assert.deepEqual((await customEntries(vpc)).map((e) => e.status), ['Deleting']);
    clock.advance(DELAY);
    assert.deepEqual(await customEntries(vpc), []);
  });

  it('refuses a second batch in the VPC while one runs (TaskConflict, the full error body)', async () => {
    clock.freeze();
    await create(vpc, [routeEntry('172.16.0.0/24')]);
    const err = await sdkError(create(vpc, [routeEntry('172.16.1.0/24')]));
    assert.equal(err.code, 'TaskConflict');
    assert.equal(err.statusCode, 400);
    assert.deepEqual(Object.keys(err.data ?? {}).sort(), ['Code', 'HostId', 'Message', 'Recommend', 'RequestId']);
    clock.advance(DELAY);
    await allAvailable(vpc, 1);
    assert.equal((await create(vpc, [routeEntry('172.16.1.0/24')])).body?.successCount, 1, 'accepted once the first task is done');
  });

  it('creates 49 of a batch of 50 and names the one that failed, with its code', async () => {
    const batch = Array.from({ length: 50 }, (_, i) => routeEntry(i === 17 ? '100.64.3.0/24' : `172.16.${i}.0/24`, i % 2 ? I2 : I1));
    const res = await create(vpc, batch);
    assert.equal(res.body?.successCount, 49);
    assert.equal(res.body?.routeEntryIds?.length, 49);
    assert.deepEqual(res.body?.failedRouteEntries?.map((f) => [f.dstCidrBlock, f.nextHop, f.failedCode]), [['100.64.3.0/24', I2, 'InvalidDestinationCidrBlock.Reserved']]);
    assert.match(res.body?.failedRouteEntries?.[0]?.failedMessage ?? '', /100\.64\.0\.0\/10/);
    // 49 entries read back in pages of 20 (NextToken).
    const list = await allAvailable(vpc, 49);
    assert.equal(new Set(list.map((e) => e.destinationCidrBlock)).size, 49);
    const paged = await customEntries(vpc, 20);
    assert.deepEqual(paged.map((e) => e.routeEntryId), list.map((e) => e.routeEntryId));
    assert.equal(em.callsSince(0, 'CreateRouteEntries')[0]?.entries, 50);
    assert.equal(em.callsSince(0, 'CreateRouteEntries')[0]?.failed, 1);
    const over = await sdkError(create(vpc, Array.from({ length: 51 }, (_, i) => routeEntry(`172.17.${i}.0/24`))));
    assert.equal(over.code, 'InvalidParameter');
  });

  it('fills a table to its quota of 200 custom entries and refuses the 201st (per entry)', async () => {
    for (let b = 0; b < 4; b++) {
      const res = await waitFor('the VPC to take a batch', async () => {
        try {
          return await create(vpc, Array.from({ length: 50 }, (_, i) => routeEntry(`172.${16 + b}.${i}.0/24`)));
        } catch (e) {
          if ((e as SdkError).code === 'TaskConflict') return undefined;
          throw e;
        }
      });
      assert.equal(res.body?.successCount, 50);
    }
    await allAvailable(vpc, 200);
    const res = await create(vpc, [routeEntry('172.30.0.0/24')]);
    assert.deepEqual(res.body?.failedRouteEntries?.map((f) => f.failedCode), ['QuotaExceeded.RouteEntry']);
    assert.equal(res.body?.successCount, 0);
  });

  it('throttles writes per AccessKey (Throttling.User) and logs the throttled call', async () => {
    clock.freeze(); // no refill between the two calls
    em.setThrottle({ writesPerSecond: 1 });
    await create(vpc, [routeEntry('172.16.0.0/24')]);
    const err = await sdkError(create(vpc, [routeEntry('172.16.1.0/24')]));
    assert.equal(err.code, 'Throttling.User');
    assert.equal(em.callsSince(0, 'CreateRouteEntries').filter((c) => c.throttled).length, 1);
    // Reads have their own bucket; a second later the bucket has refilled.
    assert.equal((await customEntries(vpc)).length, 1);
    clock.advance(1000 + DELAY);
    assert.equal((await create(vpc, [routeEntry('172.16.1.0/24')])).body?.successCount, 1);
  });

  it('fails, times out and applies calls on demand (shared fault injection)', async () => {
    em.faults.set({ failNext: { operation: 'CreateRouteEntries', status: 503, code: 'ServiceUnavailable' } });
    const err = await sdkError(create(vpc, [routeEntry('172.16.0.0/24')]));
    assert.deepEqual([err.code, err.statusCode], ['ServiceUnavailable', 503]);
    assert.equal((await customEntries(vpc)).length, 0, 'the failed call created nothing');
    // An ambiguous timeout: the cloud did it, the client never heard; the retry meets a duplicate.
    em.faults.set({ timeoutNext: { operation: 'CreateRouteEntries', apply: true } });
    const slow = aliVpcClient(em.endpoint, { timeoutMs: 300 });
    await sdkError(create(slow, [routeEntry('172.16.0.0/24')]));
    await allAvailable(vpc, 1);
    const again = await create(vpc, [routeEntry('172.16.0.0/24')]);
    assert.deepEqual(again.body?.failedRouteEntries?.map((f) => f.failedCode), ['InvalidCIDRBlock.Duplicate']);
  });

  it('authorizes security-group ingress idempotently (ECS AuthorizeSecurityGroup)', async () => {
    const ecs = aliEcsClient(em.endpoint);
    const authorize = (): Promise<unknown> =>
      ecs.authorizeSecurityGroup(
        new $Ecs.AuthorizeSecurityGroupRequest({
          regionId: REGION,
          securityGroupId: ALI_SEED.securityGroupId,
          permissions: [new $Ecs.AuthorizeSecurityGroupRequestPermissions({ ipProtocol: 'ALL', portRange: '-1/-1', sourceCidrIp: '172.16.0.0/16', policy: 'accept', description: 'hostnet pool' })],
        }),
      );
    await authorize();
    await authorize();
    const attr = await ecs.describeSecurityGroupAttribute(new $Ecs.DescribeSecurityGroupAttributeRequest({ regionId: REGION, securityGroupId: ALI_SEED.securityGroupId }));
    assert.deepEqual(attr.body?.permissions?.permission?.map((p) => [p.ipProtocol, p.sourceCidrIp, p.direction]), [['ALL', '172.16.0.0/16', 'ingress']]);
    const bad = await sdkError(ecs.authorizeSecurityGroup(new $Ecs.AuthorizeSecurityGroupRequest({ regionId: REGION, securityGroupId: 'sg-missing', ipProtocol: 'tcp', portRange: '22/22', sourceCidrIp: '10.0.0.0/8' })));
    assert.deepEqual([bad.code, bad.statusCode], ['InvalidSecurityGroupId.NotFound', 404]);
  });

  it('refuses a wrong secret, an unknown or disabled AccessKey and a denied action with the real codes', async () => {
    const list = (client: AliVpcClient): Promise<unknown> => client.describeRouteEntryList(new $Vpc.DescribeRouteEntryListRequest({ regionId: REGION, routeTableId: RT }));
    const wrong = await sdkError(list(aliVpcClient(em.endpoint, { accessKeySecret: 'not-the-secret' })));
    assert.deepEqual([wrong.code, wrong.statusCode], ['SignatureDoesNotMatch', 400]);
    const unknown = await sdkError(list(aliVpcClient(em.endpoint, { accessKeyId: 'LTAI5tNOSUCHKEY' })));
    assert.deepEqual([unknown.code, unknown.statusCode], ['InvalidAccessKeyId.NotFound', 404]);
    const disabled = await sdkError(list(aliVpcClient(em.endpoint, { accessKeyId: ALI_SEED.disabledAccessKeyId, accessKeySecret: ALI_SEED.disabledAccessKeySecret })));
    assert.deepEqual([disabled.code, disabled.statusCode], ['InvalidAccessKeyId.Inactive', 400]);
    assert.ok(!JSON.stringify(em.calls).includes(ALI_SEED.accessKeySecret), 'no secret in the call log');
    const denied = await startAliEmulator({ state: { ...aliSeedState(), accounts: [{ accessKeyId: ALI_SEED.accessKeyId, accessKeySecret: ALI_SEED.accessKeySecret, deny: ['ModifyRouteEntry'] }] } });
    try {
      const client = aliVpcClient(denied.endpoint);
      await list(client); // allowed
      const ram = await sdkError(client.modifyRouteEntry(new $Vpc.ModifyRouteEntryRequest({ regionId: REGION, routeTableId: RT, destinationCidrBlock: '172.16.0.0/24', newNextHopId: I2 })));
      assert.deepEqual([ram.code, ram.statusCode], ['Forbidden.RAM', 403]);
    } finally {
      await denied.close();
    }
  });

  describe('on a pinned clock', () => {
    let pinned: AliEmulator;
    let now = Date.parse(CAPTURED.headers['x-acs-date'] as string);
    before(async () => {
      pinned = await startAliEmulator({ clock: () => new Date(now), writesPerSecond: 0 });
    });
    after(async () => pinned.close());

    /** Sends the captured request byte for byte (its Host header included). */
    function replay(): Promise<{ status: number; body: Record<string, unknown> }> {
      return new Promise((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port: pinned.port, method: 'POST', path: `/?${CAPTURED.rawQuery}`, headers: { ...(CAPTURED.headers as Record<string, string>), 'content-length': '0' } }, (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString('utf8')));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }));
        });
        req.on('error', reject);
        req.end();
      });
    }

    it('answers the captured SDK request, then refuses its replayed nonce', async () => {
      now = Date.parse(CAPTURED.headers['x-acs-date'] as string) + 5_000;
      const first = await replay();
      assert.equal(first.status, 200, JSON.stringify(first.body));
      assert.ok(Array.isArray((first.body.RouteEntrys as { RouteEntry: unknown[] }).RouteEntry));
      const second = await replay();
      assert.deepEqual([second.status, second.body.Code], [400, 'SignatureNonceUsed']);
    });

    it('refuses a request dated outside the 15-minute window either way', async () => {
      const call = (date: Date): Promise<{ status: number; body: Record<string, unknown> }> =>
        signedRpc({ url: pinned.url, action: 'DescribeVSwitches', version: '2016-04-28', params: { RegionId: REGION }, accessKeyId: ALI_SEED.accessKeyId, accessKeySecret: ALI_SEED.accessKeySecret, date });
      now = Date.parse('2026-12-02T00:00:00Z');
      assert.equal((await call(new Date(now - 14 * 60_000))).status, 200);
      for (const skew of [16 * 60_000, -16 * 60_000]) {
        const res = await call(new Date(now + skew));
        assert.deepEqual([res.status, res.body.Code], [400, 'InvalidTimeStamp.Expired']);
      }
    });
  });
});
