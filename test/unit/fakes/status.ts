// A StatusWriter over an in-memory object store, for reconciler unit tests. It plays the API
// server (status, finalizers, resourceVersion) and the informer cache at once, and records every
// write in a shared, ordered journal so tests can check what happened before what.
import { isDeepStrictEqual } from 'node:util';
import { FINALIZER, type HostNetwork, type HostNetworkStatus } from '../../../controller/api/types.js';
import type { StatusWriter } from '../../../controller/kube/status.js';

export type JournalEntry =
  | { kind: 'status'; name: string; status: HostNetworkStatus }
  | { kind: 'addFinalizer' | 'removeFinalizer' | 'deleted'; name: string }
  | { kind: 'cloud'; operation: string; detail?: unknown }
  | { kind: 'ledger'; records: Record<string, string> };

const clone = <T>(v: T): T => (v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T));

export class FakeStatusWriter implements StatusWriter {
  readonly objects = new Map<string, HostNetwork>();
  writes = 0;
  private rv = 1;

  constructor(readonly journal: JournalEntry[] = []) {}

  /** Creates or replaces an object (as a user would), bumping generation on spec changes. */
  put(obj: HostNetwork): HostNetwork {
    const prev = this.objects.get(obj.metadata.name);
    const next = clone(obj);
    next.metadata.uid ??= prev?.metadata.uid ?? `uid-${obj.metadata.name}`;
    next.metadata.generation = prev ? (prev.metadata.generation ?? 1) + (isDeepStrictEqual(prev.spec, next.spec) ? 0 : 1) : 1;
    next.metadata.finalizers ??= prev?.metadata.finalizers;
    next.status ??= prev?.status;
    next.metadata.resourceVersion = String(++this.rv);
    this.objects.set(next.metadata.name, next);
    return clone(next);
  }

  /** Marks an object for deletion (kubectl delete with our finalizer on it). */
  markDeleted(name: string): void {
    const o = this.objects.get(name);
    if (!o) return;
    if (!(o.metadata.finalizers ?? []).length) {
      this.objects.delete(name);
      return;
    }
    o.metadata.deletionTimestamp = '2024-01-01T00:00:00Z';
    o.metadata.resourceVersion = String(++this.rv);
  }

  /** What the informer would return. */
  get(name: string): HostNetwork | undefined {
    return clone(this.objects.get(name));
  }

  statusWrites(name?: string): HostNetworkStatus[] {
    return this.journal.flatMap((e) => (e.kind === 'status' && (name === undefined || e.name === name) ? [e.status] : []));
  }

  latest(obj: HostNetwork): HostNetwork {
    return this.get(obj.metadata.name) ?? obj;
  }

  /** Nothing to drop: this fake is the API server itself, not a cache of it. */
  forget(): void {}

  async write(obj: HostNetwork, status: HostNetworkStatus): Promise<HostNetwork> {
    if (isDeepStrictEqual(clone(obj.status ?? {}), clone(status))) return obj;
    const stored = this.objects.get(obj.metadata.name);
    if (!stored) throw Object.assign(new Error(`hostnetworks "${obj.metadata.name}" not found`), { code: 404 });
    stored.status = clone(status);
    stored.metadata.resourceVersion = String(++this.rv);
    this.writes++;
    this.journal.push({ kind: 'status', name: obj.metadata.name, status: clone(status) });
    return clone(stored);
  }

  async addFinalizer(obj: HostNetwork): Promise<HostNetwork> {
    const stored = this.objects.get(obj.metadata.name);
    if (!stored) throw Object.assign(new Error('not found'), { code: 404 });
    stored.metadata.finalizers = [...(stored.metadata.finalizers ?? []), FINALIZER];
    stored.metadata.resourceVersion = String(++this.rv);
    this.journal.push({ kind: 'addFinalizer', name: obj.metadata.name });
    return clone(stored);
  }

  async removeFinalizer(obj: HostNetwork): Promise<void> {
    const stored = this.objects.get(obj.metadata.name);
    if (!stored) return;
    stored.metadata.finalizers = (stored.metadata.finalizers ?? []).filter((f) => f !== FINALIZER);
    this.journal.push({ kind: 'removeFinalizer', name: obj.metadata.name });
    if (stored.metadata.deletionTimestamp && stored.metadata.finalizers.length === 0) {
      this.objects.delete(obj.metadata.name);
      this.journal.push({ kind: 'deleted', name: obj.metadata.name });
    }
  }
}
