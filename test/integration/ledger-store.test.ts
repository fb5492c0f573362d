// The sharded ledger store against the real kube-apiserver, without HostNetworks: a /8 pool cut
// into /24s (65,536 records, far past one ConfigMap's 1 MiB) is written, reloaded and checked;
// a format 1 ledger (one ConfigMap) is migrated into shards without losing a record.
import assert from 'node:assert/strict';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { BlockAllocator } from '../../controller/allocator.js';
import { ConfigMapLedgerStore, Ledger } from '../../controller/ledger.js';
import { SHARD_LIMIT_BYTES, legacyName } from '../../controller/ledger-format.js';
import { silentLogger } from '../../controller/logger.js';
import { freshCluster } from '../helpers/controller.js';
import { resetCluster } from '../helpers/kube.js';

const NS = 'default';

describe('ledger store: sharded ConfigMaps (real API server)', function () {
  this.timeout(120_000);
  let kc: KubeConfig;

  before(async () => {
    ({ kc } = await freshCluster());
  });

  afterEach(async () => {
    await resetCluster(kc);
  });

  it('records 65,536 blocks of a /8 cut into /24s, reloads them all, and refuses none', async () => {
    const id = 'scale';
    const store = new ConfigMapLedgerStore(kc, NS, id);
    const ledger = new Ledger(store, new BlockAllocator('10.0.0.0/8', 24), silentLogger());
    await ledger.load();
    const results = await Promise.all(Array.from({ length: 65_536 }, (_, i) => ledger.assign({ owner: `host-${String(i).padStart(5, '0')}` })));
    const blocks = new Set(results.map((r) => ('block' in r ? r.block : JSON.stringify(r))));
    assert.equal(blocks.size, 65_536, 'every host got its own block');
    assert.ok(ledger.stats().fillRatio < 0.5, `the largest shard is ${ledger.stats().largestShardBytes} bytes`);

    // What the API server holds: one ConfigMap per /16, each well under the object limit.
    const list = await kc.makeApiClient(CoreV1Api).listNamespacedConfigMap({ namespace: NS, labelSelector: `hostnet.io/installation=${id}` });
    assert.equal(list.items.length, 256);
    let stored = 0;
    for (const cm of list.items) {
      const bytes = Object.entries(cm.data ?? {}).reduce((n, [k, v]) => n + k.length + v.length, 0);
      assert.ok(bytes < SHARD_LIMIT_BYTES, `${cm.metadata?.name}: ${bytes} bytes`);
      stored += Object.keys(cm.data ?? {}).length;
    }
    assert.equal(stored, 65_536);

    // A fresh process reloads every record, and the pool is full.
    const reloaded = new Ledger(new ConfigMapLedgerStore(kc, NS, id), new BlockAllocator('10.0.0.0/8', 24), silentLogger());
    await reloaded.load();
    assert.equal(reloaded.poolMismatch, undefined);
    assert.equal(reloaded.owners().size, 65_536);
    for (const [i, r] of results.entries()) assert.equal(reloaded.blockOf(`host-${String(i).padStart(5, '0')}`), 'block' in r ? r.block : undefined);
    assert.deepEqual(await reloaded.assign({ owner: 'one-too-many' }), { exhausted: true });
    // A release is one small write to one shard, not a rewrite of everything.
    const writes = reloaded.writes;
    assert.equal(await reloaded.release('host-00000'), 'block' in results[0]! ? results[0].block : undefined);
    assert.equal(reloaded.writes, writes + 1);
  });

  it('migrates a format 1 ledger (one ConfigMap) into shards, keeping every record, and retires it', async () => {
    const id = 'legacy';
    const core = kc.makeApiClient(CoreV1Api);
    const data: Record<string, string> = { '10.0.2.0_24': 'ecs-1', '10.0.3.0_24': 'ecs-2', '10.1.7.0_24': 'ecs-9' };
    await core.createNamespacedConfigMap({
      namespace: NS,
      body: { metadata: { name: legacyName(id), labels: { 'app.kubernetes.io/name': 'hostnet-controller', 'hostnet.io/installation': id } }, data },
    });
    const ledger = new Ledger(new ConfigMapLedgerStore(kc, NS, id), new BlockAllocator('10.0.0.0/15', 24), silentLogger());
    await ledger.load();
    assert.deepEqual(Object.fromEntries(ledger.owners()), { 'ecs-1': '10.0.2.0/24', 'ecs-2': '10.0.3.0/24', 'ecs-9': '10.1.7.0/24' });
    const shard0 = await core.readNamespacedConfigMap({ name: `${legacyName(id)}-10-0`, namespace: NS });
    const shard1 = await core.readNamespacedConfigMap({ name: `${legacyName(id)}-10-1`, namespace: NS });
    assert.deepEqual(shard0.data, { '10.0.2.0_24': 'ecs-1', '10.0.3.0_24': 'ecs-2' });
    assert.deepEqual(shard1.data, { '10.1.7.0_24': 'ecs-9' });
    assert.equal(shard0.metadata?.annotations?.['hostnet.io/ledger-format'], '2');
    assert.equal(shard0.metadata?.annotations?.['hostnet.io/ledger-pool'], '10.0.0.0/15');
    assert.equal(shard0.metadata?.annotations?.['hostnet.io/ledger-block-size'], '24');
    const old = await core.readNamespacedConfigMap({ name: legacyName(id), namespace: NS });
    assert.deepEqual(old.data ?? {}, {}, 'the format 1 ledger is emptied only after the shards hold its records');
    assert.equal(old.metadata?.annotations?.['hostnet.io/ledger-migrated-to-format'], '2');
    // A new allocation goes into a shard and never reuses a migrated block.
    const r = await ledger.assign({ owner: 'new' });
    assert.ok('block' in r && !['10.0.2.0/24', '10.0.3.0/24', '10.1.7.0/24'].includes(r.block), JSON.stringify(r));
  });
});
