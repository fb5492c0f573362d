// Conditions: lastTransitionTime moves only with the status; a fixed order of types.
import assert from 'node:assert/strict';
import { ConditionType, EventReason, Reason, getCondition, rfc3339, setCondition } from '../../controller/api/conditions.js';
import type { Condition } from '../../controller/api/types.js';

const T0 = new Date('2024-05-01T10:00:00.123Z');
const T1 = new Date('2024-05-01T10:05:00.999Z');

describe('api/conditions', () => {
  it('rfc3339 has second precision', () => {
    assert.equal(rfc3339(T0), '2024-05-01T10:00:00Z');
  });

  it('a new condition gets lastTransitionTime now', () => {
    const list = setCondition(undefined, { type: 'Ready', status: 'False', reason: 'NotReady', message: 'm' }, T0);
    assert.deepEqual(list, [{ type: 'Ready', status: 'False', reason: 'NotReady', message: 'm', lastTransitionTime: '2024-05-01T10:00:00Z' }]);
  });

  it('keeps lastTransitionTime when the status is unchanged, even if reason and message change', () => {
    const a = setCondition([], { type: 'RouteProgrammed', status: 'False', reason: 'RoutePending', message: 'waiting', observedGeneration: 1 }, T0);
    const b = setCondition(a, { type: 'RouteProgrammed', status: 'False', reason: 'CloudThrottled', message: 'slow down', observedGeneration: 2 }, T1);
    assert.equal(b.length, 1);
    assert.equal(b[0]!.lastTransitionTime, '2024-05-01T10:00:00Z');
    assert.equal(b[0]!.reason, 'CloudThrottled');
    assert.equal(b[0]!.message, 'slow down');
    assert.equal(b[0]!.observedGeneration, 2);
  });

  it('changes lastTransitionTime when the status changes', () => {
    const a = setCondition([], { type: 'Ready', status: 'Unknown', reason: 'Reconciling', message: '' }, T0);
    const b = setCondition(a, { type: 'Ready', status: 'True', reason: 'HostReady', message: '' }, T1);
    assert.equal(b[0]!.lastTransitionTime, '2024-05-01T10:05:00Z');
    const c = setCondition(b, { type: 'Ready', status: 'False', reason: 'NotReady', message: '' }, new Date('2024-05-02T00:00:00Z'));
    assert.equal(c[0]!.lastTransitionTime, '2024-05-02T00:00:00Z');
  });

  it('does not modify the input list', () => {
    const a = setCondition([], { type: 'Ready', status: 'True', reason: 'HostReady', message: '' }, T0);
    const copy = structuredClone(a);
    setCondition(a, { type: 'Ready', status: 'False', reason: 'NotReady', message: '' }, T1);
    setCondition(a, { type: 'CIDRAllocated', status: 'True', reason: 'Allocated', message: '' }, T1);
    assert.deepEqual(a, copy);
  });

  it('orders CIDRAllocated, RouteProgrammed, SourceDestCheckDisabled, Ready, then unknown types', () => {
    let list: Condition[] = [];
    for (const type of ['Custom', 'Ready', 'SourceDestCheckDisabled', 'RouteProgrammed', 'CIDRAllocated']) {
      list = setCondition(list, { type, status: 'True', reason: 'X', message: '' }, T0);
    }
    assert.deepEqual(
      list.map((c) => c.type),
      ['CIDRAllocated', 'RouteProgrammed', 'SourceDestCheckDisabled', 'Ready', 'Custom'],
    );
    // Updating one keeps the order and one entry per type.
    list = setCondition(list, { type: 'CIDRAllocated', status: 'False', reason: 'Y', message: '' }, T1);
    assert.deepEqual(
      list.map((c) => c.type),
      ['CIDRAllocated', 'RouteProgrammed', 'SourceDestCheckDisabled', 'Ready', 'Custom'],
    );
    assert.equal(getCondition(list, 'CIDRAllocated')?.status, 'False');
    assert.equal(getCondition(list, 'Nope'), undefined);
    assert.equal(getCondition(undefined, 'Ready'), undefined);
  });

  it('reasons are unique, CamelCase API strings', () => {
    const values = Object.values(Reason);
    assert.equal(new Set(values).size, values.length, 'a reason is spelled twice');
    for (const v of [...values, ...Object.values(EventReason), ...Object.values(ConditionType)]) assert.match(v, /^[A-Z][A-Za-z]+$/);
  });
});
