// Which installation this controller is. The id goes into every route mark
// ("hostnet:<id>:<host>"), the Lease and the ledger's name, so it decides what this controller
// may modify or delete in a VPC that other installations (other clusters) program too.
//
// An explicit --installation-id always wins. Without one, the id must still differ between two
// management clusters (two installations that both called themselves "default" repaired each
// other's routes forever), and it must not change under an installation that already runs:
//   1. this namespace holds the ledger or the Lease of the id "default" → keep "default" (an
//      installation from before ids were derived: its routes, ledger and Lease carry that name);
//   2. otherwise derive it from the kube-system namespace's UID (unique per cluster, stable for
//      the cluster's life) and this namespace (two installations in one cluster differ too).
import { createHash } from 'node:crypto';
import { CoordinationV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { describeKubeError, kubeStatusCode } from './kube/errors.js';
import { legacyName, shardSelector } from './ledger-format.js';

export const LEGACY_INSTALLATION_ID = 'default';

export type InstallationIdSource = 'flag' | 'legacy' | 'cluster';

export interface InstallationId {
  id: string;
  source: InstallationIdSource;
}

export function leaseName(installationId: string): string {
  return `hostnet-controller-${installationId}`;
}

/**
 * "cluster-<first 8 hex digits of the kube-system UID>-<4 hex digits of the namespace>": short
 * (22 characters), valid for --installation-id, and readable — the first part is what
 * `kubectl get ns kube-system -o jsonpath='{.metadata.uid}'` starts with.
 */
export function deriveInstallationId(kubeSystemUid: string, namespace: string): string {
  const hex = kubeSystemUid.toLowerCase().replace(/[^0-9a-f]/g, '');
  if (hex.length < 8) throw new Error(`kube-system has no usable UID (${JSON.stringify(kubeSystemUid)})`);
  const ns = createHash('sha256').update(namespace).digest('hex').slice(0, 4);
  return `cluster-${hex.slice(0, 8)}-${ns}`;
}

/** What start-up found in the cluster; the decision is pure. */
export interface InstallationFacts {
  explicit?: string;
  legacyLedger: boolean;
  legacyLease: boolean;
  kubeSystemUid?: string;
  namespace: string;
}

export function decideInstallationId(f: InstallationFacts): InstallationId {
  if (f.explicit) return { id: f.explicit, source: 'flag' };
  if (f.legacyLedger || f.legacyLease) return { id: LEGACY_INSTALLATION_ID, source: 'legacy' };
  if (!f.kubeSystemUid) throw new Error('kube-system UID unknown');
  return { id: deriveInstallationId(f.kubeSystemUid, f.namespace), source: 'cluster' };
}

export class InstallationIdError extends Error {}

/** Asks whether something exists; a refusal or an outage becomes one actionable error. */
async function probe(what: string, ask: () => Promise<boolean>): Promise<boolean> {
  try {
    return await ask();
  } catch (err) {
    throw new InstallationIdError(`cannot tell whether ${what} exists (it decides the installation id): ${describeKubeError(err)}; set --installation-id, or let the controller get it`);
  }
}

/** A read by name: false on 404. */
async function found(read: () => Promise<unknown>): Promise<boolean> {
  try {
    await read();
    return true;
  } catch (err) {
    if (kubeStatusCode(err) === 404) return false;
    throw err;
  }
}

/**
 * Reads what decideInstallationId needs. `leaseChecked`: with leader election and the default
 * Lease name, an old replica still holding hostnet-controller-default also counts (a rolling
 * upgrade must keep one Lease, or two leaders would allocate from two ledgers).
 */
export async function resolveInstallationId(
  kc: KubeConfig,
  opts: { explicit?: string; namespace: string; leaseChecked: boolean },
): Promise<InstallationId> {
  if (opts.explicit) return { id: opts.explicit, source: 'flag' };
  const core = kc.makeApiClient(CoreV1Api);
  // The ledger of "default": its pre-sharding ConfigMap (kept, emptied, after migration) or any
  // shard. Listed, not read by name: `list` is what the ledger's RBAC rule grants.
  const legacyLedger = await probe(`the ledger of "${LEGACY_INSTALLATION_ID}" (configmaps ${opts.namespace}/${legacyName(LEGACY_INSTALLATION_ID)}[-*])`, async () => {
    const byName = await core.listNamespacedConfigMap({ namespace: opts.namespace, fieldSelector: `metadata.name=${legacyName(LEGACY_INSTALLATION_ID)}` });
    if (byName.items.length > 0) return true;
    const shards = await core.listNamespacedConfigMap({ namespace: opts.namespace, labelSelector: shardSelector(LEGACY_INSTALLATION_ID), limit: 1 });
    return shards.items.length > 0;
  });
  const legacyLease =
    !legacyLedger &&
    opts.leaseChecked &&
    (await probe(`lease ${opts.namespace}/${leaseName(LEGACY_INSTALLATION_ID)}`, () =>
      found(() => kc.makeApiClient(CoordinationV1Api).readNamespacedLease({ name: leaseName(LEGACY_INSTALLATION_ID), namespace: opts.namespace })),
    ));
  let kubeSystemUid: string | undefined;
  if (!legacyLedger && !legacyLease) {
    try {
      kubeSystemUid = (await core.readNamespace({ name: 'kube-system' })).metadata?.uid;
    } catch (err) {
      throw new InstallationIdError(`cannot read namespace kube-system to derive the installation id: ${describeKubeError(err)}; set --installation-id, or let the controller get namespaces/kube-system`);
    }
    if (!kubeSystemUid) throw new InstallationIdError('namespace kube-system has no UID to derive the installation id from; set --installation-id');
  }
  return decideInstallationId({ legacyLedger, legacyLease, kubeSystemUid, namespace: opts.namespace });
}
