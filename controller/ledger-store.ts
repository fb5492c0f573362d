// Where the ledger lives: sharded ConfigMaps (ConfigMapLedgerStore) or memory (unit tests).
// A store only reads and compare-and-swaps shards; every decision is the Ledger's (ledger.ts).
import { CoreV1Api, type KubeConfig, type V1ConfigMap } from '@kubernetes/client-node';
import {
  Annotation,
  LEDGER_FORMAT,
  decodeShard,
  encodeShard,
  labelsFor,
  legacyName,
  shardKeyOf,
  shardName,
  shardSelector,
  type LedgerMeta,
} from './ledger-format.js';

export interface LedgerShard {
  records: Map<string, string>; // block → owner (HostNetwork name)
  version: string; // opaque; '' when the shard does not exist yet
  meta?: LedgerMeta;
}

export interface LedgerSnapshot {
  shards: Map<string, LedgerShard>;
  /** A format 1 ledger (one ConfigMap, before sharding) that still holds records to migrate. */
  legacy?: { records: Map<string, string>; version: string };
}

export class LedgerConflict extends Error {}

export interface LedgerStore {
  read(): Promise<LedgerSnapshot>;
  /** The shard a block's record belongs to. */
  shardOf(block: string): string;
  /** Writes one shard if its stored version is still `version` ('' = create); throws LedgerConflict otherwise. */
  writeShard(key: string, records: Map<string, string>, meta: LedgerMeta, version: string): Promise<string>;
  /** Empties the format 1 ledger once its records are in shards (compare-and-swap on `version`). */
  retireLegacy(version: string): Promise<void>;
  readonly description: string;
}

/** The ledger in ConfigMaps of the controller's namespace, one per /16 (see ledger-format.ts). */
export class ConfigMapLedgerStore implements LedgerStore {
  private readonly api: CoreV1Api;
  readonly description: string;

  constructor(
    kc: KubeConfig,
    private readonly namespace: string,
    private readonly installationId: string,
    /** Objects per list page: bounds one response while shards are read. */
    private readonly pageSize = 64,
  ) {
    this.api = kc.makeApiClient(CoreV1Api);
    this.description = `configmaps ${namespace}/${shardName(installationId, '*')}`;
  }

  shardOf(block: string): string {
    return shardKeyOf(block);
  }

  async read(): Promise<LedgerSnapshot> {
    const shards = new Map<string, LedgerShard>();
    const prefix = `${shardName(this.installationId, '')}`;
    let cont: string | undefined;
    do {
      const page = await this.api.listNamespacedConfigMap({ namespace: this.namespace, labelSelector: shardSelector(this.installationId), limit: this.pageSize, _continue: cont });
      for (const cm of page.items) {
        const name = cm.metadata?.name ?? '';
        if (!name.startsWith(prefix)) continue;
        const d = decodeShard(name, cm.data, cm.metadata?.annotations);
        shards.set(name.slice(prefix.length), { records: d.records, version: cm.metadata?.resourceVersion ?? '', meta: d.meta });
      }
      cont = page.metadata?._continue || undefined;
    } while (cont);
    return { shards, legacy: await this.readLegacy() };
  }

  /**
   * The format 1 ledger is found by its label like the shards, without the shard label, so that no
   * `get` by name is needed; one that was migrated carries the annotation and no data.
   */
  private async readLegacy(): Promise<LedgerSnapshot['legacy']> {
    const name = legacyName(this.installationId);
    const list = await this.api.listNamespacedConfigMap({ namespace: this.namespace, fieldSelector: `metadata.name=${name}` });
    const cm = list.items[0];
    if (!cm || cm.metadata?.annotations?.[Annotation.migrated] !== undefined) return undefined;
    const d = decodeShard(name, cm.data, cm.metadata?.annotations);
    if (d.records.size === 0) return undefined;
    return { records: d.records, version: cm.metadata?.resourceVersion ?? '' };
  }

  async writeShard(key: string, records: Map<string, string>, meta: LedgerMeta, version: string): Promise<string> {
    const name = shardName(this.installationId, key);
    const enc = encodeShard(key, records, meta);
    const body: V1ConfigMap = { metadata: { name, namespace: this.namespace, labels: labelsFor(this.installationId), annotations: enc.annotations }, data: enc.data };
    return this.cas(name, body, version);
  }

