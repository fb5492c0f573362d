// The chaos soak's pure parts: its command line and the invariant checks it adds to
// test/helpers/invariants.ts (foreign routes, leftover routes, concurrent writers, pin conflicts).
import assert from 'node:assert/strict';
import type { HostNetwork } from '../../controller/api/types.js';
import type { CallRecord } from '../emulator/calllog.js';
import { allocationProblems, concurrentWriterProblems, foreignRouteProblems, leftoverRouteProblems, pinConflicts, type LedgerView } from '../helpers/invariants.js';
import { parseSoakArgs } from '../soak/options.js';

function call(seq: number, time: string, ak: string, operation = 'UpdateRouteTable'): CallRecord {
  return { seq, time, operation, method: 'PUT', path: '/', status: 200, latencyMs: 1, ak, throttled: false, requestId: `r${seq}` };
}

function host(name: string, podCIDR?: string, pinned?: string, reason?: string): HostNetwork {
  return {
    apiVersion: 'hostnet.io/v1alpha1',
    kind: 'HostNetwork',
    metadata: { name },
    spec: { instanceID: 'i-1', ...(pinned ? { podCIDR: pinned } : {}) },
    status: {
      ...(podCIDR ? { podCIDR } : {}),
      ...(reason ? { conditions: [{ type: 'CIDRAllocated', status: 'False', reason, message: '', lastTransitionTime: '2026-01-01T00:00:00Z' }] } : {}),
    },
  } as HostNetwork;
}

describe('soak: command line', () => {
  it('defaults: 10 minutes, 300 hosts, a seed from the clock', () => {
    assert.deepEqual(parseSoakArgs([], () => 1_234_567_890), { minutes: 10, hosts: 300, seed: 567_890, resyncSeconds: 30, report: 'soak-report.json' });
  });

  it('takes --minutes N and --minutes=N, and --help', () => {
    const o = parseSoakArgs(['--minutes', '3', '--hosts=50', '--seed', '7', '--resync', '20', '--report', '/tmp/r.json']);
    assert.deepEqual(o, { minutes: 3, hosts: 50, seed: 7, resyncSeconds: 20, report: '/tmp/r.json' });
    assert.equal(parseSoakArgs(['--help']), 'help');
  });

  it('refuses what is out of bounds or unknown, naming the flag', () => {
    assert.throws(() => parseSoakArgs(['--minutes', '0']), /--minutes wants a whole number 1\.\.120, got 0/);
    assert.throws(() => parseSoakArgs(['--minutes', '121']), /--minutes/);
    assert.throws(() => parseSoakArgs(['--hosts', '2.5']), /--hosts wants a whole number/);
    assert.throws(() => parseSoakArgs(['--minutes']), /got nothing/);
    assert.throws(() => parseSoakArgs(['--fast']), /unknown argument --fast/);
  });
});

