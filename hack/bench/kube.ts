// The benchmark's side of the API server: HostNetwork create/patch/delete with a concurrency
// limit (every request counted, so the controller's share of apiserver_request_total can be told
// apart), a watch that timestamps when each object reaches a state, and the API server's own
// request counters.
import {
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  makeInformer,
  setHeaderOptions,
  type Informer,
  type KubernetesObject,
  type ObjectCache,
} from '@kubernetes/client-node';
import { Agent, request } from 'node:https';
import PQueue from 'p-queue';
import type { HostNetwork } from '../../controller/api/types.js';
import { shareConnections } from '../../controller/kube/connections.js';

export const HN = { group: 'hostnet.io', version: 'v1alpha1', plural: 'hostnetworks' };
const mergePatch = setHeaderOptions('Content-Type', 'application/merge-patch+json');

/** Requests by "VERB resource[/subresource]", the keys of apiserver_request_total. */
export type RequestCounts = Record<string, number>;

export function addCounts(into: RequestCounts, key: string, n = 1): void {
  into[key] = (into[key] ?? 0) + n;
}

export function diffCounts(after: RequestCounts, before: RequestCounts): RequestCounts {
  const out: RequestCounts = {};
  for (const [k, v] of Object.entries(after)) {
    const d = v - (before[k] ?? 0);
    if (d !== 0) out[k] = d;
  }
  return out;
}

export function isReady(o: HostNetwork): boolean {
  return o.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true && o.status?.observedGeneration === o.metadata.generation;
}

export class BenchKube {
  readonly kc = new KubeConfig();
  readonly api: CustomObjectsApi;
  readonly core: CoreV1Api;
  /** Requests this benchmark made (subtracted from the API server's counters). */
  readonly mine: RequestCounts = {};
  private readonly agent = new Agent({ rejectUnauthorized: false, keepAlive: true });
  private readonly closeShared: () => void;

  constructor(
    kubeconfig: string,
    private readonly url: string,
    private readonly token: string,
    readonly concurrency: number,
  ) {
    this.kc.loadFromFile(kubeconfig);
    // Keep-alive connections, as the controller's (a TLS handshake per request would slow the
    // creates and inflate the API floor with handshakes no controller needs).
    const shared = shareConnections(this.kc);
    this.closeShared = shared.close;
    this.api = shared.kc.makeApiClient(CustomObjectsApi);
    this.core = shared.kc.makeApiClient(CoreV1Api);
  }

  /** Runs fn over items with at most `concurrency` in flight; returns per-item completion times. */
  async parallel<T>(items: T[], fn: (item: T) => Promise<void>): Promise<void> {
    const q = new PQueue({ concurrency: this.concurrency });
    const errors: unknown[] = [];
    for (const it of items) void q.add(() => fn(it).catch((e: unknown) => void errors.push(e)));
    await q.onIdle();
    if (errors.length) throw new Error(`${errors.length} of ${items.length} requests failed; first: ${describe(errors[0])}`);
  }

  async create(name: string, instanceID: string): Promise<void> {
    addCounts(this.mine, 'POST hostnetworks');
    await this.api.createClusterCustomObject({ ...HN, body: { apiVersion: 'hostnet.io/v1alpha1', kind: 'HostNetwork', metadata: { name }, spec: { instanceID } } });
  }

  /** A create that returns the stored object (the API floor needs its resourceVersion). */
  async createObject(name: string, instanceID: string): Promise<HostNetwork> {
    addCounts(this.mine, 'POST hostnetworks');
    return (await this.api.createClusterCustomObject({ ...HN, body: { apiVersion: 'hostnet.io/v1alpha1', kind: 'HostNetwork', metadata: { name }, spec: { instanceID } } })) as HostNetwork;
  }

  /** A merge patch of the object (the API floor's finalizer write, as the controller makes it). */
  async patchFloor(name: string, body: object): Promise<void> {
    addCounts(this.mine, 'PATCH hostnetworks');
    await this.api.patchClusterCustomObject({ ...HN, name, body }, mergePatch);
  }

  /** A merge patch of the status subresource (the API floor's status write, as the controller makes it). */
  async patchFloorStatus(name: string, body: object): Promise<void> {
    addCounts(this.mine, 'PATCH hostnetworks/status');
    await this.api.patchClusterCustomObjectStatus({ ...HN, name, body }, mergePatch);
  }

  async setInstance(name: string, instanceID: string): Promise<void> {
    addCounts(this.mine, 'PATCH hostnetworks');
    await this.api.patchClusterCustomObject({ ...HN, name, body: { spec: { instanceID } } }, mergePatch);
  }

  async remove(name: string): Promise<void> {
    addCounts(this.mine, 'DELETE hostnetworks');
    await this.api.deleteClusterCustomObject({ ...HN, name });
  }

  async stripFinalizers(name: string): Promise<void> {
    addCounts(this.mine, 'PATCH hostnetworks');
    await this.api.patchClusterCustomObject({ ...HN, name, body: { metadata: { finalizers: null } } }, mergePatch).catch(() => undefined);
  }

  /** Every shard of the ledger whose pre-sharding name is `name` ("<name>-<a>-<b>"), merged. */
  async ledger(namespace: string, name: string): Promise<Record<string, string> | undefined> {
    addCounts(this.mine, 'LIST configmaps');
    const list = await this.core.listNamespacedConfigMap({ namespace, labelSelector: 'hostnet.io/ledger=shard' });
    const shards = list.items.filter((cm) => cm.metadata?.name?.startsWith(`${name}-`));
    if (shards.length === 0) return undefined;
    return Object.assign({}, ...shards.map((cm) => cm.data ?? {})) as Record<string, string>;
  }

