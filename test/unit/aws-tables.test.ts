// controller/provider/aws/tables.ts, the pure part: SDK routes → the neutral view, selection filters.
import assert from 'node:assert/strict';
import { DEFAULT_TABLE_TAG_KEY, selectionFilters, toRouteView, toTableView } from '../../controller/provider/aws/tables.js';

describe('AWS route mapping', () => {
  it('only CreateRoute IPv4 routes to an ENI or instance can be ours', () => {
    const views = [
      { DestinationCidrBlock: '10.0.0.0/16', GatewayId: 'local', Origin: 'CreateRouteTable', State: 'active' },
      { DestinationCidrBlock: '100.64.1.0/24', NetworkInterfaceId: 'eni-1', Origin: 'CreateRoute', State: 'active' },
      { DestinationCidrBlock: '100.64.2.0/24', InstanceId: 'i-1', NetworkInterfaceId: 'eni-2', Origin: 'CreateRoute', State: 'blackhole' },
      { DestinationCidrBlock: '100.64.3.0/24', InstanceId: 'i-3', Origin: 'CreateRoute', State: 'active' },
      { DestinationCidrBlock: '0.0.0.0/0', GatewayId: 'igw-1', Origin: 'CreateRoute', State: 'active' },
      { DestinationCidrBlock: '192.168.0.0/16', GatewayId: 'vgw-1', Origin: 'EnableVgwRoutePropagation', State: 'active' },
      { DestinationIpv6CidrBlock: '2001:db8::/64', NetworkInterfaceId: 'eni-1', Origin: 'CreateRoute', State: 'active' },
      { DestinationCidrBlock: '100.64.4.0/24', NatGatewayId: 'nat-1', Origin: 'CreateRoute', State: 'active' },
    ].map((r) => toRouteView('rtb-1', r as never));
    assert.deepEqual(
      views.map((v) => [v.destination, v.target.kind, v.state, v.candidate]),
      [
        ['10.0.0.0/16', 'local', 'active', false],
        ['100.64.1.0/24', 'eni', 'active', true],
        ['100.64.2.0/24', 'eni', 'blackhole', true],
        ['100.64.3.0/24', 'instance', 'active', true],
        ['0.0.0.0/0', 'gateway', 'active', false],
        ['192.168.0.0/16', 'gateway', 'active', false],
        ['2001:db8::/64', 'eni', 'active', false],
        ['100.64.4.0/24', 'other', 'active', false],
      ],
    );
    assert.deepEqual(views[7]!.target, { kind: 'other', id: 'nat-1' });
  });

  it('a table view carries its tags and routes', () => {
    const t = toTableView({ RouteTableId: 'rtb-9', VpcId: 'vpc-1', Tags: [{ Key: DEFAULT_TABLE_TAG_KEY, Value: 'x' }], Routes: [] });
    assert.deepEqual(t, { id: 'rtb-9', vpcId: 'vpc-1', tags: { [DEFAULT_TABLE_TAG_KEY]: 'x' }, routes: [] });
  });

  it('filters: ids, tag key only, tag key and value', () => {
    assert.deepEqual(selectionFilters({ kind: 'ids', tableIds: ['rtb-1'] }), [{ Name: 'route-table-id', Values: ['rtb-1'] }]);
    assert.deepEqual(selectionFilters({ kind: 'tag', vpcId: 'vpc-1' }), [
      { Name: 'vpc-id', Values: ['vpc-1'] },
      { Name: 'tag-key', Values: [DEFAULT_TABLE_TAG_KEY] },
    ]);
    assert.deepEqual(selectionFilters({ kind: 'tag', vpcId: 'vpc-1', tagKey: 'k', tagValue: 'v' }), [
      { Name: 'vpc-id', Values: ['vpc-1'] },
      { Name: 'tag:k', Values: ['v'] },
    ]);
  });
});
