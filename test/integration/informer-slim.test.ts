// The HostNetwork informer (controller/kube/informer.ts) keeps slim copies: against the real
// kube-apiserver, objects that arrive by the initial list, by a watch ADDED and by a watch
// MODIFIED are cached without metadata.managedFields and without kubectl's last-applied
// annotation (every other annotation stays), and the slim copies still carry what the writers
// need: a status merge patch and the resourceVersion-guarded finalizer patch of
// controller/kube/status.ts succeed from them.
import assert from 'node:assert/strict';
import type { KubeConfig } from '@kubernetes/client-node';
import { FINALIZER, type HostNetwork } from '../../controller/api/types.js';
import { HostNetworkInformer, LAST_APPLIED } from '../../controller/kube/informer.js';
import { KubeStatusWriter } from '../../controller/kube/status.js';
import { createLogger } from '../../controller/logger.js';
import { freshCluster } from '../helpers/controller.js';
import { ECS1, ECS2, createHn, getHn, hostNetwork, patchSpec } from '../helpers/invariants.js';
import { resetCluster, waitFor } from '../helpers/kube.js';

const KEPT = 'example.com/owner';

function annotated(name: string): HostNetwork {
  const o = hostNetwork(name, { instanceID: ECS1 });
  o.metadata = { ...o.metadata, annotations: { [LAST_APPLIED]: JSON.stringify({ ...o, metadata: { name } }), [KEPT]: 'team-a' } } as HostNetwork['metadata'];
  return o;
}

type Md = HostNetwork['metadata'] & { managedFields?: unknown; annotations?: Record<string, string> };

function assertSlim(o: HostNetwork | undefined, what: string): void {
  assert.ok(o, `${what}: in the cache`);
  const md = o.metadata as Md;
  assert.equal(md.managedFields, undefined, `${what}: managedFields dropped`);
  assert.equal(md.annotations?.[LAST_APPLIED], undefined, `${what}: last-applied annotation dropped`);
  assert.equal(md.annotations?.[KEPT], 'team-a', `${what}: other annotations kept`);
  assert.ok(md.uid && md.resourceVersion && md.generation, `${what}: uid, resourceVersion and generation kept`);
}

describe('kube/informer: slim cache (real API server)', function () {
  this.timeout(60_000);
  let kc: KubeConfig;
  let informer: HostNetworkInformer | undefined;

  before(async () => {
    ({ kc } = await freshCluster());
  });

  afterEach(async () => {
    await informer?.stop();
    informer = undefined;
    await resetCluster(kc);
  });

  it('drops managedFields and the last-applied annotation of listed, added and modified objects', async () => {
    await createHn(kc, annotated('slim-listed'));
    // The API server does keep both: without them the assertions below would prove nothing.
    const stored = (await getHn(kc, 'slim-listed'))!.metadata as Md;
    assert.ok(Array.isArray(stored.managedFields) && stored.managedFields.length > 0, 'the API server returns managedFields');
    assert.ok(stored.annotations?.[LAST_APPLIED], 'the API server returns the last-applied annotation');

    const noop = (): void => undefined;
    informer = new HostNetworkInformer(kc, createLogger('error', 'json'), 60_000, { onAdd: noop, onUpdate: noop, onDelete: noop });
    await informer.start();
    const inf = informer;
    assertSlim(inf.get('slim-listed'), 'listed');

    await createHn(kc, annotated('slim-added'));
    assertSlim(await waitFor('the watch ADDED in the cache', async () => inf.get('slim-added')), 'added');

    const rv = inf.get('slim-listed')!.metadata.resourceVersion;
    await patchSpec(kc, 'slim-listed', { instanceID: ECS2 });
    const modified = await waitFor('the watch MODIFIED in the cache', async () => {
      const o = inf.get('slim-listed');
      return o && o.metadata.resourceVersion !== rv ? o : undefined;
    });
    assert.equal(modified.spec.instanceID, ECS2);
    assertSlim(modified, 'modified');
  });

  it('status and finalizer patches made from a slim cached copy succeed', async () => {
    await createHn(kc, annotated('slim-writes'));
    const noop = (): void => undefined;
    informer = new HostNetworkInformer(kc, createLogger('error', 'json'), 60_000, { onAdd: noop, onUpdate: noop, onDelete: noop });
    await informer.start();
    const inf = informer;
    const cached = inf.get('slim-writes');
    assertSlim(cached, 'cached');

    const writer = new KubeStatusWriter(kc);
    // The finalizer patch is guarded by the cached resourceVersion: a slim copy must keep it current.
    await writer.addFinalizer(cached!);
    const withFinalizer = await waitFor('the finalizer in the cache', async () => {
      const o = inf.get('slim-writes');
      return o?.metadata.finalizers?.includes(FINALIZER) ? o : undefined;
    });
    assertSlim(withFinalizer, 'after the finalizer patch');
    const status = { podCIDR: '10.9.0.0/24', nextHop: ECS1, observedGeneration: withFinalizer.metadata.generation };
    await writer.write(withFinalizer, status);
    // What the writer keeps of its own write until the cache catches up is slim too.
    assertSlim(writer.latest(withFinalizer), 'the copy the writer keeps of its status write');
    const stored = await getHn(kc, 'slim-writes');
    assert.deepEqual(stored?.status, status, 'the status merge patch landed');
    assert.deepEqual(stored?.metadata.finalizers, [FINALIZER]);
    const latest = await waitFor('the status in the cache', async () => {
      const o = inf.get('slim-writes');
      return o?.status?.podCIDR === status.podCIDR ? o : undefined;
    });
    await writer.removeFinalizer(latest);
    assert.equal((await getHn(kc, 'slim-writes'))?.metadata.finalizers, undefined, 'the guarded finalizer removal landed');
  });
});
