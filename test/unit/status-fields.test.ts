// The controller's part of a status (controller/kube/status-fields.ts): what its server-side
// apply carries, and the guarded JSON patch for the fields an apply could not remove.
import assert from 'node:assert/strict';
import type { Condition, HostNetworkStatus } from '../../controller/api/types.js';
import { controllerStatus, leftoverRemovals } from '../../controller/kube/status-fields.js';

const c = (type: string, reason = 'R'): Condition => ({ type, status: 'True', reason, message: type, lastTransitionTime: '2026-01-01T00:00:00Z' });

describe('status fields: what the controller applies', () => {
  it("carries the controller's fields and condition types only, in the fixed order", () => {
    const status: HostNetworkStatus = {
      podCIDR: '10.0.2.0/24',
      nextHop: 'srv-1',
      hostIP: undefined,
      observedGeneration: 3,
      routeTables: [{ id: 'rtb-1', state: 'Programmed' }],
      conditions: [c('HostConfigured'), c('Ready'), c('ExampleComOther'), c('CIDRAllocated')],
    };
    assert.deepEqual(controllerStatus(status), {
      podCIDR: '10.0.2.0/24',
      nextHop: 'srv-1',
      observedGeneration: 3,
      routeTables: [{ id: 'rtb-1', state: 'Programmed' }],
      conditions: [c('CIDRAllocated'), c('Ready')],
    });
    assert.deepEqual(controllerStatus({ conditions: [c('HostConfigured')] }), {}, 'no conditions of the controller: none applied');
    assert.deepEqual(controllerStatus(undefined), {});
  });

  it('two statuses that differ only in the agent\'s condition or in order compare equal', () => {
    const a = controllerStatus({ podCIDR: '10.0.2.0/24', conditions: [c('Ready'), c('CIDRAllocated'), c('HostConfigured', 'Configured')] });
    const b = controllerStatus({ podCIDR: '10.0.2.0/24', conditions: [c('HostConfigured', 'DockerUnavailable'), c('CIDRAllocated'), c('Ready')] });
    assert.deepEqual(a, b);
  });
});

describe('status fields: what an apply left over', () => {
  it('removes the fields and condition types left out, each guarded by a test, conditions from the highest index down', () => {
    const stored: HostNetworkStatus = {
      podCIDR: '10.0.2.0/24',
      hostIP: '192.168.0.2',
      addedPair: { instanceID: 'srv-1', portId: 'p-1', pair: 'pair-record-1' },
      conditions: [c('CIDRAllocated'), c('HostIPVerified'), c('HostConfigured'), c('Ready'), c('ExampleComOther')],
    };
    const applied = controllerStatus({ podCIDR: '10.0.2.0/24', conditions: [c('CIDRAllocated')] });
    assert.deepEqual(leftoverRemovals(stored, applied), [
      { op: 'test', path: '/status/hostIP', value: '192.168.0.2' },
      { op: 'remove', path: '/status/hostIP' },
      { op: 'test', path: '/status/addedPair', value: { instanceID: 'srv-1', portId: 'p-1', pair: 'pair-record-1' } },
      { op: 'remove', path: '/status/addedPair' },
      { op: 'test', path: '/status/conditions/3/type', value: 'Ready' },
      { op: 'remove', path: '/status/conditions/3' },
      { op: 'test', path: '/status/conditions/1/type', value: 'HostIPVerified' },
      { op: 'remove', path: '/status/conditions/1' },
    ]);
  });

  it('nothing when the apply removed everything it left out (the usual case)', () => {
    const applied = controllerStatus({ podCIDR: '10.0.2.0/24', conditions: [c('Ready')] });
    assert.deepEqual(leftoverRemovals({ podCIDR: '10.0.2.0/24', conditions: [c('Ready'), c('HostConfigured')] }, applied), []);
    assert.deepEqual(leftoverRemovals(undefined, applied), []);
  });
});
