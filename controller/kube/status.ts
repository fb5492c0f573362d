// The one place that writes HostNetworks: status (server-side apply on the status subresource,
// field manager hostnet-controller, carrying only the controller's own fields and conditions)
// and the finalizer (merge patch guarded by resourceVersion). It also remembers what it wrote, so
// a reconcile that runs again before the informer has caught up starts from the newest status.
import { CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { isDeepStrictEqual } from 'node:util';
import { API_VERSION, FINALIZER, GROUP, KIND, PLURAL, VERSION, type HostNetwork, type HostNetworkStatus } from '../api/types.js';
import { slimHostNetwork } from './informer.js';
import { controllerStatus, leftoverRemovals } from './status-fields.js';

/** The controller's field manager for its status applies (the agent's is hostnet-agent). */
export const FIELD_MANAGER = 'hostnet-controller';

export interface StatusWriter {
  /**
   * Writes the controller's part of status (every field but other managers' conditions, such as
   * the agent's HostConfigured) when it differs from obj's; returns the object as now stored (obj
   * itself when nothing was written), other managers' conditions included. A field of the
   * controller's that `status` leaves out is removed. obj is never modified: it may be the
   * informer's cached copy.
   */
  write(obj: HostNetwork, status: HostNetworkStatus): Promise<HostNetwork>;
  addFinalizer(obj: HostNetwork): Promise<HostNetwork>;
  removeFinalizer(obj: HostNetwork): Promise<void>;
  /** obj, or the newer copy this writer produced when the cache has not caught up yet. */
  latest(obj: HostNetwork): HostNetwork;
  /** The object is gone: drop the copy kept of it. */
  forget(name: string): void;
  /**
   * obj is exactly what this writer last stored (same uid and resourceVersion): the watch event
   * of our own write, which tells the reconciler nothing it did not know.
   */
  isOwnWrite?(obj: HostNetwork): boolean;
  /** Status writes made (for tests and the benchmark). */
  readonly writes: number;
}

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const apply = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);
const jsonPatch = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);

function rvNewer(a: string | undefined, b: string | undefined): boolean {
  // resourceVersions are opaque, but etcd's are increasing integers; fall back to "not newer".
  const x = Number(a);
  const y = Number(b);
  return Number.isFinite(x) && Number.isFinite(y) && x > y;
}

export class KubeStatusWriter implements StatusWriter {
  private readonly api: CustomObjectsApi;
  private readonly written = new Map<string, HostNetwork>();
  writes = 0;

  constructor(kc: KubeConfig) {
    this.api = kc.makeApiClient(CustomObjectsApi);
  }

  latest(obj: HostNetwork): HostNetwork {
    const mine = this.written.get(obj.metadata.name);
    if (!mine) return obj;
    if (mine.metadata.uid !== obj.metadata.uid || !rvNewer(mine.metadata.resourceVersion, obj.metadata.resourceVersion)) {
      this.written.delete(obj.metadata.name);
      return obj;
    }
    return mine;
  }

  forget(name: string): void {
    this.written.delete(name);
  }

  isOwnWrite(obj: HostNetwork): boolean {
    const mine = this.written.get(obj.metadata.name);
    return mine !== undefined && mine.metadata.uid === obj.metadata.uid && mine.metadata.resourceVersion === obj.metadata.resourceVersion;
  }

  /** Copies kept (one per host written since the cache last caught up; for tests). */
  get remembered(): number {
    return this.written.size;
  }

  /** Kept slim, like the informer's copies: managedFields alone can outweigh the rest. */
  private remember(obj: HostNetwork): void {
    this.written.set(obj.metadata.name, slimHostNetwork(obj));
    if (this.written.size > 50_000) this.written.clear();
  }

  async write(obj: HostNetwork, status: HostNetworkStatus): Promise<HostNetwork> {
    const mine = controllerStatus(status);
    if (isDeepStrictEqual(controllerStatus(obj.status), mine)) return obj;
    const name = obj.metadata.name;
    // Server-side apply: the server merges this into the stored status, so a condition the agent
    // applied after our read stays as the agent wrote it (a merge patch built from our read would
    // have put back the copy we read). force: the controller's fields are the controller's; a
    // hand edit of one (kubectl edit --subresource=status) is taken back, as a merge patch did.
    let updated = (await this.api.patchClusterCustomObjectStatus(
      { group: GROUP, version: VERSION, plural: PLURAL, name, body: { apiVersion: API_VERSION, kind: KIND, metadata: { name }, status: mine }, fieldManager: FIELD_MANAGER, force: true },
      apply,
    )) as HostNetwork;
    // A field left out is removed only when we owned it alone; one also owned by the merge
    // patches of a version before this one (an upgraded object) survives the apply. Removed once
    // with a guarded JSON patch; a field the apply writes again afterwards is ours alone. A test
    // that fails (the field changed in between: 422) fails this write, and the pass is retried.
    const leftover = leftoverRemovals(updated.status, mine);
    if (leftover.length > 0) {
      updated = (await this.api.patchClusterCustomObjectStatus({ group: GROUP, version: VERSION, plural: PLURAL, name, body: leftover, fieldManager: FIELD_MANAGER }, jsonPatch)) as HostNetwork;
    }
    this.writes++;
    this.remember(updated);
    return updated;
  }

  async addFinalizer(obj: HostNetwork): Promise<HostNetwork> {
    const finalizers = [...(obj.metadata.finalizers ?? []), FINALIZER];
    const updated = (await this.api.patchClusterCustomObject(
      { group: GROUP, version: VERSION, plural: PLURAL, name: obj.metadata.name, body: { metadata: { finalizers, resourceVersion: obj.metadata.resourceVersion } } },
      mergePatch,
    )) as HostNetwork;
    this.remember(updated);
    return updated;
  }

  async removeFinalizer(obj: HostNetwork): Promise<void> {
    const finalizers = (obj.metadata.finalizers ?? []).filter((f) => f !== FINALIZER);
    try {
      await this.api.patchClusterCustomObject(
        { group: GROUP, version: VERSION, plural: PLURAL, name: obj.metadata.name, body: { metadata: { finalizers, resourceVersion: obj.metadata.resourceVersion } } },
        mergePatch,
      );
    } catch (err) {
      if ((err as { code?: number }).code !== 404) throw err;
    }
    this.written.delete(obj.metadata.name);
  }
}
