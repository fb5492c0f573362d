// hostnet-agent's pure parts: the iptables rules and their drift, the Docker network plan
// (conflicts, stale networks, names), and the flags.
import assert from 'node:assert/strict';
import { desiredRules, drift, inSync, JUMPS, parseSave, restoreInput } from '../../agent/iptables.js';
import { plan, networkSpec, type LocalRoute } from '../../agent/plan.js';
import type { DockerNetwork } from '../../agent/docker.js';
import { parseAgentConfig, AgentConfigError } from '../../agent/config.js';

const POOL = '10.0.0.0/16';

function ourNet(name: string, hostNetwork: string, block: string, bridge = 'hn-br0'): DockerNetwork {
  const s = networkSpec(name, bridge, hostNetwork, block);
  return { Id: `id-${name}-${block}`, Name: name, Driver: 'bridge', IPAM: { Config: s.IPAM.Config }, Options: s.Options, Labels: s.Labels };
}
const BRIDGE: DockerNetwork = { Id: 'b0', Name: 'bridge', Driver: 'bridge', IPAM: { Config: [{ Subnet: '172.17.0.0/16' }] }, Options: { 'com.docker.network.bridge.name': 'docker0' } };
const ROUTES: LocalRoute[] = [
  { dst: 'default', gateway: '192.168.0.1', dev: 'eth0' },
  { dst: '192.168.0.0/24', dev: 'eth0', protocol: 'kernel' },
  { dst: '172.17.0.0/16', dev: 'docker0', protocol: 'kernel' },
];
const OPTS = { networkName: 'hostnet', bridgeName: 'hn-br0' };

describe('agent iptables rules', () => {
  it('accepts forwarding block<->pool, returns before NAT inside the pool, masquerades the rest; each rule names host and block', () => {
    const w = desiredRules([{ hostNetwork: 'ecs-1', block: '10.0.2.0/24' }], POOL);
    assert.equal(w.filter.length, 2);
    assert.match(w.filter[0]!, /^-A HOSTNET-FWD -s 10\.0\.2\.0\/24 -d 10\.0\.0\.0\/16 -m comment --comment "hostnet ecs-1 10\.0\.2\.0\/24: .*" -j ACCEPT$/);
    assert.match(w.filter[1]!, /^-A HOSTNET-FWD -s 10\.0\.0\.0\/16 -d 10\.0\.2\.0\/24 .* -j ACCEPT$/);
    assert.match(w.nat[0]!, /^-A HOSTNET-POSTRTG -s 10\.0\.2\.0\/24 -d 10\.0\.0\.0\/16 .* -j RETURN$/);
    assert.match(w.nat[1]!, /^-A HOSTNET-POSTRTG -s 10\.0\.2\.0\/24 ! -d 224\.0\.0\.0\/4 .* -j MASQUERADE$/);
    assert.deepEqual(desiredRules([], POOL), { filter: [], nat: [] });
  });

  it('orders rules by block, whatever order the watch delivered', () => {
    const a = desiredRules([{ hostNetwork: 'b', block: '10.0.3.0/24' }, { hostNetwork: 'a', block: '10.0.2.0/24' }], POOL);
    const b = desiredRules([{ hostNetwork: 'a', block: '10.0.2.0/24' }, { hostNetwork: 'b', block: '10.0.3.0/24' }], POOL);
    assert.deepEqual(a, b);
    assert.ok(a.filter[0]!.includes('-s 10.0.2.0/24'));
  });

  it('refuses what cannot go on a command line', () => {
    assert.throws(() => desiredRules([{ hostNetwork: 'x"; rm', block: '10.0.2.0/24' }], POOL), /bad HostNetwork name/);
    assert.throws(() => desiredRules([{ hostNetwork: 'x', block: '10.0.2.1/24' }], POOL), /bad block/);
  });

  it('reads iptables-save back: in sync when equal; flushed chain, missing and duplicate jumps are drift', () => {
    const w = desiredRules([{ hostNetwork: 'ecs-1', block: '10.0.2.0/24' }], POOL);
    const save = (rules: string[], chain: string, jumps: number, extra = ''): string =>
      [`*x`, ':FORWARD DROP [0:0]', `:${chain} - [0:0]`, ...Array(jumps).fill(chain === 'HOSTNET-FWD' ? JUMPS.filter : JUMPS.nat), ...rules, extra, 'COMMIT'].join('\n');
    const f = parseSave(save(w.filter, 'HOSTNET-FWD', 1, '-A FORWARD -j DOCKER-USER'), 'filter');
    const n = parseSave(save(w.nat, 'HOSTNET-POSTRTG', 1), 'nat');
    assert.equal(f.forwardPolicy, 'DROP');
    assert.ok(inSync(drift(w, f, n)));
    const flushed = parseSave(save([], 'HOSTNET-FWD', 1), 'filter');
    assert.equal(drift(w, flushed, n).chains, true);
    assert.deepEqual(drift(w, parseSave(save(w.filter, 'HOSTNET-FWD', 0), 'filter'), n).missingJumps, ['filter']);
    assert.deepEqual(drift(w, f, parseSave(save(w.nat, 'HOSTNET-POSTRTG', 3), 'nat')).extraJumps, [{ table: 'nat', count: 2 }]);
    assert.equal(drift(w, parseSave('*filter\nCOMMIT', 'filter'), n).chains, true, 'a missing chain');
  });

  it('restore input declares both chains (which flushes them under --noflush) and touches no other chain', () => {
    const text = restoreInput(desiredRules([{ hostNetwork: 'ecs-1', block: '10.0.2.0/24' }], POOL));
    const lines = text.trim().split('\n');
    assert.deepEqual(lines.filter((l) => l.startsWith(':') || l.startsWith('*') || l === 'COMMIT'), ['*filter', ':HOSTNET-FWD - [0:0]', 'COMMIT', '*nat', ':HOSTNET-POSTRTG - [0:0]', 'COMMIT']);
    assert.ok(lines.filter((l) => l.startsWith('-A')).every((l) => l.startsWith('-A HOSTNET-')));
  });
});

