// Micro-benchmark of the block allocator and the allocation ledger, alone: a 10.0.0.0/8 pool cut
// into /24 blocks (65,536), allocate every block, release every block, rebuild from 65,536
// records; the ledger's group commit of 65,536 assignments and the ConfigMap encoding it writes.
// Run as a child with --expose-gc so heap deltas are measured after a full GC:
//   node --expose-gc --import tsx hack/bench/allocator.ts       (prints one JSON object)
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { BlockAllocator } from '../../controller/allocator.js';
import { ConfigMapLedgerStore, Ledger, MemoryLedgerStore } from '../../controller/ledger.js';
import type { Logger } from '../../controller/logger.js';
import { KubeConfig } from '@kubernetes/client-node';

export interface AllocatorResult {
  blocks: number;
  gc: boolean;
  steps: { step: string; ms: number; perOpUs: number; heapDeltaMiB: number }[];
  configMapBytes: { records: number; bytes: number }[];
  configMapLimitBytes: number;
}

const quiet = { debug() {}, info() {}, warn() {}, error() {} } as unknown as Logger;

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

function heapMiB(): number {
  return process.memoryUsage().heapUsed / 1024 / 1024;
}

async function step(steps: AllocatorResult['steps'], name: string, ops: number, fn: () => unknown | Promise<unknown>): Promise<unknown> {
  gc();
  const h0 = heapMiB();
  const t0 = performance.now();
  const keep = await fn();
  const ms = performance.now() - t0;
  gc();
  const h1 = heapMiB();
  steps.push({ step: name, ms: r(ms), perOpUs: r((ms * 1000) / ops), heapDeltaMiB: r(h1 - h0) });
  return keep;
}

function r(x: number): number {
  return Math.round(x * 100) / 100;
}

export async function runAllocatorBench(): Promise<AllocatorResult> {
  const steps: AllocatorResult['steps'] = [];
  const pool = '10.0.0.0/8';
  let alloc: BlockAllocator | undefined;
  await step(steps, 'new BlockAllocator(10.0.0.0/8, /24)', 1, () => (alloc = new BlockAllocator(pool, 24)));
  const a = alloc!;
  const n = a.blockCount;
  const blocks: string[] = [];
  await step(steps, `allocate ${n}`, n, () => {
    for (let i = 0; i < n; i++) blocks.push(a.allocate(`host-${i}`)!);
  });
  if (blocks.some((b) => b === undefined) || a.freeBlocks !== 0) throw new Error('allocator did not hand out every block');
  await step(steps, 'allocate on a full pool (scan)', 1, () => a.allocate('one-more'));
  await step(steps, `release ${n}`, n, () => {
    for (let i = 0; i < n; i++) a.release(blocks[i]!, `host-${i}`);
  });
  const records = new Map<string, string>();
  for (let i = 0; i < n; i++) records.set(blocks[i]!, `host-${i}`);
  await step(steps, `rebuild from ${n} records`, n, () => a.rebuild(records));
  if (a.usedBlocks !== n) throw new Error('rebuild lost blocks');

  // The ledger: one group commit of every assignment (the memory store), then a reload.
  const store = new MemoryLedgerStore();
  const ledger = new Ledger(store, new BlockAllocator(pool, 24), quiet);
  await step(steps, `ledger: ${n} assigns, group-committed`, n, async () => {
    await Promise.all(Array.from({ length: n }, (_, i) => ledger.assign({ owner: `host-${i}` })));
  });
  const writes = ledger.writes;
  const reloaded = new Ledger(store, new BlockAllocator(pool, 24), quiet);
  await step(steps, `ledger: load ${n} records (rebuild)`, n, () => reloaded.load());
  await step(steps, `ledger: ${n} releases, group-committed`, n, async () => {
    await Promise.all(Array.from({ length: n }, (_, i) => ledger.release(`host-${i}`)));
  });

  // The ConfigMap store's encoding (sort + data object) per write, with the API call stubbed.
  const kc = new KubeConfig();
  kc.loadFromOptions({ clusters: [{ name: 'x', server: 'https://127.0.0.1:1' }], users: [{ name: 'x' }], contexts: [{ name: 'x', cluster: 'x', user: 'x' }], currentContext: 'x' });
  const cmStore = new ConfigMapLedgerStore(kc, 'default', 'default');
  let lastBody: { data?: Record<string, string> } = {};
  (cmStore as unknown as { api: unknown }).api = {
    replaceNamespacedConfigMap: async ({ body }: { body: { data?: Record<string, string> } }) => ((lastBody = body), { metadata: { resourceVersion: '2' } }),
  };
  const sizes: AllocatorResult['configMapBytes'] = [];
  for (const count of [1000, 5000, n]) {
    const recs = new Map([...records].slice(0, count));
    await step(steps, `ConfigMap ledger encode, ${count} records (one write)`, 1, () => cmStore.writeShard('10-0', recs, { format: 2, pool, blockSize: 24 }, '1'));
    sizes.push({ records: count, bytes: Buffer.byteLength(JSON.stringify(lastBody.data ?? {})) });
  }
  void writes;
  return { blocks: n, gc: typeof (globalThis as { gc?: unknown }).gc === 'function', steps, configMapBytes: sizes, configMapLimitBytes: 1024 * 1024 };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  runAllocatorBench().then(
    (res) => {
      process.stdout.write(JSON.stringify(res) + '\n');
    },
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
