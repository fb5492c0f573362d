// The installation id: explicit wins, an installation from before ids were derived keeps
// "default", every other one gets an id of its own cluster (and namespace).
import assert from 'node:assert/strict';
import { INSTALLATION_ID } from '../../controller/config.js';
import { decideInstallationId, deriveInstallationId } from '../../controller/installation.js';
import { isOwnedBy, markFor } from '../../controller/routes/marks.js';

const UID_A = '3f2a9c1e-77d0-4b6e-9a43-0c5e1d2b8f61';
const UID_B = 'b81c0d44-2e9f-41a7-8d3b-6f0a7c9e5d12';

describe('installation id', () => {
  it('is derived from the kube-system UID: readable (starts with the UID), valid for --installation-id', () => {
    const id = deriveInstallationId(UID_A, 'hostnet-system');
    assert.match(id, /^cluster-3f2a9c1e-[0-9a-f]{4}$/);
    assert.ok(INSTALLATION_ID.test(id), id);
    assert.equal(deriveInstallationId(UID_A, 'hostnet-system'), id, 'stable across restarts');
  });

  it('differs between two clusters and between two namespaces of one cluster', () => {
    const ids = new Set([deriveInstallationId(UID_A, 'hostnet-system'), deriveInstallationId(UID_B, 'hostnet-system'), deriveInstallationId(UID_A, 'other')]);
    assert.equal(ids.size, 3);
    const [a, b] = [deriveInstallationId(UID_A, 'hostnet-system'), deriveInstallationId(UID_B, 'hostnet-system')];
    assert.equal(isOwnedBy(a, markFor(b, 'ecs-1')), false, "one cluster's mark is foreign to the other");
    assert.equal(isOwnedBy(a, markFor('default', 'ecs-1')), false);
  });

  it('refuses a UID it cannot use', () => {
    assert.throws(() => deriveInstallationId('', 'ns'), /no usable UID/);
  });

  it('an explicit id always wins, even over an existing "default" installation', () => {
    assert.deepEqual(decideInstallationId({ explicit: 'prod', legacyLedger: true, legacyLease: true, kubeSystemUid: UID_A, namespace: 'ns' }), { id: 'prod', source: 'flag' });
  });

  it('an installation from before (its ledger or its Lease in the namespace) keeps "default"', () => {
    assert.deepEqual(decideInstallationId({ legacyLedger: true, legacyLease: false, kubeSystemUid: UID_A, namespace: 'ns' }), { id: 'default', source: 'legacy' });
    // Nothing allocated yet, but an old replica holds the Lease: the same Lease, never two leaders.
    assert.deepEqual(decideInstallationId({ legacyLedger: false, legacyLease: true, namespace: 'ns' }), { id: 'default', source: 'legacy' });
  });

  it('a new installation gets the cluster-derived id', () => {
    assert.deepEqual(decideInstallationId({ legacyLedger: false, legacyLease: false, kubeSystemUid: UID_A, namespace: 'ns' }), { id: deriveInstallationId(UID_A, 'ns'), source: 'cluster' });
  });
});
