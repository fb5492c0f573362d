// The Alibaba emulator's VPC model on its own (no HTTP), on a clock the test moves by hand:
// the asynchronous entry states, one route task per VPC, the destination and next-hop rules,
// the quota, per-entry failures of a batch, deletion and in-place next-hop changes.

import assert from 'node:assert/strict';
import { AliError } from '../emulator/alibaba/errors.js';
import { ALI_SEED, aliSeedState } from '../emulator/alibaba/seed.js';
import { AliState, type CreateEntryInput } from '../emulator/alibaba/state.js';

const RT = ALI_SEED.routeTableId;
const I1 = ALI_SEED.instances[0].id;
const I2 = ALI_SEED.instances[1].id;
const DELAY = 1000;

function fresh(): { state: AliState; advance: (ms: number) => void } {
  let now = Date.parse('2026-12-01T21:48:22Z');
  const state = new AliState(aliSeedState(), () => now, DELAY);
  return { state, advance: (ms) => (now += ms) };
}

const entry = (dst: string, hop: string = I1, extra: Partial<CreateEntryInput> = {}): CreateEntryInput => ({ routeTableId: RT, dstCidrBlock: dst, nextHop: hop, nextHopType: 'Instance', ...extra });

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof AliError) return e.code;
    throw e;
  }
  assert.fail('expected an AliError');
}

function custom(state: AliState): { destination: string; status: string; nextHopId: string }[] {
  return state.tableEntries(RT).filter((e) => e.type === 'Custom').map(({ destination, status, nextHopId }) => ({ destination, status, nextHopId }));
}

