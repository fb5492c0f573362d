// Kubernetes Events about HostNetworks, what `kubectl describe hn` shows. Like client-go's
// recorder: each object has an Event budget (SpamFilter: a burst, then one Event per 5 minutes),
// repeats of the same event within 10 minutes bump a count instead of piling up, and events go
// out in the background (bounded), so a slow API server never stalls a reconcile. What is kept
// per object goes when the object goes (forget).
import { CoreV1Api, setHeaderOptions, type CoreV1Event, type KubeConfig } from '@kubernetes/client-node';
import PQueue from 'p-queue';
import { randomBytes } from 'node:crypto';
import { API_VERSION, KIND, type HostNetwork } from '../api/types.js';
import type { EventReason } from '../api/conditions.js';
import type { Logger } from '../logger.js';
import { describeKubeError, kubeStatusCode } from './errors.js';
import { DEFAULT_SPAM_FILTER, SpamFilter, type SpamFilterOptions } from './spamfilter.js';

export type EventType = 'Normal' | 'Warning';

export interface EventSink {
  emit(obj: HostNetwork, type: EventType, reason: EventReason, message: string): void;
  /** The object is gone for good: drop what is kept about it (once its pending Events are out). */
  forget(obj: HostNetwork): void;
}

export interface EventRecorderOptions {
  /** The per-object budget (default: client-go's, burst 25 and one Event per 5 minutes). */
  spam?: SpamFilterOptions;
  now?: () => number;
  /** Events waiting to be written or being written, after every change (for a gauge). */
  onPending?(n: number): void;
  /** An Event not recorded: its object had spent its budget, or the queue was full. */
  onDropped?(reason: 'spam' | 'queueFull'): void;
}

const REPEAT_WINDOW_MS = 10 * 60_000;
const MAX_PENDING = 2000;

interface Written {
  name: string;
  count: number;
  at: number;
}

/** What the recorder keeps about one object: the Events it wrote, for the repeat count. */
interface ObjectEvents {
  recent: Map<string, Written>;
  /** Writes queued or in flight: the entry stays until they are done. */
  inflight: number;
  gone: boolean;
}

function objectKey(obj: HostNetwork): string {
  return obj.metadata.uid ?? obj.metadata.name;
}

export class EventRecorder implements EventSink {
  private readonly api: CoreV1Api;
  private readonly pq = new PQueue({ concurrency: 4 });
  /** Makes every Event name this recorder creates unique (see write()). */
  private sequence = 0;
  private readonly objects = new Map<string, ObjectEvents>();
  private readonly spam: SpamFilter;
  private readonly now: () => number;
  private lastPrune = 0;
  /** Events not recorded: the queue was full. */
  dropped = 0;
  /** Events not recorded: the object had spent its budget (spam filter). */
  filtered = 0;
  private readonly warned = new Set<string>();
  /** Objects whose Events are being dropped by the spam filter (logged once each). */
  private readonly silenced = new Set<string>();

  constructor(
    kc: KubeConfig,
    private readonly namespace: string,
    private readonly component: string,
    private readonly instance: string,
    private readonly log: Logger,
    private readonly opts: EventRecorderOptions = {},
  ) {
    this.api = kc.makeApiClient(CoreV1Api);
    this.now = opts.now ?? Date.now;
    // One recorder is one event source (component + instance), so the object alone is the key.
    this.spam = new SpamFilter(opts.spam ?? DEFAULT_SPAM_FILTER, this.now);
  }

  emit(obj: HostNetwork, type: EventType, reason: EventReason, message: string): void {
    const key = objectKey(obj);
    if (!this.spam.allow(key)) {
      this.filtered++;
      this.opts.onDropped?.('spam');
      // One log line per object while its budget is empty.
      if (!this.silenced.has(key)) {
        this.silenced.add(key);
        this.log.info('too many Events for one HostNetwork; dropping its Events until its budget refills (one per 5 minutes)', { hostnetwork: obj.metadata.name, reason });
      }
      return;
    }
    this.silenced.delete(key);
    if (this.pq.size >= MAX_PENDING) {
      this.dropped++;
      this.opts.onDropped?.('queueFull');
      return;
    }
    const state = this.stateOf(key);
    state.inflight++;
    const text = message.length > 1024 ? `${message.slice(0, 1021)}...` : message;
    void this.pq
      .add(() => this.write(obj, state, type, reason, text))
      .catch((err: unknown) => {
        // Warn once per kind of failure (e.g. a missing RBAC rule), then only at debug.
        const what = `${kubeStatusCode(err) ?? 'error'}`;
        const log = this.warned.has(what) ? this.log.debug.bind(this.log) : this.log.warn.bind(this.log);
        this.warned.add(what);
        log(`event not recorded (namespace ${this.namespace})`, { hostnetwork: obj.metadata.name, reason, error: describeKubeError(err) });
      })
      .finally(() => {
        state.inflight--;
        this.release(key, state);
        this.opts.onPending?.(this.pending);
      });
    this.opts.onPending?.(this.pending);
    this.pruneNow();
  }

  forget(obj: HostNetwork): void {
    const key = objectKey(obj);
    this.spam.forget(key);
    this.silenced.delete(key);
    const state = this.objects.get(key);
    if (!state) return;
    state.gone = true;
    this.release(key, state);
  }

  /** Events queued or being written. */
  get pending(): number {
    return this.pq.size + this.pq.pending;
  }

  /** Sizes of what is kept per object (for tests and the SIGUSR2 dump). */
  debugState(): { objects: number; spamBuckets: number; silenced: number; pending: number; dropped: number; filtered: number } {
    return { objects: this.objects.size, spamBuckets: this.spam.size, silenced: this.silenced.size, pending: this.pending, dropped: this.dropped, filtered: this.filtered };
  }

  private stateOf(key: string): ObjectEvents {
    let state = this.objects.get(key);
    if (!state) {
      state = { recent: new Map(), inflight: 0, gone: false };
      this.objects.set(key, state);
    }
    return state;
  }

  private release(key: string, state: ObjectEvents): void {
    if (state.inflight === 0 && (state.gone || state.recent.size === 0) && this.objects.get(key) === state) this.objects.delete(key);
  }

  /** Now and then: repeat records past the window, and budgets that are full again, go. */
  private pruneNow(): void {
    const t = this.now();
    if (t - this.lastPrune < REPEAT_WINDOW_MS) return;
    this.lastPrune = t;
    for (const [key, state] of this.objects) {
      for (const [k, v] of state.recent) if (t - v.at >= REPEAT_WINDOW_MS) state.recent.delete(k);
      this.release(key, state);
    }
    this.spam.prune();
  }

  private async write(obj: HostNetwork, state: ObjectEvents, type: EventType, reason: string, message: string): Promise<void> {
    const key = `${type}|${reason}|${message}`;
    const now = new Date(this.now());
    const prev = state.recent.get(key);
    if (prev && now.getTime() - prev.at < REPEAT_WINDOW_MS) {
      prev.count++;
      prev.at = now.getTime();
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
    // Unique per process by the sequence number (a random suffix alone collided: 25 Events in one
    // millisecond lost one to AlreadyExists about once in 14 runs); the random part keeps two
    // replicas apart.
    const name = `${obj.metadata.name}.${now.getTime().toString(16)}${(this.sequence++ & 0xffffff).toString(16).padStart(6, '0')}${randomBytes(3).toString('hex')}`;
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
    state.recent.set(key, { name, count: 1, at: now.getTime() });
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
  /** Nothing is kept per object here beyond the list itself, which tests read. */
  forget(): void {}
}