  /** Removes what a size left behind: HostNetworks (finalizers stripped), ledger, Events. */
  async wipe(names: string[], namespace = 'default'): Promise<void> {
    await this.parallel(names, async (n) => {
      await this.stripFinalizers(n);
      addCounts(this.mine, 'DELETE hostnetworks');
      await this.api.deleteClusterCustomObject({ ...HN, name: n }).catch(() => undefined);
    });
    addCounts(this.mine, 'LIST configmaps');
    const cms = await this.core.listNamespacedConfigMap({ namespace });
    for (const cm of cms.items) {
      if (!cm.metadata?.name?.startsWith('hostnet-allocations-')) continue;
      addCounts(this.mine, 'DELETE configmaps');
      await this.core.deleteNamespacedConfigMap({ name: cm.metadata.name, namespace }).catch(() => undefined);
    }
    addCounts(this.mine, 'DELETE events');
    await this.core.deleteCollectionNamespacedEvent({ namespace }).catch(() => undefined);
  }

  /** apiserver_request_total summed by "VERB resource[/subresource]". */
  async requestTotals(): Promise<RequestCounts> {
    addCounts(this.mine, 'GET /metrics');
    const text = await new Promise<string>((resolve, reject) => {
      const req = request(`${this.url}/metrics`, { agent: this.agent, headers: { Authorization: `Bearer ${this.token}` }, timeout: 30_000 }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve(body));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.on('timeout', () => req.destroy(new Error('metrics timed out')));
      req.end();
    });
    const out: RequestCounts = {};
    for (const line of text.split('\n')) {
      if (!line.startsWith('apiserver_request_total{')) continue;
      const m = /^apiserver_request_total\{(.*)\} (\S+)$/.exec(line);
      if (!m) continue;
      const labels = Object.fromEntries([...m[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
      const resource = labels.resource ? `${labels.resource}${labels.subresource ? `/${labels.subresource}` : ''}` : (labels.subresource ?? '');
      addCounts(out, `${labels.verb} ${resource}`, Number(m[2]));
    }
    return out;
  }

  close(): void {
    this.agent.destroy();
    this.closeShared();
  }
}

function describe(err: unknown): string {
  const e = err as { code?: number; body?: unknown; message?: string };
  return `${e.code ?? ''} ${typeof e.body === 'string' ? e.body.slice(0, 300) : (e.message ?? String(err))}`;
}

/**
 * Watches every HostNetwork and timestamps, per object, the first moment it satisfies what is
 * expected of it (Ready, Ready on a new next hop, gone).
 */
export class Tracker {
  private informer?: Informer<KubernetesObject> & ObjectCache<KubernetesObject>;
  private readonly waiting = new Map<string, { since: number; want: (o: HostNetwork) => boolean }>();
  private readonly waitingGone = new Map<string, number>();
  private stopped = false;
  /** Completed waits of the current measurement: name → ms. */
  done = new Map<string, number>();
  doneGone = new Map<string, number>();
  lastDoneAt = 0;

  constructor(private readonly bk: BenchKube) {}

  async start(): Promise<void> {
    const path = `/apis/${HN.group}/${HN.version}/${HN.plural}`;
    const list = async () => {
      addCounts(this.bk.mine, 'LIST hostnetworks');
      return (await this.bk.api.listClusterCustomObject({ ...HN })) as never;
    };
    const inf = makeInformer(this.bk.kc, path, list);
    this.informer = inf;
    const seen = (o: KubernetesObject): void => this.check(o as HostNetwork);
    inf.on('add', seen);
    inf.on('update', seen);
    inf.on('delete', (o) => {
      const name = o.metadata?.name ?? '';
      const since = this.waitingGone.get(name);
      if (since !== undefined) {
        this.waitingGone.delete(name);
        this.doneGone.set(name, Date.now() - since);
        this.lastDoneAt = Date.now();
      }
    });
    inf.on('error', () => {
      if (this.stopped) return;
      setTimeout(() => {
        if (this.stopped) return;
        addCounts(this.bk.mine, 'WATCH hostnetworks');
        void inf.start().catch(() => undefined);
      }, 500);
    });
    addCounts(this.bk.mine, 'WATCH hostnetworks');
    await inf.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.informer?.stop().catch(() => undefined);
  }

  list(): HostNetwork[] {
    return (this.informer?.list() ?? []) as HostNetwork[];
  }

  get(name: string): HostNetwork | undefined {
    return this.informer?.get(name) as HostNetwork | undefined;
  }

  /** Starts a new measurement. */
  reset(): void {
    this.waiting.clear();
    this.waitingGone.clear();
    this.done = new Map();
    this.doneGone = new Map();
    this.lastDoneAt = 0;
  }

  /** Times `name` from `since` until `want` holds for it (checked now and on every event). */
  expect(name: string, since: number, want: (o: HostNetwork) => boolean = isReady): void {
    this.waiting.set(name, { since, want });
    const o = this.get(name);
    if (o) this.check(o);
  }

  /** Stops waiting for `name` to satisfy its expectation (it is being deleted). */
  cancel(name: string): void {
    this.waiting.delete(name);
  }

  expectGone(name: string, since: number): void {
    if (!this.get(name) && this.informer) {
      // Already gone (the delete event may have come first).
      this.doneGone.set(name, Date.now() - since);
      this.lastDoneAt = Date.now();
      return;
    }
    this.waitingGone.set(name, since);
  }

  get pending(): number {
    return this.waiting.size + this.waitingGone.size;
  }

  private check(o: HostNetwork): void {
    const w = this.waiting.get(o.metadata.name);
    if (!w || !w.want(o)) return;
    this.waiting.delete(o.metadata.name);
    this.done.set(o.metadata.name, Date.now() - w.since);
    this.lastDoneAt = Date.now();
  }
}
