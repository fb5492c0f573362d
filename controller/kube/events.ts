// Kubernetes Events about HostNetworks, what `kubectl describe hn` shows. Like client-go's
// recorder: repeats of the same event within 10 minutes bump a count instead of piling up, and
// events go out in the background (bounded), so a slow API server never stalls a reconcile.
import { CoreV1Api, setHeaderOptions, type CoreV1Event, type KubeConfig } from '@kubernetes/client-node';
import PQueue from 'p-queue';
import { API_VERSION, KIND, type HostNetwork } from '../api/types.js';
import type { EventReason } from '../api/conditions.js';
import type { Logger } from '../logger.js';
import { describeKubeError, kubeStatusCode } from './errors.js';

export type EventType = 'Normal' | 'Warning';

export interface EventSink {
  emit(obj: HostNetwork, type: EventType, reason: EventReason, message: string): void;
}

const REPEAT_WINDOW_MS = 10 * 60_000;
const MAX_PENDING = 2000;

export class EventRecorder implements EventSink {
  private readonly api: CoreV1Api;
  private readonly pq = new PQueue({ concurrency: 4 });
  private readonly recent = new Map<string, { name: string; count: number; first: Date; at: number }>();
  dropped = 0;
  private readonly warned = new Set<string>();

  constructor(
    kc: KubeConfig,
    private readonly namespace: string,
    private readonly component: string,
    private readonly instance: string,
    private readonly log: Logger,
  ) {
    this.api = kc.makeApiClient(CoreV1Api);
  }

  emit(obj: HostNetwork, type: EventType, reason: EventReason, message: string): void {
    if (this.pq.size >= MAX_PENDING) {
      this.dropped++;
      return;
    }
    const text = message.length > 1024 ? `${message.slice(0, 1021)}...` : message;
    void this.pq.add(() => this.write(obj, type, reason, text)).catch((err: unknown) => {
      // Warn once per kind of failure (e.g. a missing RBAC rule), then only at debug.
      const what = `${kubeStatusCode(err) ?? 'error'}`;
      const log = this.warned.has(what) ? this.log.debug.bind(this.log) : this.log.warn.bind(this.log);
      this.warned.add(what);
      log(`event not recorded (namespace ${this.namespace})`, { hostnetwork: obj.metadata.name, reason, error: describeKubeError(err) });
    });
  }

  private async write(obj: HostNetwork, type: EventType, reason: string, message: string): Promise<void> {
    const key = `${obj.metadata.uid ?? obj.metadata.name}|${type}|${reason}|${message}`;
    const now = new Date();
    const prev = this.recent.get(key);
    if (prev && Date.now() - prev.at < REPEAT_WINDOW_MS) {
      prev.count++;
      prev.at = Date.now();
      try {
        await this.api.patchNamespacedEvent(
          { name: prev.name, namespace: this.namespace, body: { count: prev.count, lastTimestamp: now } },
          setHeaderOptions('Content-Type', 'application/merge-patch+json'),
        );
        return;
      } catch (err) {
        // Expired or deleted: create a new one. Anything else (a 403) is a real failure.
        if (kubeStatusCode(err) !== 404) throw err;
      }
    }
    const name = `${obj.metadata.name}.${now.getTime().toString(16)}${Math.floor(Math.random() * 0xfff).toString(16)}`;
    const body: CoreV1Event = {
      metadata: { name, namespace: this.namespace },
      involvedObject: { apiVersion: API_VERSION, kind: KIND, name: obj.metadata.name, uid: obj.metadata.uid, resourceVersion: obj.metadata.resourceVersion },
      reason,
      message,
      type,
      count: 1,
      firstTimestamp: now,
      lastTimestamp: now,
      source: { component: this.component },
      reportingComponent: this.component,
      reportingInstance: this.instance,
    };
    await this.api.createNamespacedEvent({ namespace: this.namespace, body });
    this.recent.set(key, { name, count: 1, first: now, at: Date.now() });
    if (this.recent.size > 10_000) {
      for (const [k, v] of this.recent) if (Date.now() - v.at > REPEAT_WINDOW_MS) this.recent.delete(k);
    }
  }

  async flush(timeoutMs = 2000): Promise<void> {
    await Promise.race([this.pq.onIdle(), new Promise((r) => setTimeout(r, timeoutMs).unref())]);
  }
}

/** Keeps events in memory: for unit tests. */
export class MemoryEventSink implements EventSink {
  readonly events: { name: string; type: EventType; reason: string; message: string }[] = [];
  emit(obj: HostNetwork, type: EventType, reason: EventReason, message: string): void {
    this.events.push({ name: obj.metadata.name, type, reason, message });
  }
}
