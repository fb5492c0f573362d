// The Huawei Cloud provider, through the real SDK and its real request signing, against the
// local emulator of the VPC API (test/emulator).

import assert from 'node:assert/strict';
import { startEmulator, SEED, type Emulator } from '../emulator/server.js';
import { createHuaweiProvider, type HuaweiCloudProvider, type HuaweiProviderConfig, type ProviderLogger } from '../../controller/provider/huawei/provider.js';
import { CloudError, type CloudErrorKind } from '../../controller/provider/errors.js';
import { waitFor } from '../helpers/kube.js';

const quiet: ProviderLogger = { debug() {}, info() {}, warn() {}, error() {} };
const ECS1 = SEED.servers['ecs-1'];
const ECS2 = SEED.servers['ecs-2'];
const ECS3 = SEED.servers['ecs-3'];
const TABLE = SEED.routeTableId;

function provider(emu: Emulator, extra: Partial<HuaweiProviderConfig> = {}): HuaweiCloudProvider {
  return createHuaweiProvider(
    {
      flavor: 'huaweicloud',
      endpoint: emu.url,
      projectId: SEED.projectId,
      vpcId: SEED.vpcId,
      credentials: { ak: SEED.ak, sk: SEED.sk },
      timeoutMs: 3000,
      qps: 1000,
      burst: 1000,
      ...extra,
    },
    quiet,
  );
}

