// The Alibaba provider as the core sees it (controller/provider/provider.ts), against the
// emulator through the real SDKs: tables of the VPC, every entry with its kind and state,
// partial batches of 50 reported entry by entry, migration in place, deletion, quota, the write
// fence and the security-group intent.

import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAlibabaClients } from '../../controller/provider/alibaba/client.js';
import { AlibabaCloudProvider } from '../../controller/provider/alibaba/provider.js';
import { isFencedError, WriteFence } from '../../controller/provider/fence.js';
import type { CloudError } from '../../controller/provider/errors.js';
import { TokenBucket } from '../../controller/provider/ratelimit.js';
import type { RouteSpec } from '../../controller/provider/provider.js';
import { ALI_SEED, type AliEmulator } from '../emulator/alibaba/server.js';
import { useAliEmulator } from '../helpers/alibaba.js';
import { waitFor } from '../helpers/kube.js';

const RT = ALI_SEED.routeTableId;
const I1 = ALI_SEED.instances[0].id;
const I2 = ALI_SEED.instances[1].id;
const FAST = { initialMs: 20, maxMs: 200, maxAttempts: 40 };
const silent = { debug() {}, info() {}, warn() {}, error() {} };

const specs = (n: number, hop: string = I1): RouteSpec[] => Array.from({ length: n }, (_, i) => ({ destination: `10.0.${i}.0/24`, nexthop: hop, description: `hostnet:it:node-${i}` }));