describe('alibaba emulator model', () => {
  it('shows new entries Pending until the delay has passed, then Available', () => {
    const { state, advance } = fresh();
    const { ids, failed } = state.createEntries([entry('172.16.0.0/24'), entry('172.16.1.0/24', I2)]);
    assert.equal(ids.length, 2);
    assert.deepEqual(failed, []);
    assert.deepEqual(custom(state).map((e) => e.status), ['Pending', 'Pending']);
    advance(DELAY - 1);
    assert.deepEqual(custom(state).map((e) => e.status), ['Pending', 'Pending']);
    advance(1);
    assert.deepEqual(custom(state), [
      { destination: '172.16.0.0/24', status: 'Available', nextHopId: I1 },
      { destination: '172.16.1.0/24', status: 'Available', nextHopId: I2 },
    ]);
  });

  it('refuses a second route task in the VPC while one runs (TaskConflict), whole', () => {
    const { state, advance } = fresh();
    state.createEntries([entry('172.16.0.0/24')]);
    assert.equal(code(() => state.createEntries([entry('172.16.1.0/24')])), 'TaskConflict');
    assert.equal(custom(state).length, 1, 'the refused batch created nothing');
    advance(DELAY);
    assert.equal(state.createEntries([entry('172.16.1.0/24')]).ids.length, 1);
    assert.equal(code(() => state.modifyEntry({ routeTableId: RT, destinationCidrBlock: '172.16.0.0/24', newNextHopId: I2 })), 'TaskConflict');
  });

  it('reports bad entries of a batch one by one and creates the others', () => {
    const { state } = fresh();
    const { ids, failed } = state.createEntries([
      entry('172.16.0.0/24'),
      entry('192.168.0.0/25'), // inside the vSwitch
      entry('192.0.0.0/8'), // contains the vSwitch
      entry('100.64.1.0/24'), // cloud-service range
      entry('172.16.0.0/24', I2), // duplicate within the batch
      entry('172.16.2.0/24', 'i-not-in-this-vpc'),
      entry('172.16.3.1/24'), // host bits set
      entry('172.16.4.7'), // a bare address: /32
      { ...entry('172.16.5.0/24'), routeTableId: 'vtb-missing' },
    ]);
    assert.equal(ids.length, 2);
    assert.deepEqual(
      failed.map((f) => [f.DstCidrBlock, f.FailedCode]),
      [
        ['192.168.0.0/25', 'InvalidDestinationCidrBlock.OverlapVSwitch'],
        ['192.0.0.0/8', 'InvalidDestinationCidrBlock.OverlapVSwitch'],
        ['100.64.1.0/24', 'InvalidDestinationCidrBlock.Reserved'],
        ['172.16.0.0/24', 'InvalidCIDRBlock.Duplicate'],
        ['172.16.2.0/24', 'InvalidNextHop.NotFound'],
        ['172.16.3.1/24', 'InvalidDestinationCidrBlock.Malformed'],
        ['172.16.5.0/24', 'InvalidRouteTableId.NotFound'],
      ],
    );
    assert.deepEqual(custom(state).map((e) => e.destination), ['172.16.0.0/24', '172.16.4.7/32']);
  });

  it('fails a whole call with more than 50 entries or a missing field, changing nothing', () => {
    const { state } = fresh();
    const many = Array.from({ length: 51 }, (_, i) => entry(`172.16.${i}.0/24`));
    assert.equal(code(() => state.createEntries(many)), 'InvalidParameter');
    assert.equal(code(() => state.createEntries([entry('172.16.0.0/24'), { routeTableId: RT, dstCidrBlock: '172.16.1.0/24', nextHop: I1 }])), 'MissingRouteEntries.2.NextHopType');
    assert.equal(custom(state).length, 0);
  });

  it('holds a table to its custom-entry quota, entry by entry', () => {
    const { state, advance } = fresh();
    state.setQuota(3);
    state.createEntries([entry('172.16.0.0/24'), entry('172.16.1.0/24')]);
    advance(DELAY);
    const { ids, failed } = state.createEntries([entry('172.16.2.0/24'), entry('172.16.3.0/24')]);
    assert.equal(ids.length, 1);
    assert.deepEqual(failed.map((f) => [f.DstCidrBlock, f.FailedCode]), [['172.16.3.0/24', 'QuotaExceeded.RouteEntry']]);
  });

  it('deletes only Available entries, asynchronously; system entries never', () => {
    const { state, advance } = fresh();
    state.createEntries([entry('172.16.0.0/24')]);
    advance(DELAY);
    state.createEntries([entry('172.16.1.0/24')]);
    advance(DELAY);
    state.modifyEntry({ routeTableId: RT, destinationCidrBlock: '172.16.1.0/24', newNextHopId: I2 });
    advance(DELAY);
    const { failed, deleted } = state.deleteEntries([
      { routeTableId: RT, dstCidrBlock: '172.16.0.0/24' },
      { routeTableId: RT, dstCidrBlock: '172.16.7.0/24' },
      { routeTableId: RT, dstCidrBlock: ALI_SEED.vswitchCidr },
    ]);
    assert.equal(deleted, 1);
    assert.deepEqual(failed.map((f) => f.FailedCode), ['InvalidRouteEntry.NotFound', 'OperationDenied.SystemRouteEntry']);
    assert.deepEqual(custom(state).map((e) => [e.destination, e.status]), [['172.16.0.0/24', 'Deleting'], ['172.16.1.0/24', 'Available']]);
    advance(DELAY);
    assert.deepEqual(custom(state).map((e) => e.destination), ['172.16.1.0/24']);
  });

  it('refuses to delete or modify a Pending entry (IncorrectRouteEntryStatus)', () => {
    const { state } = fresh();
    state.setEntryDelay(DELAY);
    const { ids } = state.createEntries([entry('172.16.0.0/24')]);
    // The VPC is busy too; a name change is not a task and meets the entry's own status.
    assert.equal(code(() => state.modifyEntry({ routeEntryId: ids[0]!, routeEntryName: 'x' })), 'IncorrectRouteEntryStatus');
  });

  it('changes the next hop in place (same entry id), Modifying then Available', () => {
    const { state, advance } = fresh();
    const { ids } = state.createEntries([entry('172.16.0.0/24', I1, { name: 'hostnet', description: 'mark' })]);
    advance(DELAY);
    assert.equal(code(() => state.modifyEntry({ routeEntryId: ids[0]!, newNextHopId: 'i-elsewhere' })), 'InvalidNextHop.NotFound');
    state.modifyEntry({ routeEntryId: ids[0]!, newNextHopId: I2, newNextHopType: 'Instance' });
    const [e] = state.tableEntries(RT).filter((x) => x.type === 'Custom');
    assert.deepEqual([e!.id, e!.nextHopId, e!.status, e!.name, e!.description], [ids[0], I2, 'Modifying', 'hostnet', 'mark']);
    advance(DELAY);
    assert.equal(state.tableEntries(RT).find((x) => x.id === ids[0])!.status, 'Available');
  });

  it('lets a person add, change and remove entries behind the API (immediately Available)', () => {
    const { state } = fresh();
    state.adminAddEntry(RT, { destination: '10.9.0.0/16', nextHop: I2, description: 'someone else' }, false);
    assert.throws(() => state.adminAddEntry(RT, { destination: '10.9.0.0/16', nextHop: I1 }, false), /already exists/);
    state.adminModifyEntry(RT, '10.9.0.0/16', { nextHop: I1 });
    assert.deepEqual(custom(state), [{ destination: '10.9.0.0/16', status: 'Available', nextHopId: I1 }]);
    state.adminDeleteEntry(RT, '10.9.0.0/16');
    assert.deepEqual(custom(state), []);
  });

  it('adds a security-group permission once however often it is authorized', () => {
    const { state } = fresh();
    const perm = { ipProtocol: 'ALL', portRange: '-1/-1', sourceCidrIp: '172.16.0.0/16', policy: 'accept', priority: '1', description: 'hostnet' };
    assert.equal(state.authorize(ALI_SEED.securityGroupId, [perm]), 1);
    assert.equal(state.authorize(ALI_SEED.securityGroupId, [perm, { ...perm, description: 'same rule, other words' }]), 0);
    assert.equal(state.groupPermissions(ALI_SEED.securityGroupId).length, 1);
    assert.equal(code(() => state.authorize('sg-missing', [perm])), 'InvalidSecurityGroupId.NotFound');
  });
});