async function admin(emu: Emulator, path: string, body: unknown): Promise<void> {
  const res = await fetch(`${emu.url}/_admin/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  assert.ok(res.ok, `admin ${path}: ${res.status} ${await res.text()}`);
}

async function expectCloudError(p: Promise<unknown>, kind: CloudErrorKind, code?: string): Promise<CloudError> {
  let caught: unknown;
  try {
    await p;
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof CloudError, `expected a CloudError, got ${String(caught)}`);
  assert.equal(caught.kind, kind, caught.message);
  if (code !== undefined) assert.equal(caught.code, code, caught.message);
  return caught;
}

const add = (destination: string, nexthop: string, description = 'hostnet:test') => ({ add: [{ destination, nexthop, description }], mod: [], del: [] });

describe('huawei provider against the emulator', function () {
  this.timeout(15000);
  let emu: Emulator;
  beforeEach(async () => {
    emu = await startEmulator({});
  });
  afterEach(async () => {
    await emu.close();
  });

  describe('route tables', () => {
    it('lists the route tables of the VPC', async () => {
      const tables = await provider(emu).listRouteTables();
      assert.deepEqual(tables, [{ id: TABLE, name: 'rtb-vpc-hostnet' }]);
      assert.equal(emu.calls[0]!.operation, 'ListRouteTables');
    });

    it('pages through many tables by marker', async () => {
      emu.setQuota({ routeTablesPerVpc: 10 });
      const ids: string[] = [TABLE];
      for (let i = 0; i < 4; i++) ids.push(emu.state.createRouteTable({ name: `rtb-extra-${i}`, vpc_id: SEED.vpcId }).id);
      const tables = await provider(emu, { pageSize: 2 }).listRouteTables();
      assert.deepEqual(tables.map((t) => t.id).sort(), [...ids].sort());
      assert.equal(emu.calls.filter((c) => c.operation === 'ListRouteTables').length, 3);
    });

    it('shows configured route tables instead of listing', async () => {
      const tables = await provider(emu, { vpcId: undefined, routeTableIds: [TABLE] }).listRouteTables();
      assert.deepEqual(tables, [{ id: TABLE, name: 'rtb-vpc-hostnet' }]);
      assert.deepEqual(
        emu.calls.map((c) => c.operation),
        ['ShowRouteTable'],
      );
    });

    it('a configured table that does not exist is notFound (VPC.2808)', async () => {
      await expectCloudError(provider(emu, { routeTableIds: ['00000000-0000-4000-8000-000000000000'] }).listRouteTables(), 'notFound', 'VPC.2808');
    });

    it('lists every route, the local one included', async () => {
      emu.addRoute(TABLE, { destination: '10.0.9.0/24', type: 'ecs', nexthop: ECS2.id, description: 'console' });
      const routes = await provider(emu).listRoutes(TABLE);
      assert.deepEqual(routes, [
        { destination: SEED.vpcCidr, kind: 'system', cloudType: 'local', nexthop: '', description: '' },
        { destination: '10.0.9.0/24', kind: 'host', cloudType: 'ecs', nexthop: ECS2.id, description: 'console' },
      ]);
    });

    it('applies add + mod + del in ONE UpdateRouteTable call', async () => {
      emu.addRoute(TABLE, { destination: '10.0.3.0/24', type: 'ecs', nexthop: ECS2.id, description: 'hostnet:b' });
      emu.addRoute(TABLE, { destination: '10.0.4.0/24', type: 'ecs', nexthop: ECS3.id, description: 'hostnet:c' });
      const seq = emu.lastSeq;
      await provider(emu).applyRoutes(TABLE, {
        add: [{ destination: '10.0.2.0/24', nexthop: ECS1.id, description: 'hostnet:a' }],
        mod: [{ destination: '10.0.3.0/24', nexthop: ECS3.id, description: 'hostnet:b' }],
        del: [{ destination: '10.0.4.0/24' }],
      });
      const updates = emu.callsSince(seq, 'UpdateRouteTable');
      assert.equal(updates.length, 1);
      assert.equal(updates[0]!.status, 200);
      assert.deepEqual(updates[0]!.delta, { add: 1, mod: 1, del: 1 });
      const routes = emu.state
        .showRouteTable(TABLE)
        .routes.filter((r) => r.type !== 'local')
        .map((r) => [r.destination, r.type, r.nexthop, r.description]);
      assert.deepEqual(routes.sort(), [
        ['10.0.2.0/24', 'ecs', ECS1.id, 'hostnet:a'],
        ['10.0.3.0/24', 'ecs', ECS3.id, 'hostnet:b'],
      ]);
    });
  });

  describe('error codes recovered from the VPC v1 body', () => {
    it('duplicate destination → conflict VPC.2812, with the request id', async () => {
      emu.addRoute(TABLE, { destination: '10.0.2.0/24', type: 'ecs', nexthop: ECS1.id });
      const err = await expectCloudError(provider(emu).applyRoutes(TABLE, add('10.0.2.0/24', ECS2.id)), 'conflict', 'VPC.2812');
      assert.equal(err.httpStatus, 400);
      assert.equal(err.operation, 'UpdateRouteTable');
      assert.match(err.cloudMessage ?? '', /10\.0\.2\.0\/24/);
      assert.equal(err.requestId, emu.calls.at(-1)!.requestId);
    });

    it('next hop that is not a server → notFound VPC.2803', async () => {
      await expectCloudError(provider(emu).applyRoutes(TABLE, add('10.0.2.0/24', '192.168.0.2')), 'notFound', 'VPC.2803');
    });

    it('destination overlapping the subnet → conflict VPC.2809', async () => {
      await expectCloudError(provider(emu).applyRoutes(TABLE, add('192.168.0.0/25', ECS1.id)), 'conflict', 'VPC.2809');
    });

    it('route quota → quota VPC.2801', async () => {
      emu.setQuota({ routesPerTable: 1 });
      const p = provider(emu);
      await p.applyRoutes(TABLE, add('10.0.2.0/24', ECS1.id));
      await expectCloudError(p.applyRoutes(TABLE, add('10.0.3.0/24', ECS2.id)), 'quota', 'VPC.2801');
    });

    it('deleting a route that is not there → notFound VPC.2804', async () => {
      await expectCloudError(provider(emu).applyRoutes(TABLE, { add: [], mod: [], del: [{ destination: '10.0.7.0/24' }] }), 'notFound', 'VPC.2804');
    });
  });

  describe('gateway and transport failures', () => {
    it('throttling (injected 429 via /_admin/faults) → throttled APIG.0308', async () => {
      await admin(emu, 'faults', { failNext: { count: 1, status: 429 } });
      const err = await expectCloudError(provider(emu).listRoutes(TABLE), 'throttled', 'APIG.0308');
      assert.equal(err.httpStatus, 429);
      assert.ok(err.minRetryDelayMs >= 2000);
    });

    it('throttling by the per-AK write limit → throttled', async () => {
      emu.setThrottle({ writesPerSecond: 1 });
      const p = provider(emu);
      const results = await Promise.allSettled([0, 1, 2].map((i) => p.applyRoutes(TABLE, add(`10.0.${10 + i}.0/24`, ECS1.id))));
      const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as CloudError);
      assert.ok(rejected.length >= 1, 'some writes must be throttled');
      for (const e of rejected) {
        assert.equal(e.kind, 'throttled');
        assert.equal(e.code, 'APIG.0308');
      }
      assert.ok(emu.calls.some((c) => c.throttled));
    });

    it('5xx → transient (VPC.0106 and the gateway 503)', async () => {
      await admin(emu, 'faults', { failNext: [{ count: 1, status: 500 }, { count: 1, status: 503 }] });
      const p = provider(emu);
      await expectCloudError(p.listRoutes(TABLE), 'transient', 'VPC.0106');
      const e503 = await expectCloudError(p.listRoutes(TABLE), 'transient');
      assert.equal(e503.httpStatus, 503);
      // and the next call goes through
      assert.equal((await p.listRoutes(TABLE)).length, 1);
    });

    it('a bad SK → auth APIGW.0301', async () => {
      const err = await expectCloudError(
        provider(emu, { credentials: { ak: SEED.altAk, sk: 'WRONGSKWRONGSKWRONGSK' } }).listRoutes(TABLE),
        'auth',
        'APIGW.0301',
      );
      assert.equal(err.httpStatus, 401);
      assert.ok(!err.message.includes('WRONGSK'));
    });

    it('a wrong project id → auth', async () => {
      await expectCloudError(provider(emu, { projectId: 'ffffffffffffffffffffffffffffffff' }).listRoutes(TABLE), 'auth');
    });

    it('a request the emulator holds → transient within the timeout', async () => {
      emu.faults.set({ timeoutNext: { count: 1 } });
      const started = Date.now();
      await expectCloudError(provider(emu, { timeoutMs: 400 }).listRoutes(TABLE), 'transient');
      assert.ok(Date.now() - started < 2000);
    });

    it('a reset connection → transient', async () => {
      emu.faults.set({ resetNext: { count: 1 } });
      await expectCloudError(provider(emu).listRoutes(TABLE), 'transient');
    });
  });

  describe('source/destination check (NIC allowed_address_pairs)', () => {
    it('Huawei: v1 ports; keeps existing pairs; idempotent', async () => {
      emu.setPortAddressPairs(ECS1.portId, [{ ip_address: '192.168.0.100' }]);
      const p = provider(emu);
      assert.deepEqual(await p.ensureSourceDestCheck(ECS1.id, 'disable', '10.0.2.0/24'), { portId: ECS1.portId, changed: true, addresses: [ECS1.ip] });
      assert.deepEqual(
        emu.calls.map((c) => c.operation),
        // Read (a change needed?), read again once the write's token is taken (compute the write
        // from what the port is right before it), write; its answer shows the port as written,
        // so no read after it.
        ['ListPorts', 'ListPorts', 'UpdatePort'],
      );
      const pairs = emu.state.getPort(ECS1.portId).allowed_address_pairs.map((a) => a.ip_address);
      assert.deepEqual(pairs, ['192.168.0.100', '1.1.1.1/0']);
      const seq = emu.lastSeq;
      assert.deepEqual(await p.ensureSourceDestCheck(ECS1.id, 'disable', '10.0.2.0/24'), { portId: ECS1.portId, changed: false, addresses: [ECS1.ip] });
      assert.deepEqual(
        emu.callsSince(seq).map((c) => c.operation),
        ['ListPorts'],
      );
    });

    it('OTC: Neutron ports, block mode', async () => {
      const p = provider(emu, { flavor: 'otc' });
      assert.deepEqual(await p.ensureSourceDestCheck(ECS2.id, 'block', '10.0.3.0/24'), { portId: ECS2.portId, changed: true, addresses: [ECS2.ip] });
      assert.deepEqual(
        emu.calls.map((c) => c.operation),
        ['NeutronListPorts', 'NeutronListPorts', 'NeutronUpdatePort'],
      );
      assert.deepEqual(
        emu.state.getPort(ECS2.portId).allowed_address_pairs.map((a) => a.ip_address),
        ['10.0.3.0/24'],
      );
    });

    it('a server without a port → notFound', async () => {
      const err = await expectCloudError(provider(emu).ensureSourceDestCheck('00000000-0000-4000-8000-00000000dead', 'disable', '10.0.2.0/24'), 'notFound');
      assert.match(err.message, /no NIC port found for server 00000000-0000-4000-8000-00000000dead/);
    });

    const pairsOn = (portId: string) => emu.state.getPort(portId).allowed_address_pairs.map((a) => a.ip_address).sort();

    it('concurrent changes to one port are serialized: every block is on the port', async () => {
      const p = provider(emu);
      const blocks = ['10.0.2.0/24', '10.0.3.0/24', '10.0.4.0/24'];
      await Promise.all(blocks.map((b) => p.ensureSourceDestCheck(ECS1.id, 'block', b)));
      assert.deepEqual(pairsOn(ECS1.portId), blocks);
      await Promise.all([p.removeAddressPair(ECS1.id, '10.0.2.0/24'), p.removeAddressPair(ECS1.id, '10.0.4.0/24'), p.ensureSourceDestCheck(ECS1.id, 'block', '10.0.5.0/24')]);
      assert.deepEqual(pairsOn(ECS1.portId), ['10.0.3.0/24', '10.0.5.0/24']);
    });

    it('a pair added out of band between our read and our write survives (add and remove)', async () => {
      const p = provider(emu);
      const steps = [() => p.ensureSourceDestCheck(ECS1.id, 'disable', '10.0.2.0/24'), () => p.removeAddressPair(ECS1.id, '1.1.1.1/0')];
      for (const [i, step] of steps.entries()) {
        const before = pairsOn(ECS1.portId);
        // The read is answered from the state as it is when it arrives, then held: an edit made
        // while it is held is one the provider has not seen when it computes its write.
        emu.faults.set({ timeoutNext: [{ operation: 'ListPorts', ms: 1500, apply: true }] });
        const change = step();
        await waitFor('the read to arrive', async () => emu.faults.current().timeoutNext.length === 0, 5000, 5);
        const other = `192.168.0.${100 + i}`;
        emu.setPortAddressPairs(ECS1.portId, [...before, other].map((ip) => ({ ip_address: ip })));
        await change;
        assert.ok(pairsOn(ECS1.portId).includes(other), `${other} was lost: ${pairsOn(ECS1.portId).join(', ')}`);
      }
      assert.deepEqual(pairsOn(ECS1.portId), ['192.168.0.100', '192.168.0.101']);
    });

    it('many servers at once: one shared listing of the ports decides what to change, not a read per server (issue 16)', async () => {
      const servers = Array.from({ length: 40 }, (_, i) => emu.addServer({ name: `many-${i}`, ip: `192.168.0.${150 + i}` }));
      const p = provider(emu);
      const results = await Promise.all(servers.map((srv) => p.ensureSourceDestCheck(srv.id, 'disable', '10.0.2.0/24')));
      assert.ok(results.every((r) => r.changed));
      for (const srv of servers) assert.deepEqual(pairsOn(emu.state.listPorts({ device_id: srv.id })[0]!.id), ['1.1.1.1/0'], srv.name);
      const ops = emu.calls.map((c) => c.operation);
      assert.equal(ops.filter((o) => o === 'UpdatePort').length, servers.length);
      // Each change still reads its server right before its write; what to change came from a
      // listing shared by many (a read per server for that, too, would make it 2 per server).
      const reads = ops.filter((o) => o === 'ListPorts').length;
      assert.ok(reads < 1.5 * servers.length, `${reads} ListPorts for ${servers.length} servers`);
    });

    it('removeAddressPair takes off exactly that pair; a server without ports has nothing to remove', async () => {
      emu.setPortAddressPairs(ECS2.portId, [{ ip_address: '1.1.1.1/0' }, { ip_address: '10.0.3.0/24' }, { ip_address: '192.168.0.100' }]);
      const p = provider(emu);
      assert.deepEqual(await p.removeAddressPair(ECS2.id, '10.0.3.0/24'), { removed: true });
      assert.deepEqual(pairsOn(ECS2.portId), ['1.1.1.1/0', '192.168.0.100']);
      assert.deepEqual(await p.removeAddressPair(ECS2.id, '10.0.3.0/24'), { removed: false });
      assert.deepEqual(await p.removeAddressPair('00000000-0000-4000-8000-00000000dead', '1.1.1.1/0'), { removed: false });
    });
  });

  describe('security group ingress rules', () => {
    it('Huawei: reads the rules first, creates ICMP + UDP; the second time only reads', async () => {
      const p = provider(emu);
      const rule = { securityGroupId: SEED.securityGroupId, remoteIpPrefix: '10.0.0.0/16', protocols: ['icmp', 'udp'] as ('icmp' | 'udp')[] };
      assert.deepEqual(await p.ensureIngressRule(rule), { created: 2 });
      assert.deepEqual(await p.ensureIngressRule(rule), { created: 0 });
      const ops = emu.calls.map((c) => `${c.operation} ${c.status}${c.code ? ` ${c.code}` : ''}`);
      assert.deepEqual(ops, ['ListSecurityGroupRules 200', 'CreateSecurityGroupRule 200', 'CreateSecurityGroupRule 200', 'ListSecurityGroupRules 200']);
    });

    it('OTC: Neutron rules, "all" protocols as one rule; the second time only reads', async () => {
      const p = provider(emu, { flavor: 'otc' });
      const rule = { securityGroupId: SEED.securityGroupId, remoteIpPrefix: '10.0.0.0/16', protocols: ['all'] as 'all'[] };
      assert.deepEqual(await p.ensureIngressRule(rule), { created: 1 });
      assert.deepEqual(await p.ensureIngressRule(rule), { created: 0 });
      assert.deepEqual(
        emu.calls.map((c) => c.operation),
        ['NeutronListSecurityGroupRules', 'NeutronCreateSecurityGroupRule', 'NeutronListSecurityGroupRules'],
      );
    });

    it('an unknown security group → notFound', async () => {
      await expectCloudError(
        provider(emu).ensureIngressRule({ securityGroupId: '00000000-0000-4000-8000-0000000000aa', remoteIpPrefix: '10.0.0.0/16', protocols: ['icmp'] }),
        'notFound',
      );
    });
  });
});
