// The HostNetwork informer (client-node's ListWatch) made safe for a long-running controller.
// client-node 1.4 stops the informer for good on any stream error other than 410, has no watch
// timeout, and its stop() itself raises an error event. This wrapper restarts after errors
// (with backoff), ignores the errors its own stop() causes, and runs a watchdog that restarts a
// watch that went silent (and cuts one that does not answer at all: watch-deadline.ts).
// Objects are slimmed on the way into the cache (slimHostNetwork): managedFields and kubectl's
// last-applied copy of the object are dropped, as client-go's informers allow with a transform.
import { ListWatch, type Informer, type KubeConfig, type KubernetesObject, type ObjectCache } from '@kubernetes/client-node';
import { GROUP, PLURAL, VERSION, type HostNetwork } from '../api/types.js';
import type { Logger } from '../logger.js';
import { describeKubeError, kubeStatusCode } from './errors.js';
import { listWithoutManagedFields } from './list.js';
import { WatchWithResponseDeadline } from './watch-deadline.js';

export interface InformerHandlers {
  onAdd(obj: HostNetwork): void;
  onUpdate(obj: HostNetwork): void;
  onDelete(obj: HostNetwork): void;
}

/** The annotation kubectl apply keeps a whole copy of the object in; nothing here reads it. */
export const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * What the cache keeps of a HostNetwork: everything but metadata.managedFields (the server-side
 * apply bookkeeping: per field manager a tree of every field it set, typically larger than the
 * rest of the object together) and the last-applied annotation (a JSON copy of the spec). The
 * controller never reads either; status patches are merge patches of the status subresource and
 * the finalizer patch carries metadata.resourceVersion, both of which stay. Modifies and returns
 * obj: it comes straight from a list or watch answer and nothing else holds it.
 */
export function slimHostNetwork<T extends { metadata?: object }>(obj: T): T {
  const md = obj?.metadata as { managedFields?: unknown; annotations?: Record<string, string> } | undefined;
  if (!md) return obj;
  delete md.managedFields;
  if (md.annotations && LAST_APPLIED in md.annotations) {
    delete md.annotations[LAST_APPLIED];
    if (Object.keys(md.annotations).length === 0) delete md.annotations;
  }
  return obj;
}

/** The deadline watch, with every object slimmed before the informer caches it. */
class SlimmingWatch extends WatchWithResponseDeadline {
  override watch(...[path, queryParams, callback, done]: Parameters<WatchWithResponseDeadline['watch']>): Promise<AbortController> {
    return super.watch(path, queryParams, (phase: string, obj: unknown, watchObj?: unknown) => callback(phase, slimHostNetwork(obj as { metadata?: object }), watchObj), done);
  }
}

export class HostNetworkInformer {
  private informer: Informer<KubernetesObject> & ObjectCache<KubernetesObject>;
  private restarting = false;
  private stopped = true;
  private lastActivity = Date.now();
  private watchdog?: NodeJS.Timeout;
  private retryTimer?: NodeJS.Timeout;
  private errorsInARow = 0;
  private errorDuringRestart: unknown;
  private readonly path = `/apis/${GROUP}/${VERSION}/${PLURAL}`;
  /** Times the watch was restarted by the watchdog or after an error (for tests and logs). */
  restarts = 0;

