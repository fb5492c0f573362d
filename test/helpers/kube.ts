// Small helpers for tests that talk to the real API server.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ApiextensionsV1Api,
  CustomObjectsApi,
  loadYaml,
  type KubeConfig,
  type V1CustomResourceDefinition,
} from '@kubernetes/client-node';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const crdPath = join(repoRoot, 'crds', 'hostnet.io_hostnetworks.yaml');

export function loadCrd(): V1CustomResourceDefinition {
  return loadYaml<V1CustomResourceDefinition>(readFileSync(crdPath, 'utf8'));
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      lastErr = err;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? `: ${String(lastErr)}` : ''}`);
}

/** Creates (or replaces) the HostNetwork CRD and waits until the API server serves it. */
export async function installCrd(kc: KubeConfig): Promise<void> {
  const api = kc.makeApiClient(ApiextensionsV1Api);
  const crd = loadCrd();
  const name = crd.metadata!.name!;
  try {
    const existing = await api.readCustomResourceDefinition({ name });
    crd.metadata!.resourceVersion = existing.metadata?.resourceVersion;
    await api.replaceCustomResourceDefinition({ name, body: crd });
  } catch (err) {
    if ((err as { code?: number }).code !== 404) throw err;
    await api.createCustomResourceDefinition({ body: crd });
  }
  await waitFor('CRD Established', async () => {
    const got = await api.readCustomResourceDefinition({ name });
    return got.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
  });
  // Established can precede the first successful list by a moment.
  const objects = kc.makeApiClient(CustomObjectsApi);
  await waitFor('hostnetworks served', async () => {
    await objects.listClusterCustomObject({ group: 'hostnet.io', version: 'v1alpha1', plural: 'hostnetworks' });
    return true;
  });
}

const HN = { group: 'hostnet.io', version: 'v1alpha1', plural: 'hostnetworks' };

/**
 * Leaves the shared control plane as a fresh one for the next suite: every HostNetwork gone
 * (finalizers stripped, so no controller is needed), the allocation ledgers and leases removed.
 * Stop your controllers before calling it.
 */
export async function resetCluster(kc: KubeConfig, namespace = 'default'): Promise<void> {
  const api = kc.makeApiClient(CustomObjectsApi);
  const list = (await api.listClusterCustomObject(HN).catch(() => ({ items: [] }))) as { items: { metadata: { name: string; finalizers?: string[] } }[] };
  const { setHeaderOptions } = await import('@kubernetes/client-node');
  await Promise.all(
    list.items.map(async (o) => {
      if (o.metadata.finalizers?.length) {
        await api
          .patchClusterCustomObject({ ...HN, name: o.metadata.name, body: { metadata: { finalizers: null } } }, setHeaderOptions('Content-Type', 'application/merge-patch+json'))
          .catch(() => undefined);
      }
      await api.deleteClusterCustomObject({ ...HN, name: o.metadata.name }).catch(() => undefined);
    }),
  );
  const { CoreV1Api, CoordinationV1Api } = await import('@kubernetes/client-node');
  const core = kc.makeApiClient(CoreV1Api);
  const cms = await core.listNamespacedConfigMap({ namespace });
  for (const cm of cms.items) {
    if (cm.metadata?.name?.startsWith('hostnet-allocations-')) await core.deleteNamespacedConfigMap({ name: cm.metadata.name, namespace }).catch(() => undefined);
  }
  const leases = await kc.makeApiClient(CoordinationV1Api).listNamespacedLease({ namespace });
  for (const l of leases.items) {
    if (l.metadata?.name?.startsWith('hostnet-controller')) await kc.makeApiClient(CoordinationV1Api).deleteNamespacedLease({ name: l.metadata.name, namespace }).catch(() => undefined);
  }
  await waitFor('hostnetworks deleted', async () => ((await api.listClusterCustomObject(HN)) as { items: unknown[] }).items.length === 0, 30_000);
}
