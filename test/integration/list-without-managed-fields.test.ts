// controller/kube/list.ts against the real kube-apiserver: a list large enough to come gzipped
// (the API server compresses answers over 128 KiB) gives the same objects, in the same order, as
// client-node's own list, less metadata.managedFields, and the same resourceVersion; a list the
// API server refuses throws client-node's ApiException with the status code and the Status body.
import assert from 'node:assert/strict';
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { GROUP, PLURAL, VERSION, type HostNetwork } from '../../controller/api/types.js';
import { describeKubeError } from '../../controller/kube/errors.js';
import { listWithoutManagedFields } from '../../controller/kube/list.js';
import { freshCluster } from '../helpers/controller.js';
import { ECS1, HN, createMany, hostNetwork } from '../helpers/invariants.js';
import { resetCluster } from '../helpers/kube.js';

describe('listWithoutManagedFields: a list read item by item (real API server)', function () {
  this.timeout(120_000);
  let kc: KubeConfig;
  const path = `/apis/${GROUP}/${VERSION}/${PLURAL}`;

  before(async () => {
    ({ kc } = await freshCluster());
    const objs = Array.from({ length: 400 }, (_, i) => {
      const o = hostNetwork(`list-${String(i).padStart(3, '0')}`, { instanceID: ECS1 });
      o.metadata = { ...o.metadata, annotations: { 'example.com/padding': 'x'.repeat(200) } } as HostNetwork['metadata'];
      return o;
    });
    await createMany(kc, objs);
  });

  after(async () => {
    await resetCluster(kc);
  });

  it('the same items as client-node\'s list, less managedFields, and its resourceVersion', async () => {
    const theirs = (await kc.makeApiClient(CustomObjectsApi).listClusterCustomObject(HN)) as { items: HostNetwork[]; metadata: { resourceVersion: string } };
    assert.equal(theirs.items.length, 400);
    assert.ok(theirs.items.every((o) => Array.isArray((o.metadata as { managedFields?: unknown }).managedFields)), 'the API server sends managedFields');
    const ours = await listWithoutManagedFields<HostNetwork>(kc, path, { resourceVersion: theirs.metadata.resourceVersion, resourceVersionMatch: 'Exact' });
    const slim = theirs.items.map((o) => {
      const { managedFields: _dropped, ...metadata } = o.metadata as HostNetwork['metadata'] & { managedFields?: unknown };
      return { ...o, metadata };
    });
    assert.deepEqual(ours.items, slim);
    assert.equal(ours.metadata?.resourceVersion, theirs.metadata.resourceVersion);
  });

  it('from the watch cache (resourceVersion=0) too', async () => {
    const ours = await listWithoutManagedFields<HostNetwork>(kc, path, { resourceVersion: '0' });
    assert.equal(ours.items.length, 400);
    assert.ok(ours.items.every((o) => !('managedFields' in o.metadata)));
  });

  it('a refused list throws the ApiException with the code and the Status message', async () => {
    await assert.rejects(listWithoutManagedFields(kc, path, { fieldSelector: 'spec.noSuchField=x' }), (err: unknown) => {
      assert.equal((err as { code?: number }).code, 400);
      assert.match(describeKubeError(err), /^HTTP 400: .*spec\.noSuchField/);
      return true;
    });
  });
});