describe('agent Docker network plan', () => {
  it('creates the network of an allocated block: subnet, first address as gateway, masquerade off, labels', () => {
    const p = plan([{ name: 'ecs-1', block: '10.0.2.0/24' }, { name: 'ecs-9' }], [BRIDGE], ROUTES, OPTS);
    assert.deepEqual(p.stale, []);
    const [a, b] = p.outcomes;
    assert.equal(a!.kind, 'create');
    assert.deepEqual(a?.kind === 'create' && a.spec, {
      Name: 'hostnet',
      Driver: 'bridge',
      CheckDuplicate: true,
      IPAM: { Driver: 'default', Config: [{ Subnet: '10.0.2.0/24', Gateway: '10.0.2.1' }] },
      Options: { 'com.docker.network.bridge.name': 'hn-br0', 'com.docker.network.bridge.enable_ip_masquerade': 'false' },
      Labels: { 'io.hostnet.managed-by': 'hostnet-agent', 'io.hostnet.hostnetwork': 'ecs-1', 'io.hostnet.block': '10.0.2.0/24' },
    });
    assert.deepEqual(b, { kind: 'waiting', name: 'ecs-9' });
  });

  it('keeps a network already in place (its own kernel route is no conflict)', () => {
    const mine = ourNet('hostnet', 'ecs-1', '10.0.2.0/24');
    const p = plan([{ name: 'ecs-1', block: '10.0.2.0/24' }], [BRIDGE, mine], [...ROUTES, { dst: '10.0.2.0/24', dev: 'hn-br0', protocol: 'kernel' }], OPTS);
    assert.deepEqual(p.outcomes, [{ kind: 'ready', name: 'ecs-1', block: '10.0.2.0/24', network: mine }]);
    assert.deepEqual(p.stale, []);
  });

  it("an overlapping Docker network or local route is a conflict that names it; nothing is created", () => {
    const other: DockerNetwork = { Id: 'o1', Name: 'other', Driver: 'bridge', IPAM: { Config: [{ Subnet: '10.0.2.128/25' }] } };
    const p = plan([{ name: 'ecs-1', block: '10.0.2.0/24' }], [BRIDGE, other], ROUTES, OPTS);
    assert.equal(p.outcomes[0]!.kind, 'conflict');
    assert.match((p.outcomes[0] as { message: string }).message, /Docker network "other" \(10\.0\.2\.128\/25\) overlaps the block 10\.0\.2\.0\/24/);
    const r = plan([{ name: 'ecs-1', block: '10.0.2.0/24' }], [BRIDGE], [...ROUTES, { dst: '10.0.0.0/16', gateway: '192.168.0.9', dev: 'eth0' }], OPTS);
    assert.match((r.outcomes[0] as { message: string }).message, /local route 10\.0\.0\.0\/16 via 192\.168\.0\.9 dev eth0 overlaps the block/);
    // The default route overlaps everything and is no conflict; neither are the agent's own peer routes.
    const peer = plan([{ name: 'ecs-1', block: '10.0.2.0/24' }], [BRIDGE], [...ROUTES, { dst: '10.0.2.0/24', gateway: '192.168.0.3', protocol: '44' }], { ...OPTS, routeProtocol: '44' });
    assert.equal(peer.outcomes[0]!.kind, 'create');
  });

  it('a block taken away (deleted, migrated, changed) makes its network stale; a second block gets its own name and bridge', () => {
    const old = ourNet('hostnet', 'ecs-2', '10.0.3.0/24');
    const p = plan([{ name: 'ecs-1', block: '10.0.2.0/24' }], [BRIDGE, old], ROUTES, OPTS);
    assert.deepEqual(p.stale, [old]);
    const c = p.outcomes[0]!;
    assert.ok(c.kind === 'create');
    assert.equal(c.spec.Name, 'hostnet-ecs-1', 'the kept network still holds the name');
    assert.match(c.spec.Options['com.docker.network.bridge.name']!, /^hn-[0-9a-f]{8}$/);
    const changed = plan([{ name: 'ecs-2', block: '10.0.5.0/24' }], [BRIDGE, old], ROUTES, OPTS);
    assert.deepEqual(changed.stale, [old]);
  });
});