  async retireLegacy(version: string): Promise<void> {
    const name = legacyName(this.installationId);
    const body: V1ConfigMap = {
      metadata: {
        name,
        namespace: this.namespace,
        labels: { 'app.kubernetes.io/name': 'hostnet-controller', 'hostnet.io/installation': this.installationId },
        annotations: { [Annotation.migrated]: String(LEDGER_FORMAT), [Annotation.purpose]: `Migrated: the records are in the ConfigMaps ${shardName(this.installationId, '<a>-<b>')}.` },
      },
      data: {},
    };
    await this.cas(name, body, version);
  }

  private async cas(name: string, body: V1ConfigMap, version: string): Promise<string> {
    try {
      if (version === '') {
        const created = await this.api.createNamespacedConfigMap({ namespace: this.namespace, body });
        return created.metadata?.resourceVersion ?? '';
      }
      body.metadata!.resourceVersion = version;
      const replaced = await this.api.replaceNamespacedConfigMap({ name, namespace: this.namespace, body });
      return replaced.metadata?.resourceVersion ?? '';
    } catch (err) {
      const code = (err as { code?: number }).code;
      // 409: somebody wrote (or created) it first. 404: somebody deleted it. Either way what we
      // decided from is gone: the caller rereads, notices what changed and decides again.
      if (code === 409) throw new LedgerConflict(`configmap ${this.namespace}/${name} changed concurrently`);
      if (code === 404) throw new LedgerConflict(`configmap ${this.namespace}/${name} was deleted`);
      throw err;
    }
  }
}

/**
 * The ledger in memory, for unit tests; can inject conflicts. Unsharded by default (one shard
 * "all", so `records`/`version` are the whole ledger); `sharded` cuts it like the ConfigMaps.
 */
export class MemoryLedgerStore implements LedgerStore {
  records = new Map<string, string>();
  version = 0;
  /** Shards other than "all" (when sharded). */
  readonly shards = new Map<string, { records: Map<string, string>; version: number; meta?: LedgerMeta }>();
  meta?: LedgerMeta;
  legacy?: { records: Map<string, string>; version: number };
  readonly description = 'memory';
  /** Called before each write; may change `records`/`version` to simulate another writer. */
  beforeWrite?: () => void;

  constructor(private readonly sharded = false) {}

  shardOf(block: string): string {
    return this.sharded ? shardKeyOf(block) : 'all';
  }

  async read(): Promise<LedgerSnapshot> {
    const shards = new Map<string, LedgerShard>();
    if (this.version !== 0) shards.set('all', { records: new Map(this.records), version: String(this.version), meta: this.meta });
    for (const [k, s] of this.shards) shards.set(k, { records: new Map(s.records), version: String(s.version), meta: s.meta });
    const legacy = this.legacy && this.legacy.records.size > 0 ? { records: new Map(this.legacy.records), version: String(this.legacy.version) } : undefined;
    return { shards, legacy };
  }

  async writeShard(key: string, records: Map<string, string>, meta: LedgerMeta, version: string): Promise<string> {
    this.beforeWrite?.();
    if (key === 'all' && !this.sharded) {
      const current = this.version === 0 ? '' : String(this.version);
      if (version !== current) throw new LedgerConflict('memory ledger changed');
      this.records = new Map(records);
      this.meta = meta;
      this.version++;
      return String(this.version);
    }
    const s = this.shards.get(key);
    if (version !== (s ? String(s.version) : '')) throw new LedgerConflict(`memory ledger shard ${key} changed`);
    const next = { records: new Map(records), version: (s?.version ?? 0) + 1, meta };
    this.shards.set(key, next);
    return String(next.version);
  }

  async retireLegacy(version: string): Promise<void> {
    if (!this.legacy || String(this.legacy.version) !== version) throw new LedgerConflict('memory legacy ledger changed');
    this.legacy = { records: new Map(), version: this.legacy.version + 1 };
  }

  /** Every record of every shard, for assertions. */
  all(): Map<string, string> {
    const out = new Map(this.records);
    for (const s of this.shards.values()) for (const [b, o] of s.records) out.set(b, o);
    return out;
  }
}