describe('soak: invariant checks', () => {
  const local = { destination: '192.168.0.0/16', type: 'local', nexthop: null, description: null };
  const vpn = { destination: '172.16.0.0/24', type: 'ecs', nexthop: 'i-9', description: 'ops: VPN' };

  it('a foreign route deleted or changed in any field is reported; untouched ones are not', () => {
    assert.deepEqual(foreignRouteProblems([local, vpn], [local, vpn]), []);
    assert.match(foreignRouteProblems([local, vpn], [local])[0]!, /foreign route 172\.16\.0\.0\/24 → i-9 \(ops: VPN\) was deleted/);
    assert.match(foreignRouteProblems([vpn], [{ ...vpn, nexthop: 'i-1' }])[0]!, /was modified/);
    assert.match(foreignRouteProblems([vpn], [{ ...vpn, description: 'hostnet:default:x' }])[0]!, /was modified/);
  });

  it('an owned route of a host that is gone, or never existed, is reported; a live or tolerated owner is not', () => {
    const routes = [
      { destination: '10.0.0.0/26', nexthop: 'i-1', owner: 'live' },
      { destination: '10.0.0.64/26', nexthop: 'i-1', owner: 'gone' },
      { destination: '10.0.0.128/26', nexthop: 'i-1', owner: 'ghost' },
      { destination: '10.0.0.192/26', nexthop: 'i-1', owner: 'orphan' },
    ];
    const problems = leftoverRouteProblems(routes, new Set(['live']), new Map([['gone', Date.parse('2026-01-01T00:00:00Z')]]), new Set(['orphan']));
    assert.equal(problems.length, 2);
    assert.match(problems[0]!, /10\.0\.0\.64\/26 → i-1 left for gone, whose HostNetwork is gone \(seen gone at 2026-01-01T00:00:00\.000Z\)/);
    assert.match(problems[1]!, /marked for ghost, a host that never existed/);
  });

  it('writes of two access keys interleaving are reported; a clean hand-over is not; reads do not count', () => {
    const handover = [call(1, '2026-01-01T00:00:01.000Z', 'A'), call(2, '2026-01-01T00:00:02.000Z', 'A'), call(3, '2026-01-01T00:00:09.000Z', 'B'), call(4, '2026-01-01T00:00:03.000Z', 'A', 'ShowRouteTable')];
    assert.deepEqual(concurrentWriterProblems(handover), []);
    // A's write arrived after B's first: recorded later (seq) but compared by arrival time.
    const late = [...handover, call(5, '2026-01-01T00:00:10.000Z', 'A', 'UpdatePort')];
    const problems = concurrentWriterProblems(late, (ak) => `replica ${ak}`);
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /replica A wrote \(UpdatePort at 2026-01-01T00:00:10\.000Z, call #5\) after replica B had begun writing \(UpdateRouteTable at 2026-01-01T00:00:09\.000Z, call #3\)/);
  });

  it('a pin on a block another host holds is a pin conflict; a pin its own host holds is not', () => {
    const conflicts = pinConflicts([host('a', '10.0.0.0/26'), host('b', undefined, '10.0.0.0/26', 'CIDRInUse'), host('c', '10.0.0.64/26', '10.0.0.64/26'), host('d', undefined, '10.0.1.0/26')]);
    assert.deepEqual([...conflicts], [['b', 'a']]);
  });

  const ledger = (records: [string, string][]): LedgerView => ({ exists: true, records: new Map(records), data: {} });

  it('converged with pin conflicts expected: the conflicting pin must say CIDRInUse and hold nothing; the others need their block and route', () => {
    const hosts = [host('a', '10.0.0.0/26'), host('b', undefined, '10.0.0.0/26', 'CIDRInUse')];
    const routes = [{ destination: '10.0.0.0/26', nexthop: 'i-1', owner: 'a' }];
    assert.deepEqual(allocationProblems({ hosts, ledger: ledger([['10.0.0.0/26', 'a']]), routes }, { converged: true, pinConflictsExpected: true }), []);
    // Without the exemption the same view is unsettled (b has no block).
    assert.deepEqual(allocationProblems({ hosts, ledger: ledger([['10.0.0.0/26', 'a']]), routes }, { converged: true }), ['b has no status.podCIDR']);
    const wrongReason = [host('a', '10.0.0.0/26'), host('b', undefined, '10.0.0.0/26', 'PoolExhausted')];
    assert.match(allocationProblems({ hosts: wrongReason, ledger: ledger([['10.0.0.0/26', 'a']]), routes }, { converged: true, pinConflictsExpected: true })[0]!, /b pins 10\.0\.0\.0\/26, held by a, but says CIDRAllocated=False\/PoolExhausted/);
    const noRoute = allocationProblems({ hosts, ledger: ledger([['10.0.0.0/26', 'a']]), routes: [] }, { converged: true, pinConflictsExpected: true });
    assert.deepEqual(noRoute, ['a 10.0.0.0/26: 0 owned routes']);
  });

  it('during the chaos: a status block the ledger does not back, and a block twice, are reported', () => {
    assert.deepEqual(allocationProblems({ hosts: [host('a', '10.0.0.0/26')], ledger: ledger([]) }), ['a has status.podCIDR 10.0.0.0/26 but the ledger records nothing for that block']);
    const twice = allocationProblems({ hosts: [host('a', '10.0.0.0/26'), host('b', '10.0.0.0/26')], ledger: ledger([['10.0.0.0/26', 'a']]) });
    assert.ok(twice.includes('status blocks overlap: a 10.0.0.0/26 and b 10.0.0.0/26'), JSON.stringify(twice));
  });
});
