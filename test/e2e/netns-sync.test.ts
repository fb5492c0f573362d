// Pure part of test/netns/vpc-sync.ts: emulator state → router routes and nft rules.
// Needs no root (no namespace is touched).
import { strict as assert } from 'node:assert';
import { startEmulator, SEED } from '../emulator/server.js';
import { desiredFromState, renderSrcDstRuleset } from '../netns/vpc-sync.js';

describe('netns vpc-sync: desired state from the emulator snapshot', function () {
  let emu: Awaited<ReturnType<typeof startEmulator>>;

  beforeEach(async function () {
    emu = await startEmulator({});
  });
  afterEach(async function () {
    await emu.close();
  });

  it('seed: no routes, every port checked against its own address', function () {
    const d = desiredFromState(emu.snapshot());
    assert.equal(d.routeTableId, SEED.routeTableId);
    assert.deepEqual([...d.routes], []);
    assert.deepEqual(d.ports, [
      { server: 'ecs-1', port: 'vp-ecs-1', allowed: ['192.168.0.2'] },
      { server: 'ecs-2', port: 'vp-ecs-2', allowed: ['192.168.0.3'] },
      { server: 'ecs-3', port: 'vp-ecs-3', allowed: ['192.168.0.4'] },
    ]);
    assert.deepEqual(d.warnings, []);
  });

  it('ecs routes map to server IPs; 1.1.1.1/0 disables the check; covered prefixes collapse', function () {
    emu.addRoute(SEED.routeTableId, { destination: '10.0.2.0/24', type: 'ecs', nexthop: SEED.servers['ecs-1'].id });
    emu.addRoute(SEED.routeTableId, { destination: '10.0.3.0/24', type: 'ecs', nexthop: SEED.servers['ecs-2'].id });
    emu.setPortAddressPairs(SEED.servers['ecs-1'].portId, [{ ip_address: '1.1.1.1/0' }]);
    emu.setPortAddressPairs(SEED.servers['ecs-2'].portId, [{ ip_address: '10.0.3.0/24' }, { ip_address: '10.0.3.7' }]);
    const d = desiredFromState(emu.snapshot());
    assert.deepEqual([...d.routes].sort(), [
      ['10.0.2.0/24', '192.168.0.2'],
      ['10.0.3.0/24', '192.168.0.3'],
    ]);
    assert.deepEqual(
      d.ports.map((p) => p.allowed),
      [null, ['10.0.3.0/24', '192.168.0.3'], ['192.168.0.4']],
    );
    const nft = renderSrcDstRuleset(d.ports);
    assert.match(nft, /# vp-ecs-1 \(ecs-1\): source\/destination check disabled/);
    assert.match(nft, /iifname "vp-ecs-2" ip saddr != \{ 10\.0\.3\.0\/24, 192\.168\.0\.3 \} counter drop/);
    assert.match(nft, /oifname "vp-ecs-2" ip daddr != \{ 10\.0\.3\.0\/24, 192\.168\.0\.3 \} counter drop/);
    assert.doesNotMatch(nft, /"vp-ecs-1"/);
  });

  it('routes to unknown servers and non-ecs routes are not applied', function () {
    emu.addRoute(SEED.routeTableId, { destination: '10.0.9.0/24', type: 'ecs', nexthop: 'no-such-server', force: true });
    const d = desiredFromState(emu.snapshot());
    assert.deepEqual([...d.routes], []);
    assert.equal(d.warnings.length, 1);
    assert.match(d.warnings[0]!, /10\.0\.9\.0\/24: next hop no-such-server is not a known server/);
  });
});
