// Ready's verdict and text (controller/reconcile-plan.ts planReady), pure: it claims no step that
// was not taken — no NIC step where the cloud has none (Alibaba Cloud, --cloud-provider=none) or
// the operator keeps it (--source-dest-check=off), no cloud route without a cloud router.
import assert from 'node:assert/strict';
import type { Condition } from '../../controller/api/types.js';
import { planReady } from '../../controller/reconcile-plan.js';

const c = (type: string, status: Condition['status'] = 'True', reason = 'Done'): Condition => ({ type, status, reason, message: `${type} ${reason}`, lastTransitionTime: '2026-01-01T00:00:00Z', observedGeneration: 1 });
const ok = [c('CIDRAllocated'), c('RouteProgrammed'), c('SourceDestCheckDisabled'), c('HostIPVerified', 'Unknown', 'NotChecked')];

describe("reconcile plan: Ready's text", () => {
  it('NIC managed: routed to the server, nothing more said', () => {
    assert.deepEqual(planReady(ok, 'managed', '10.0.2.0/24', 'srv-1', 1), { status: 'True', reason: 'HostReady', message: 'Containers in 10.0.2.0/24 are routed to srv-1' });
  });

  it('--source-dest-check=off: the check is the operator\'s to disable, and Ready does not wait for it', () => {
    const off = [...ok.filter((x) => x.type !== 'SourceDestCheckDisabled'), c('SourceDestCheckDisabled', 'Unknown', 'NotManaged')];
    assert.deepEqual(planReady(off, 'off', '10.0.2.0/24', 'srv-1', 1), { status: 'True', reason: 'HostReady', message: 'Containers in 10.0.2.0/24 are routed to srv-1 (the NIC source/destination check is yours to disable)' });
  });

  it('a cloud without the check (Alibaba): says there is none, not that it is yours to disable', () => {
    const r = planReady(ok, 'not-applicable', '10.0.2.0/24', 'i-1', 1);
    assert.deepEqual(r, { status: 'True', reason: 'HostReady', message: 'Containers in 10.0.2.0/24 are routed to i-1 (the cloud has no NIC source/destination check to disable)' });
    assert.doesNotMatch(r.message, /yours to disable/);
  });

  it('no cloud router (--cloud-provider=none): the agents route the block; no NIC step, no cloud route claimed', () => {
    const none = [c('CIDRAllocated'), c('RouteProgrammed', 'True', 'NoCloudRouter'), c('SourceDestCheckDisabled', 'True', 'NotApplicable')];
    const r = planReady(none, 'not-applicable', '10.0.2.0/24', 'host-1', 1, 'none');
    assert.deepEqual(r, { status: 'True', reason: 'HostReady', message: "Containers in 10.0.2.0/24 are on host-1; with no cloud router the hosts' hostnet-agents route the block directly" });
    assert.doesNotMatch(r.message, /source\/destination|routed to/);
  });

  it('not ready: the first condition not True gives reason and message; the agent\'s report of another generation is waited for', () => {
    const failing = [...ok.filter((x) => x.type !== 'RouteProgrammed'), c('RouteProgrammed', 'False', 'RouteConflict')];
    assert.deepEqual(planReady(failing, 'managed', '10.0.2.0/24', 'srv-1', 1), { status: 'False', reason: 'RouteConflict', message: 'RouteProgrammed RouteConflict' });
    const oldAgent = [...ok, { ...c('HostConfigured', 'True', 'Configured'), observedGeneration: 1 }];
    assert.deepEqual(planReady(oldAgent, 'managed', '10.0.2.0/24', 'srv-2', 2), { status: 'False', reason: 'WaitingForAgent', message: "the host's hostnet-agent has not reported on generation 2 yet" });
    const nicFailed = [...ok.filter((x) => x.type !== 'SourceDestCheckDisabled'), c('SourceDestCheckDisabled', 'False', 'PortNotFound')];
    assert.equal(planReady(nicFailed, 'managed', '10.0.2.0/24', 'srv-1', 1).reason, 'PortNotFound');
    assert.equal(planReady(nicFailed, 'not-applicable', '10.0.2.0/24', 'srv-1', 1).status, 'True', 'a check the cloud does not have is not waited for');
  });
});
