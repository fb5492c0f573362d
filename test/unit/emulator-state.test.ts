// The emulator's VPC model on its own (no HTTP): every validation rule of route tables, ports and
// security-group rules, and atomicity of route-table updates.

import assert from 'node:assert/strict';
import { cidrContains, cidrsOverlap, formatCidr, parseCidr, parseIpv4 } from '../emulator/cidr.js';
import { VpcError } from '../emulator/errors.js';
import { SEED, seedState } from '../emulator/seed.js';
import { VpcState, type RouteDelta } from '../emulator/state.js';

const ECS1 = SEED.servers['ecs-1'].id;
const ECS2 = SEED.servers['ecs-2'].id;
const RT = SEED.routeTableId;

function fresh(): VpcState {
  return new VpcState(seedState(), () => new Date('2026-11-22T01:38:28Z'));
}

function code(fn: () => unknown): { status: number; code: string } {
  try {
    fn();
  } catch (e) {
    if (e instanceof VpcError) return { status: e.status, code: e.code };
    throw e;
  }
  assert.fail('expected a VpcError');
}

const add = (destination: string, nexthop: string = ECS1, extra: Record<string, string> = {}): RouteDelta => ({
  add: [{ type: 'ecs', destination, nexthop, description: 'test', ...extra }],
});

describe('emulator cidr helpers', () => {
  it('parses and formats IPv4 and CIDRs', () => {
    assert.equal(parseIpv4('192.168.0.2'), 0xc0a80002);
    assert.equal(parseIpv4('192.168.0.256'), undefined);
    assert.equal(parseIpv4('01.2.3.4'), undefined);
    assert.equal(formatCidr(parseCidr('10.0.2.0/24')!), '10.0.2.0/24');
    assert.equal(parseCidr('10.0.2.1/24'), undefined, 'host bits set: not a network address');
    assert.deepEqual(parseCidr('1.1.1.1/0', false), { base: 0, prefix: 0 });
    assert.equal(parseCidr('10.0.0.0/33'), undefined);
    assert.equal(parseCidr('10.0.0.0'), undefined);
  });

  it('tells containment and overlap', () => {
    const vpc = parseCidr('192.168.0.0/16')!;
    assert.ok(cidrContains(vpc, parseCidr('192.168.5.0/24')!));
    assert.ok(!cidrContains(parseCidr('192.168.5.0/24')!, vpc));
    assert.ok(cidrsOverlap(parseCidr('192.0.0.0/8')!, vpc));
    assert.ok(!cidrsOverlap(parseCidr('10.0.0.0/8')!, vpc));
  });
});