  constructor(
    kc: KubeConfig,
    private readonly log: Logger,
    private readonly idleTimeoutMs: number,
    handlers: InformerHandlers,
    /** Only objects matching this field selector (e.g. spec.instanceID=<id>: the host agent's own). */
    private readonly fieldSelector?: string,
  ) {
    const path = this.path;
    // The first list of the process, into an empty cache, is served from the API server's watch
    // cache (resourceVersion=0, as client-go's reflector does): a quorum read of 5,000 objects
    // from etcd was most of a restart's time to Ready (issue 16). That cache can be behind etcd,
    // so a host created just before the restart may be missing from this list; the watch that
    // follows starts at the list's resourceVersion and delivers it. Meanwhile nothing of it is
    // lost: its block is released, and its route deleted, only once a direct read has confirmed
    // it gone (Reconciler.forgetGone → confirmGone; routes/orphans.ts keeps the route until then),
    // and the ledger keeps the record of a host it cannot see. A relist (after a watch failure) is
    // a consistent read: a lagging API server must not take the cache back in time.
    let listed = false;
    const list = async () => {
      const fromWatchCache = !listed;
      // Read by listWithoutManagedFields (list.ts): the memory of a 5,000-object answer.
      const res = await listWithoutManagedFields<HostNetwork>(kc, path, {
        ...(fieldSelector ? { fieldSelector } : {}),
        ...(fromWatchCache ? { resourceVersion: '0' } : {}),
      });
      listed = true;
      for (const item of res.items) slimHostNetwork(item);
      return res as never;
    };
    // A watch that does not even answer within the idle timeout is as silent as one that stopped
    // talking; without the deadline it would hang start() and so every later restart.
    this.informer = new ListWatch(path, new SlimmingWatch(kc, idleTimeoutMs), list, false, undefined, fieldSelector);
    const seen = (): void => {
      this.lastActivity = Date.now();
      // Only a working watch ends a run of failures: the relist of a restart delivers news too,
      // and a watch refused every time must not be retried (and re-listed) at the fastest pace.
      if (!this.restarting) this.errorsInARow = 0;
    };
    this.informer.on('add', (o) => (seen(), handlers.onAdd(o as HostNetwork)));
    this.informer.on('update', (o) => (seen(), handlers.onUpdate(o as HostNetwork)));
    this.informer.on('delete', (o) => (seen(), handlers.onDelete(o as HostNetwork)));
    this.informer.on('connect', () => {
      this.lastActivity = Date.now();
    });
    this.informer.on('error', (err: unknown) => this.onError(err));
  }

  /** Lists, fills the cache, starts watching. Resolves once the cache holds the initial list. */
  async start(): Promise<void> {
    this.stopped = false;
    this.lastActivity = Date.now();
    await this.informer.start();
    const every = Math.max(250, Math.floor(this.idleTimeoutMs / 4));
    this.watchdog = setInterval(() => this.checkIdle(), every);
    this.watchdog.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.watchdog) clearInterval(this.watchdog);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.informer.stop();
  }

  list(): HostNetwork[] {
    return this.informer.list() as HostNetwork[];
  }

  get(name: string): HostNetwork | undefined {
    return this.informer.get(name) as HostNetwork | undefined;
  }

  private checkIdle(): void {
    if (this.stopped || this.restarting) return;
    const idle = Date.now() - this.lastActivity;
    if (idle >= this.idleTimeoutMs) {
      this.log.warn('watch silent; restarting it', { idleMs: idle });
      void this.restart();
    }
  }

  private onError(err: unknown): void {
    // stop() aborts the request and client-node reports that as an error: ours, not a failure.
    if (this.stopped || isAbort(err)) return;
    if (this.restarting) {
      this.errorDuringRestart = err;
      return;
    }
    this.errorsInARow++;
    const delay = Math.min(30_000, 500 * 2 ** Math.min(this.errorsInARow - 1, 6)) * (0.8 + Math.random() * 0.4);
    const code = kubeStatusCode(err);
    const hint = code === 401 || code === 403 ? ' (check the RBAC rule for list and watch on hostnetworks.hostnet.io)' : '';
    this.log.warn(`watch failed; restarting it${hint}`, { path: this.path, status: code, error: describeKubeError(err), retryInMs: Math.round(delay) });
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => void this.restart({ relist: true }), delay);
    this.retryTimer.unref();
  }

  /**
   * `relist` after a failed watch: a watch that keeps failing (403 without the RBAC verb, a proxy
   * that cuts it) would otherwise resume from the same resource version for ever and the cache
   * would never learn anything new; a list brings it up to date, deletes included (what
   * client-go's reflector does too). A silent watch just resumes.
   */
  private async restart(opts: { relist?: boolean } = {}): Promise<void> {
    if (this.stopped || this.restarting) return;
    this.restarting = true;
    this.restarts++;
    try {
      await this.informer.stop();
      // client-node has no public way to ask for a relist; it relists when this is empty (as after a 410).
      if (opts.relist) (this.informer as unknown as { resourceVersion: string }).resourceVersion = '';
      this.errorDuringRestart = undefined;
      this.lastActivity = Date.now();
      // start() relists when the resource version is gone (410, or forgotten above) and resumes the watch otherwise.
      // A failed list does not throw: client-node reports it as an error event.
      await this.informer.start();
    } catch (err) {
      this.errorDuringRestart ??= err;
    }
    this.restarting = false;
    const failed = this.errorDuringRestart;
    this.errorDuringRestart = undefined;
    if (failed !== undefined) this.onError(failed);
  }
}

function isAbort(err: unknown): boolean {
  const e = err as { name?: string; type?: string; message?: string } | undefined;
  return e?.name === 'AbortError' || e?.type === 'aborted' || /aborted/i.test(e?.message ?? '');
}
