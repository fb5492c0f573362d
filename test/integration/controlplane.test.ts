import assert from 'node:assert/strict';
import { CustomObjectsApi, makeInformer, type KubernetesObject } from '@kubernetes/client-node';
import { adminKubeConfig } from '../helpers/controlplane.js';
import { installCrd, waitFor } from '../helpers/kube.js';

describe('the real control plane', function () {
  this.timeout(120_000);

  it('serves the HostNetwork CRD and an informer sees a new object', async () => {
    const kc = await adminKubeConfig();
    await installCrd(kc);
    const api = kc.makeApiClient(CustomObjectsApi);
    const path = '/apis/hostnet.io/v1alpha1/hostnetworks';
    const informer = makeInformer<KubernetesObject>(kc, path, () =>
      api.listClusterCustomObject({ group: 'hostnet.io', version: 'v1alpha1', plural: 'hostnetworks' }) as never,
    );
    const seen: string[] = [];
    informer.on('add', (obj) => seen.push(obj.metadata?.name ?? ''));
    await informer.start();
    try {
      await api.createClusterCustomObject({
        group: 'hostnet.io',
        version: 'v1alpha1',
        plural: 'hostnetworks',
        body: {
          apiVersion: 'hostnet.io/v1alpha1',
          kind: 'HostNetwork',
          metadata: { name: 'foundation-probe' },
          spec: { instanceID: 'a2f5a1b4-0000-4d4d-9e2f-7e7bd2f6a001', hostIP: '192.168.0.2' },
        },
      });
      await waitFor('informer add event', async () => seen.includes('foundation-probe'));
    } finally {
      await informer.stop();
      await api.deleteClusterCustomObject({ group: 'hostnet.io', version: 'v1alpha1', plural: 'hostnetworks', name: 'foundation-probe' });
    }
  });

  it('rejects an invalid object at admission with the schema message', async () => {
    const kc = await adminKubeConfig();
    await installCrd(kc);
    const api = kc.makeApiClient(CustomObjectsApi);
    await assert.rejects(
      api.createClusterCustomObject({
        group: 'hostnet.io',
        version: 'v1alpha1',
        plural: 'hostnetworks',
        body: {
          apiVersion: 'hostnet.io/v1alpha1',
          kind: 'HostNetwork',
          metadata: { name: 'bad-cidr' },
          spec: { instanceID: 'i-1', podCIDR: '10.0.2.1/24' },
        },
      }),
      (err: { code?: number; body?: string }) => err.code === 422 && /network address/.test(String(err.body)),
    );
  });
});
