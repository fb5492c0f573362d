// The Alibaba provider at N routes: the cold start of one VRouter table through the provider
// (controller/provider/alibaba/provider.ts, real SDK, ACS3 signature) against the Alibaba
// emulator with cloud latency and asynchronous entries. The routes go in as the core's writer
// sends them (partial batches of at most 50), all flushes at once, so the per-VPC serializer is
// what keeps one batch in flight. Printed beside the floor: ceil(N/50) CreateRouteEntries calls,
// one after the other (a VPC runs one route task at a time), each lasting at least the entry
// delay before the next may start.
//
// Usage: npx tsx hack/bench/alibaba.ts [--sizes 100,1000] [--latency-ms 50] [--entry-delay-ms 500] [--json]
// (make bench runs it through hack/bench.ts and keeps its rows in the results JSON.)

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createAlibabaClients } from '../../controller/provider/alibaba/client.js';
import { MAX_ENTRIES_PER_BATCH } from '../../controller/provider/alibaba/batch.js';
import { AlibabaCloudProvider } from '../../controller/provider/alibaba/provider.js';
import { ALI_SEED, startAliEmulator } from '../../test/emulator/alibaba/server.js';

export interface AlibabaBenchRow {
  n: number;
  seconds: number;
  createCalls: number;
  floorCalls: number;
  /** The floor's time: floorCalls serialized tasks of at least the entry delay, plus one call's latency each. */
  floorSeconds: number;
  refused: number;
  describeCalls: number;
  entriesAvailable: number;
}

export async function benchAlibaba(sizes: number[], opts: { latencyMs: number; entryDelayMs: number }): Promise<AlibabaBenchRow[]> {
  const rows: AlibabaBenchRow[] = [];
  const dir = await mkdtemp(join(tmpdir(), 'hostnet-ali-bench-'));
  try {
    await writeFile(join(dir, 'access-key-id'), ALI_SEED.accessKeyId);
    await writeFile(join(dir, 'access-key-secret'), ALI_SEED.accessKeySecret);
    for (const n of sizes) {
      // One table holds N entries here: the 200-entry quota is raised (a quota increase, as a
      // user with 1,000 hosts on one table would have asked for).
      const em = await startAliEmulator({ latencyMs: opts.latencyMs, entryDelayMs: opts.entryDelayMs, routeQuota: n + 50 });
      try {
        const cfg = { regionId: ALI_SEED.regionId, vpcEndpoint: em.endpoint, ecsEndpoint: em.endpoint, protocol: 'http' as const, credentialsDir: dir, vpcId: ALI_SEED.vpcId };
        const quiet = { debug() {}, info() {}, warn() {}, error() {} };
        const p = new AlibabaCloudProvider(cfg, quiet, { clients: createAlibabaClients(cfg) });
        const [table] = await p.listRouteTables();
        const instances = ALI_SEED.instances.map((i) => i.id);
        const routes = Array.from({ length: n }, (_, i) => ({ destination: `10.${Math.floor(i / 256)}.${i % 256}.0/24`, nexthop: instances[i % instances.length]!, description: `hostnet:bench:h-${i}` }));
        const chunks: (typeof routes)[] = [];
        for (let i = 0; i < routes.length; i += MAX_ENTRIES_PER_BATCH) chunks.push(routes.slice(i, i + MAX_ENTRIES_PER_BATCH));
        const seq = em.lastSeq;
        const t0 = performance.now();
        const results = await Promise.all(chunks.map((c) => p.applyRoutes(table!.id, { add: c, mod: [], del: [] })));
        const seconds = (performance.now() - t0) / 1000;
        const failed = results.reduce((k, r) => k + r.failed.length, 0);
        if (failed > 0) throw new Error(`${failed} of ${n} entries refused`);
        const creates = em.callsSince(seq, 'CreateRouteEntries');
        const floorCalls = Math.ceil(n / MAX_ENTRIES_PER_BATCH);
        rows.push({
          n,
          seconds: Math.round(seconds * 10) / 10,
          createCalls: creates.length,
          floorCalls,
          floorSeconds: Math.round((floorCalls * (opts.entryDelayMs + opts.latencyMs)) / 100) / 10,
          refused: creates.filter((c) => c.status !== 200).length,
          describeCalls: em.callsSince(seq, 'DescribeRouteEntryList').length,
          entriesAvailable: em.state.tableEntries(table!.id).filter((e) => e.type === 'Custom' && e.status === 'Available').length,
        });
      } finally {
        await em.close();
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return rows;
}

export function alibabaTable(rows: readonly AlibabaBenchRow[]): string {
  const head = '| provider | N | all Available | CreateRouteEntries calls | floor (ceil(N/50), serialized) | refused (TaskConflict…) | DescribeRouteEntryList |';
  const sep = '| --- | ---: | ---: | ---: | ---: | ---: | ---: |';
  const lines = rows.map((r) => `| alibaba | ${r.n} | ${r.seconds} s (${r.entriesAvailable} entries) | ${r.createCalls} | ${r.floorCalls} calls, ≥ ${r.floorSeconds} s | ${r.refused} | ${r.describeCalls} |`);
  return [head, sep, ...lines].join('\n');
}

const isMain = process.argv[1] !== undefined && /hack[/\\]bench[/\\]alibaba\.ts$/.test(process.argv[1]);
if (isMain) {
  const { values } = parseArgs({ options: { sizes: { type: 'string', default: '100,1000' }, 'latency-ms': { type: 'string', default: '50' }, 'entry-delay-ms': { type: 'string', default: '500' }, json: { type: 'boolean' }, help: { type: 'boolean' } } });
  if (values.help) {
    console.log('Usage: npx tsx hack/bench/alibaba.ts [--sizes 100,1000] [--latency-ms 50] [--entry-delay-ms 500] [--json]');
    process.exit(0);
  }
  const sizes = values.sizes!.split(',').map(Number);
  if (sizes.some((s) => !Number.isInteger(s) || s < 1 || s > 60_000)) throw new Error(`--sizes: want positive integers, got ${values.sizes}`);
  const rows = await benchAlibaba(sizes, { latencyMs: Number(values['latency-ms']), entryDelayMs: Number(values['entry-delay-ms']) });
  console.log(values.json ? JSON.stringify(rows) : alibabaTable(rows));
}