describe('emulator VPC model', () => {
  describe('seed', () => {
    it('has the documented topology', () => {
      const s = fresh();
      const table = s.showRouteTable(RT);
      assert.deepEqual(table.routes, [{ type: 'local', destination: '192.168.0.0/16', nexthop: null, description: null }]);
      assert.deepEqual(table.subnets, [SEED.subnetId]);
      assert.equal(s.servers.length, 3);
      for (const [name, server] of Object.entries(SEED.servers)) {
        const [port] = s.listPorts({ device_id: server.id });
        assert.ok(port, name);
        assert.equal(port.id, server.portId);
        assert.deepEqual(port.fixed_ips, [{ subnet_id: SEED.neutronSubnetId, ip_address: server.ip }]);
        assert.equal(port.network_id, SEED.subnetId);
        assert.deepEqual(port.allowed_address_pairs, []);
      }
      assert.equal(s.listSgRules({ security_group_id: SEED.securityGroupId }).filter((r) => r.direction === 'ingress').length, 0);
      assert.equal(s.quota.routes_per_table, 200);
    });

    it('snapshot is loadable again', () => {
      const s = fresh();
      s.updateRouteTable(RT, add('10.0.2.0/24'));
      s.createSgRule({ security_group_id: SEED.securityGroupId, direction: 'ingress', protocol: 'tcp', port_range_min: 80, port_range_max: 90 });
      s.setAllowedAddressPairs(SEED.servers['ecs-1'].portId, [{ ip_address: '1.1.1.1/0' }]);
      const again = new VpcState(s.snapshot());
      assert.deepEqual(again.showRouteTable(RT).routes, s.showRouteTable(RT).routes);
      const strip = (rules: { created_at: string; updated_at: string }[]): unknown[] => rules.map(({ created_at: _c, updated_at: _u, ...r }) => r);
      assert.deepEqual(strip(again.listSgRules()), strip(s.listSgRules()));
      assert.deepEqual(again.getPort(SEED.servers['ecs-1'].portId).allowed_address_pairs, s.getPort(SEED.servers['ecs-1'].portId).allowed_address_pairs);
    });

    it('rejects a state with broken references', () => {
      const init = seedState();
      init.subnets[0]!.vpc_id = 'nope';
      assert.throws(() => new VpcState(init), /unknown vpc nope/);
    });
  });

  describe('route table updates', () => {
    it('adds, modifies and deletes in one call', () => {
      const s = fresh();
      s.updateRouteTable(RT, { add: [{ type: 'ecs', destination: '10.0.2.0/24', nexthop: ECS1 }, { type: 'ecs', destination: '10.0.3.0/24', nexthop: ECS2 }] });
      const t = s.updateRouteTable(RT, {
        add: [{ type: 'ecs', destination: '10.0.4.0/24', nexthop: ECS1, description: 'node-4' }],
        mod: [{ type: 'ecs', destination: '10.0.2.0/24', nexthop: ECS2 }],
        del: [{ destination: '10.0.3.0/24' }],
      });
      assert.deepEqual(
        t.routes.filter((r) => r.type !== 'local').map((r) => [r.destination, r.nexthop, r.description]),
        [
          ['10.0.2.0/24', ECS2, ''],
          ['10.0.4.0/24', ECS1, 'node-4'],
        ],
      );
    });

    it('mod keeps the description when none is given and replaces it when one is', () => {
      const s = fresh();
      s.updateRouteTable(RT, add('10.0.2.0/24', ECS1, { description: 'mine' }));
      assert.equal(s.updateRouteTable(RT, { mod: [{ destination: '10.0.2.0/24', nexthop: ECS2 }] }).routes[1]!.description, 'mine');
      assert.equal(s.updateRouteTable(RT, { mod: [{ destination: '10.0.2.0/24', description: 'other' }] }).routes[1]!.description, 'other');
    });

    it('unknown table: 404 VPC.2808', () => {
      assert.deepEqual(code(() => fresh().updateRouteTable('nope', add('10.0.2.0/24'))), { status: 404, code: 'VPC.2808' });
      assert.deepEqual(code(() => fresh().showRouteTable('nope')), { status: 404, code: 'VPC.2808' });
    });

    it('destination must be a CIDR network address: VPC.2802', () => {
      for (const bad of ['10.0.2.0', '10.0.2.1/24', '10.0.2.0/40', 'banana', '300.0.0.0/8']) {
        assert.deepEqual(code(() => fresh().updateRouteTable(RT, add(bad))), { status: 400, code: 'VPC.2802' }, bad);
      }
    });

    it('destination must be unique in the table and in the request: VPC.2812', () => {
      const s = fresh();
      s.updateRouteTable(RT, add('10.0.2.0/24'));
      assert.deepEqual(code(() => s.updateRouteTable(RT, add('10.0.2.0/24', ECS2))), { status: 400, code: 'VPC.2812' });
      const twice: RouteDelta = { add: [...add('10.0.5.0/24').add!, ...add('10.0.5.0/24', ECS2).add!] };
      assert.deepEqual(code(() => s.updateRouteTable(RT, twice)), { status: 400, code: 'VPC.2812' });
      const delAndAdd: RouteDelta = { del: [{ destination: '10.0.2.0/24' }], add: add('10.0.2.0/24', ECS2).add! };
      assert.deepEqual(code(() => s.updateRouteTable(RT, delAndAdd)), { status: 400, code: 'VPC.2812' });
    });

    it('destination must not overlap a subnet or local route: VPC.2809 (0.0.0.0/0 allowed)', () => {
      const s = fresh();
      for (const bad of ['192.168.0.0/24', '192.168.7.0/24', '192.168.0.2/32', '192.0.0.0/8', '192.168.0.0/16']) {
        assert.deepEqual(code(() => s.updateRouteTable(RT, add(bad))), { status: 400, code: 'VPC.2809' }, bad);
      }
      s.updateRouteTable(RT, { add: [{ type: 'nat', destination: '0.0.0.0/0', nexthop: 'nat-gateway-id' }] });
    });

    it('type ecs needs an existing server of the same VPC: VPC.2803', () => {
      const init = seedState();
      init.vpcs.push({ id: 'vpc-2', name: 'other', cidr: '172.16.0.0/16' });
      init.subnets.push({ id: 'subnet-2', name: 'other', vpc_id: 'vpc-2', cidr: '172.16.0.0/24', gateway_ip: '172.16.0.1' });
      init.servers.push({ id: 'foreign-server', name: 'foreign', subnet_id: 'subnet-2', ip: '172.16.0.9' });
      const s = new VpcState(init);
      assert.deepEqual(code(() => s.updateRouteTable(RT, add('10.0.2.0/24', 'no-such-server'))), { status: 400, code: 'VPC.2803' });
      assert.deepEqual(code(() => s.updateRouteTable(RT, add('10.0.2.0/24', '192.168.0.2'))), { status: 400, code: 'VPC.2803' });
      assert.deepEqual(code(() => s.updateRouteTable(RT, add('10.0.2.0/24', 'foreign-server'))), { status: 400, code: 'VPC.2803' });
    });

    it('type must be a known non-local type and fields are required: VPC.0002', () => {
      const s = fresh();
      assert.deepEqual(code(() => s.updateRouteTable(RT, add('10.0.2.0/24', ECS1, { type: 'local' }))), { status: 400, code: 'VPC.0002' });
      assert.deepEqual(code(() => s.updateRouteTable(RT, add('10.0.2.0/24', ECS1, { type: 'teleport' }))), { status: 400, code: 'VPC.0002' });
      assert.deepEqual(code(() => s.updateRouteTable(RT, { add: [{ destination: '10.0.2.0/24', nexthop: ECS1 }] })), { status: 400, code: 'VPC.0002' });
      assert.deepEqual(code(() => s.updateRouteTable(RT, { add: [{ type: 'ecs', destination: '10.0.2.0/24' }] })), { status: 400, code: 'VPC.0002' });
    });

    it('description is at most 255 characters without < or >: VPC.0002', () => {
      const s = fresh();
      s.updateRouteTable(RT, add('10.0.2.0/24', ECS1, { description: 'x'.repeat(255) }));
      assert.deepEqual(code(() => s.updateRouteTable(RT, add('10.0.3.0/24', ECS1, { description: 'x'.repeat(256) }))), { status: 400, code: 'VPC.0002' });
      assert.deepEqual(code(() => s.updateRouteTable(RT, add('10.0.3.0/24', ECS1, { description: '<b>' }))), { status: 400, code: 'VPC.0002' });
    });

    it('mod/del of a destination not in the table: VPC.2804', () => {
      const s = fresh();
      assert.deepEqual(code(() => s.updateRouteTable(RT, { del: [{ destination: '10.0.9.0/24' }] })), { status: 400, code: 'VPC.2804' });
      assert.deepEqual(code(() => s.updateRouteTable(RT, { mod: [{ type: 'ecs', destination: '10.0.9.0/24', nexthop: ECS1 }] })), {
        status: 400,
        code: 'VPC.2804',
      });
    });

    it('mod/del of a local route: VPC.2805', () => {
      const s = fresh();
      assert.deepEqual(code(() => s.updateRouteTable(RT, { del: [{ destination: '192.168.0.0/16' }] })), { status: 400, code: 'VPC.2805' });
      assert.deepEqual(code(() => s.updateRouteTable(RT, { mod: [{ type: 'ecs', destination: '192.168.0.0/16', nexthop: ECS1 }] })), {
        status: 400,
        code: 'VPC.2805',
      });
    });

    it('is atomic: one bad entry and nothing changes', () => {
      const s = fresh();
      s.updateRouteTable(RT, add('10.0.2.0/24'));
      const before = s.showRouteTable(RT);
      const delta: RouteDelta = {
        del: [{ destination: '10.0.2.0/24' }],
        add: [
          { type: 'ecs', destination: '10.0.3.0/24', nexthop: ECS1 },
          { type: 'ecs', destination: '10.0.4.0/24', nexthop: 'missing-server' },
        ],
      };
      assert.deepEqual(code(() => s.updateRouteTable(RT, delta)), { status: 400, code: 'VPC.2803' });
      assert.deepEqual(s.showRouteTable(RT), before);
    });

    it('enforces the route quota on non-local routes: VPC.2801; deletes free room', () => {
      const s = fresh();
      s.setRouteQuota(2);
      s.updateRouteTable(RT, { add: [add('10.0.1.0/24').add![0]!, add('10.0.2.0/24').add![0]!] });
      const err = (() => {
        try {
          s.updateRouteTable(RT, add('10.0.3.0/24'));
        } catch (e) {
          return e as VpcError;
        }
        return undefined;
      })();
      assert.equal(err?.code, 'VPC.2801');
      assert.match(err!.message, /limit is 2 routes per route table/);
      // Replacing one route by another in one call stays within the quota.
      s.updateRouteTable(RT, { del: [{ destination: '10.0.1.0/24' }], add: add('10.0.3.0/24').add! });
      assert.equal(s.showRouteTable(RT).routes.length, 3);
    });
  });

  describe('route table create', () => {
    it('creates with at most 5 routes (VPC.2800) and a local route', () => {
      const s = fresh();
      const routes = [1, 2, 3, 4, 5, 6].map((i) => ({ type: 'ecs', destination: `10.0.${i}.0/24`, nexthop: ECS1 }));
      assert.deepEqual(code(() => s.createRouteTable({ name: 'rt2', vpc_id: SEED.vpcId, routes })), { status: 400, code: 'VPC.2800' });
      const t = s.createRouteTable({ name: 'rt2', vpc_id: SEED.vpcId, routes: routes.slice(0, 5) });
      assert.equal(t.routes.length, 6);
      assert.equal(t.routes[0]!.type, 'local');
      assert.equal(s.listRouteTables({ vpc_id: SEED.vpcId }).length, 2);
    });

    it('validates the routes and the table quota', () => {
      const s = fresh();
      assert.deepEqual(code(() => s.createRouteTable({ name: 'rt2', vpc_id: SEED.vpcId, routes: [{ type: 'ecs', destination: '192.168.1.0/24', nexthop: ECS1 }] })), {
        status: 400,
        code: 'VPC.2809',
      });
      assert.deepEqual(code(() => s.createRouteTable({ name: 'rt2', vpc_id: 'nope' })), { status: 404, code: 'VPC.0003' });
      s.setRouteTableQuota(1);
      assert.deepEqual(code(() => s.createRouteTable({ name: 'rt2', vpc_id: SEED.vpcId })), { status: 400, code: 'VPC.2810' });
    });
  });

  describe('ports', () => {
    it('replaces allowed_address_pairs; 1.1.1.1/0 accepted, 0.0.0.0/0 refused', () => {
      const s = fresh();
      const portId = SEED.servers['ecs-1'].portId;
      s.setAllowedAddressPairs(portId, [{ ip_address: '192.168.0.100' }]);
      const port = s.setAllowedAddressPairs(portId, [{ ip_address: '1.1.1.1/0' }]);
      assert.deepEqual(
        port.allowed_address_pairs.map((p) => p.ip_address),
        ['1.1.1.1/0'],
      );
      assert.deepEqual(code(() => s.setAllowedAddressPairs(portId, [{ ip_address: '0.0.0.0/0' }])), { status: 400, code: 'VPC.0002' });
      assert.deepEqual(code(() => s.setAllowedAddressPairs('nope', [])), { status: 404, code: 'VPC.0003' });
    });

    it('adds and removes servers; routes to a removed server stay', () => {
      const s = fresh();
      const server = s.addServer({ name: 'ecs-4', ip: '192.168.0.5' });
      assert.equal(s.listPorts({ device_id: server.id }).length, 1);
      s.updateRouteTable(RT, add('10.0.5.0/24', server.id));
      s.removeServer(server.id);
      assert.equal(s.listPorts({ device_id: server.id }).length, 0);
      assert.ok(s.showRouteTable(RT).routes.some((r) => r.nexthop === server.id));
      assert.deepEqual(code(() => s.addServer({ name: 'dup', ip: '192.168.0.2' })), { status: 400, code: 'VPC.0002' });
      assert.deepEqual(code(() => s.addServer({ name: 'out', ip: '10.9.9.9' })), { status: 400, code: 'VPC.0002' });
    });
  });

  describe('security group rules', () => {
    const icmp = { security_group_id: SEED.securityGroupId, direction: 'ingress', protocol: 'icmp', remote_ip_prefix: '10.0.0.0/16' };

    it('creates a rule and refuses its duplicate: 409 VPC.0602', () => {
      const s = fresh();
      const rule = s.createSgRule(icmp);
      assert.equal(rule.ethertype, 'IPv4');
      assert.deepEqual(code(() => s.createSgRule(icmp)), { status: 409, code: 'VPC.0602' });
      // A different protocol is a different rule.
      s.createSgRule({ ...icmp, protocol: 'udp' });
      assert.equal(s.listSgRules({ security_group_id: SEED.securityGroupId, direction: 'ingress' }).length, 2);
    });

    it('validates direction, protocol, ports, remote and group', () => {
      const s = fresh();
      assert.deepEqual(code(() => s.createSgRule({ ...icmp, direction: 'sideways' })), { status: 400, code: 'VPC.0002' });
      assert.deepEqual(code(() => s.createSgRule({ ...icmp, protocol: 'carrier-pigeon' })), { status: 400, code: 'VPC.0002' });
      assert.deepEqual(code(() => s.createSgRule({ ...icmp, protocol: 'tcp', port_range_min: 90, port_range_max: 80 })), { status: 400, code: 'VPC.0002' });
      assert.deepEqual(code(() => s.createSgRule({ ...icmp, remote_ip_prefix: 'nope' })), { status: 400, code: 'VPC.0002' });
      assert.deepEqual(code(() => s.createSgRule({ ...icmp, remote_group_id: SEED.securityGroupId })), { status: 400, code: 'VPC.0002' });
      assert.deepEqual(code(() => s.createSgRule({ ...icmp, security_group_id: 'nope' })), { status: 404, code: 'VPC.0003' });
    });
  });
});