describe('agent flags', () => {
  it('needs --instance-id; defaults; HOSTNET_AGENT_* variables', () => {
    assert.throws(() => parseAgentConfig([], {}), (e: Error) => e instanceof AgentConfigError && /--instance-id/.test(e.message));
    const r = parseAgentConfig([], { HOSTNET_AGENT_INSTANCE_ID: 'srv-1' });
    assert.ok(r.kind === 'config');
    assert.equal(r.config.instanceId, 'srv-1');
    assert.equal(r.config.networkName, 'hostnet');
    assert.equal(r.config.poolCidr, '10.0.0.0/16');
    assert.equal(r.config.forwardAccept, false);
    assert.equal(r.config.checkPeriodMs, 10_000);
    assert.equal(parseAgentConfig(['--help'], {}).kind, 'help');
  });

  it('one line naming the flag for a bad value', () => {
    const bad = (args: string[], re: RegExp): void => assert.throws(() => parseAgentConfig(['--instance-id=x', ...args], {}), re);
    bad(['--pool-cidr=10.0.0.1/16'], /--pool-cidr/);
    bad(['--bridge-name=much-too-long-bridge'], /--bridge-name/);
    bad(['--docker-host=tcp://1.2.3.4:2375'], /--docker-host/);
    bad(['--check-period=fast'], /--check-period/);
    bad(['--host-ip=300.1.1.1'], /--host-ip/);
    bad(['--nope'], /see --help/);
  });
});

describe('agent direct routing (peer routes)', () => {
  const hn = (name: string, instanceID: string, hostIP: string | undefined, podCIDR?: string): import('../../controller/api/types.js').HostNetwork => ({
    metadata: { name },
    spec: { instanceID, ...(hostIP ? { hostIP } : {}) },
    ...(podCIDR ? { status: { podCIDR } } : {}),
  });

  it('a route per on-link peer with a block; itself, peers without a block or address, and off-link peers are not routed', async () => {
    const { peerRoutes, connectedSubnets } = await import('../../agent/peer-routes.js');
    const connected = connectedSubnets([{ dst: '192.168.0.0/24', dev: 'eth0', protocol: 'kernel' }, { dst: 'default', gateway: '192.168.0.1' }, { dst: '10.0.2.0/24', dev: 'hn-br0', protocol: 'kernel' }]);
    assert.deepEqual(connected, ['192.168.0.0/24', '10.0.2.0/24']);
    const p = peerRoutes([hn('me', 'i-1', '192.168.0.2', '10.0.2.0/24'), hn('b', 'i-2', '192.168.0.3', '10.0.3.0/24'), hn('c', 'i-3', '192.168.0.4'), hn('d', 'i-4', undefined, '10.0.5.0/24'), hn('e', 'i-5', '192.168.1.7', '10.0.6.0/24')], 'i-1', connected);
    assert.deepEqual(p.routes, [{ dst: '10.0.3.0/24', via: '192.168.0.3', peer: 'b' }]);
    assert.deepEqual(p.offLink, [{ peer: 'e', hostIP: '192.168.1.7', block: '10.0.6.0/24' }]);
  });

  it('changes: replace what is missing or via another host, remove what is ours and unwanted', async () => {
    const { routeChanges } = await import('../../agent/peer-routes.js');
    const want = [{ dst: '10.0.3.0/24', via: '192.168.0.3', peer: 'b' }, { dst: '10.0.4.0/24', via: '192.168.0.4', peer: 'c' }];
    const c = routeChanges(want, [{ dst: '10.0.3.0/24', gateway: '192.168.0.9' }, { dst: '10.0.4.0/24', gateway: '192.168.0.4' }, { dst: '10.0.99.0/24', gateway: '192.168.0.9' }]);
    assert.deepEqual(c.replace, [want[0]]);
    assert.deepEqual(c.remove, ['10.0.99.0/24']);
  });
});