describe('alibaba CloudProvider against the emulator (real SDK)', function () {
  const bed = useAliEmulator({ entryDelayMs: 50 }, 'hostnet-ali-cp-');
  let em: AliEmulator;
  let dir: string;
  let fence: WriteFence;
  let provider: AlibabaCloudProvider;
  before(() => ({ em, dir } = bed));
  beforeEach(() => {
    em.reset();
    fence = new WriteFence();
    const cfg = { regionId: ALI_SEED.regionId, vpcEndpoint: em.endpoint, ecsEndpoint: em.endpoint, protocol: 'http' as const, credentialsDir: dir, timeoutMs: 2000, vpcId: ALI_SEED.vpcId };
    provider = new AlibabaCloudProvider(cfg, silent, { clients: createAlibabaClients(cfg), fence, writeRetry: FAST, availablePoll: FAST });
  });

  const available = (n: number) =>
    waitFor(`${n} available host routes`, async () => {
      const routes = (await provider.listRoutes(RT)).filter((r) => r.kind === 'host');
      return routes.length === n && routes.every((r) => r.state === undefined) ? routes : undefined;
    });

  it("lists the VPC's tables and every entry: the vSwitch's system entry as system, never as ours", async () => {
    assert.deepEqual(await provider.listRouteTables(), [{ id: RT, name: 'vrouter' }]);
    const routes = await provider.listRoutes(RT);
    const system = routes.filter((r) => r.kind === 'system').map((r) => r.destination);
    assert.ok(system.includes(ALI_SEED.vswitchCidr), `system entries ${system.join(', ')}`);
    assert.deepEqual(routes.filter((r) => r.kind === 'host'), []);
  });

  it('creates 50 in one CreateRouteEntries carrying the mark in name and description; pending until Available', async () => {
    const want = specs(50);
    const r = await provider.applyRoutes(RT, { add: want, mod: [], del: [] });
    assert.deepEqual(r.failed, []);
    assert.equal(em.callsSince(0, 'CreateRouteEntries').length, 1);
    const routes = await available(50);
    const e = em.state.tableEntries(RT).find((x) => x.destination === '10.0.7.0/24')!;
    assert.deepEqual([e.name, e.description, e.nextHopType, e.nextHopId], ['hostnet:it:node-7', 'hostnet:it:node-7', 'Instance', I1]);
    assert.deepEqual(routes.find((x) => x.destination === '10.0.7.0/24'), { destination: '10.0.7.0/24', kind: 'host', nexthop: I1, description: 'hostnet:it:node-7', cloudType: 'Instance' });
  });

  it('a batch of 50 with a foreign entry on one destination: that one refused with its code and message, untouched; the other 49 created', async () => {
    em.state.adminAddEntry(RT, { destination: '10.0.13.0/24', nextHop: I2, name: 'someone-else', description: 'theirs' }, false);
    const r = await provider.applyRoutes(RT, { add: specs(50), mod: [], del: [] });
    assert.deepEqual(r.failed.map((f) => [f.destination, f.error.kind, f.error.code]), [['10.0.13.0/24', 'conflict', 'InvalidCIDRBlock.Duplicate']]);
    assert.ok((r.failed[0]!.error.cloudMessage ?? '').length > 0, 'the cloud message is kept');
    await available(50);
    const theirs = em.state.tableEntries(RT).find((x) => x.destination === '10.0.13.0/24')!;
    assert.deepEqual([theirs.nextHopId, theirs.name, theirs.description], [I2, 'someone-else', 'theirs']);
    assert.equal(em.callsSince(0, 'DeleteRouteEntries').length, 0);
  });

  it('migration: exactly one ModifyRouteEntry, next hop moved in place (same entry id)', async () => {
    await provider.applyRoutes(RT, { add: specs(1), mod: [], del: [] });
    await available(1);
    const before = em.state.tableEntries(RT).find((x) => x.destination === '10.0.0.0/24')!.id;
    const seq = em.lastSeq;
    const r = await provider.applyRoutes(RT, { add: [], mod: [{ destination: '10.0.0.0/24', nexthop: I2, description: 'hostnet:it:node-0' }], del: [] });
    assert.deepEqual(r.failed, []);
    const writes = em.callsSince(seq).filter((c) => !c.operation.startsWith('Describe'));
    assert.deepEqual(writes.map((c) => c.operation), ['ModifyRouteEntry']);
    const [route] = await available(1);
    assert.equal(route!.nexthop, I2);
    assert.equal(em.state.tableEntries(RT).find((x) => x.destination === '10.0.0.0/24')!.id, before);
  });

  it('deletes by id in one DeleteRouteEntries; an entry already gone counts as deleted', async () => {
    await provider.applyRoutes(RT, { add: specs(3), mod: [], del: [] });
    await available(3);
    await provider.listRoutes(RT);
    em.state.adminDeleteEntry(RT, '10.0.2.0/24');
    const r = await provider.applyRoutes(RT, { add: [], mod: [], del: [{ destination: '10.0.0.0/24' }, { destination: '10.0.1.0/24' }, { destination: '10.0.2.0/24' }] });
    assert.deepEqual(r.failed, []);
    assert.equal(em.callsSince(0, 'DeleteRouteEntries').length, 1);
    await available(0);
  });

  it("quota: the entry over the table's quota is refused as quota with the cloud's code, the others created", async () => {
    em.state.setQuota(3);
    const r = await provider.applyRoutes(RT, { add: specs(4), mod: [], del: [] });
    assert.deepEqual(r.failed.map((f) => [f.destination, f.error.kind, f.error.code]), [['10.0.3.0/24', 'quota', 'QuotaExceeded.RouteEntry']]);
  });

  it('every VPC request waits for the client-side rate limit (--cloud-qps) first', async () => {
    let tokens = 0;
    const limiter = { acquire: () => Promise.resolve(void tokens++) } as unknown as TokenBucket;
    const cfg = { regionId: ALI_SEED.regionId, vpcEndpoint: em.endpoint, ecsEndpoint: em.endpoint, protocol: 'http' as const, credentialsDir: dir, vpcId: ALI_SEED.vpcId };
    const p = new AlibabaCloudProvider(cfg, silent, { clients: createAlibabaClients(cfg), writeRetry: FAST, availablePoll: FAST, limiter });
    await p.listRouteTables();
    await p.applyRoutes(RT, { add: specs(3), mod: [], del: [] });
    await p.listRoutes(RT);
    const vpcCalls = em.callsSince(0).filter((c) => !['AuthorizeSecurityGroup', 'DescribeSecurityGroupAttribute'].includes(c.operation)).length;
    assert.ok(vpcCalls >= 4);
    assert.equal(tokens, vpcCalls);
  });

  it('every request takes a token of its kind, the ECS security-group calls too: reads the read bucket (--cloud-read-qps), writes the write bucket (--cloud-qps)', async () => {
    const taken = { read: 0, write: 0 };
    const bucket = (kind: 'read' | 'write') => ({ acquire: () => Promise.resolve(void taken[kind]++) }) as unknown as TokenBucket;
    const cfg = { regionId: ALI_SEED.regionId, vpcEndpoint: em.endpoint, ecsEndpoint: em.endpoint, protocol: 'http' as const, credentialsDir: dir, vpcId: ALI_SEED.vpcId };
    const p = new AlibabaCloudProvider(cfg, silent, { clients: createAlibabaClients(cfg), writeRetry: FAST, availablePoll: FAST, limiter: bucket('write'), readLimiter: bucket('read') });
    await p.listRouteTables();
    await p.applyRoutes(RT, { add: specs(3), mod: [], del: [] });
    await p.listRoutes(RT);
    const rule = { securityGroupId: ALI_SEED.securityGroupId, remoteIpPrefix: '10.0.0.0/16', protocols: ['all'] as 'all'[] };
    assert.deepEqual(await p.ensureIngressRule(rule), { created: 1 });
    assert.deepEqual(await p.ensureIngressRule(rule), { created: 0 });
    const calls = em.callsSince(0);
    assert.equal(calls.filter((c) => c.operation === 'DescribeSecurityGroupAttribute').length, 2);
    assert.equal(calls.filter((c) => c.operation === 'AuthorizeSecurityGroup').length, 1);
    assert.deepEqual(taken, { read: calls.filter((c) => c.operation.startsWith('Describe')).length, write: calls.filter((c) => !c.operation.startsWith('Describe')).length });
  });

  it('a security-group write waiting for a token when the fence closes is never sent (the ECS path passes the same bucket and fence as the VPC)', async () => {
    const cfg = { regionId: ALI_SEED.regionId, vpcEndpoint: em.endpoint, ecsEndpoint: em.endpoint, protocol: 'http' as const, credentialsDir: dir, vpcId: ALI_SEED.vpcId };
    // One write token, then one per 1000 s: the second write waits.
    const write = new TokenBucket({ qps: 0.001, burst: 1 });
    const p = new AlibabaCloudProvider(cfg, silent, { clients: createAlibabaClients(cfg), fence, writeRetry: FAST, availablePoll: FAST, limiter: write, readLimiter: new TokenBucket({ qps: 1000, burst: 1000 }) });
    assert.ok(write.tryAcquire(), 'the only token spent elsewhere');
    const seq = em.lastSeq;
    const ensured = p.ensureIngressRule({ securityGroupId: ALI_SEED.securityGroupId, remoteIpPrefix: '10.0.0.0/16', protocols: ['all'] });
    await waitFor('the security-group write waiting for a token', async () => write.pending === 1);
    assert.deepEqual(em.callsSince(seq).map((c) => c.operation), ['DescribeSecurityGroupAttribute'], 'the read went out, the write waits');
    fence.close('lost the lease');
    await assert.rejects(ensured, (err: unknown) => isFencedError(err));
    assert.deepEqual(em.callsSince(seq).map((c) => c.operation), ['DescribeSecurityGroupAttribute'], 'no AuthorizeSecurityGroup sent');
    assert.deepEqual(em.state.groupPermissions(ALI_SEED.securityGroupId), []);
  });

  it('a closed fence: nothing is sent', async () => {
    await provider.listRouteTables();
    fence.close('lost the lease');
    const seq = em.lastSeq;
    await assert.rejects(provider.applyRoutes(RT, { add: specs(2), mod: [], del: [] }), (err: unknown) => isFencedError(err));
    assert.deepEqual(em.callsSince(seq).filter((c) => !c.operation.startsWith('Describe')), []);
  });

  it('refused credentials open the auth backoff: the next call is not sent, its error says why; the secret is in no message', async () => {
    const bad = await mkdtemp(join(tmpdir(), 'hostnet-ali-bad-'));
    try {
      await writeFile(join(bad, 'access-key-id'), ALI_SEED.disabledAccessKeyId);
      await writeFile(join(bad, 'access-key-secret'), ALI_SEED.disabledAccessKeySecret);
      const cfg = { regionId: ALI_SEED.regionId, vpcEndpoint: em.endpoint, ecsEndpoint: em.endpoint, protocol: 'http' as const, credentialsDir: bad, vpcId: ALI_SEED.vpcId };
      const p = new AlibabaCloudProvider(cfg, silent, { clients: createAlibabaClients(cfg), writeRetry: FAST, availablePoll: FAST });
      const first = await p.listRoutes(RT).then(() => undefined, (e: unknown) => e as CloudError);
      assert.equal(first?.kind, 'auth');
      const seq = em.lastSeq;
      const second = await p.listRoutes(RT).then(() => undefined, (e: unknown) => e as CloudError);
      assert.equal(second?.kind, 'auth');
      assert.match(second!.message, /not sent/);
      assert.equal(em.callsSince(seq).length, 0, 'nothing sent during the backoff');
      for (const e of [first!, second!]) assert.doesNotMatch(e.message, new RegExp(ALI_SEED.disabledAccessKeySecret));
    } finally {
      await rm(bad, { recursive: true, force: true });
    }
  });

  it('security group: one AuthorizeSecurityGroup for the pool, then nothing (idempotent)', async () => {
    const rule = { securityGroupId: ALI_SEED.securityGroupId, remoteIpPrefix: '10.0.0.0/16', protocols: ['icmp', 'udp'] as ('icmp' | 'udp')[] };
    assert.deepEqual(await provider.ensureIngressRule(rule), { created: 2 });
    assert.deepEqual(await provider.ensureIngressRule(rule), { created: 0 });
    assert.equal(em.callsSince(0, 'AuthorizeSecurityGroup').length, 1);
    const perms = em.state.groupPermissions(ALI_SEED.securityGroupId).map((p) => [p.ipProtocol, p.portRange, p.sourceCidrIp]);
    assert.deepEqual(perms.sort(), [
      ['ICMP', '-1/-1', '10.0.0.0/16'],
      ['UDP', '1/65535', '10.0.0.0/16'],
    ]);
  });
});
