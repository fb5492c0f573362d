// The AWS provider in `make bench`: a cold start of N hosts (N HostNetworks created at once, until
// every one is Ready) with the controller process (--cloud-provider=aws), the real kube-apiserver
// and moto behind the EC2 fault proxy (test/aws/), on this machine. Beside the figures: moto's own
// per-call time (from the proxy's call log: arrival to answer), and the per-route floor — EC2
// takes one CreateRoute per route, so N calls; at the provider's 4 writes per table that is
// N / 4 × moto's CreateRoute time.
//
// Run alone: npx tsx hack/bench/aws.ts [--sizes 100,1000]; or hack/bench.ts --providers huawei,aws.
import { freshCluster, startController } from '../../test/helpers/controller.js';
import { buildAwsFixture, MOTO_CREDENTIALS, MOTO_REGION, startMoto } from '../../test/helpers/moto.js';
import { createMany, hostNetwork, waitAllReady } from '../../test/helpers/invariants.js';
import { resetCluster } from '../../test/helpers/kube.js';
import { startAwsFaultProxy } from '../../test/aws/fault-proxy.js';
import { DEFAULT_WRITES_PER_TABLE } from '../../controller/provider/aws/table-concurrency.js';

export interface AwsBenchRow {
  n: number;
  /** First create → every HostNetwork Ready. */
  coldStartMs: number;
  calls: Record<string, number>;
  /** moto's mean time per call by action (ms), measured by the proxy. */
  motoMsPerCall: Record<string, number>;
  /** N CreateRoute calls. */
  floorCalls: number;
  /** floorCalls / writes per table × moto's mean CreateRoute time. */
  floorMs: number;
}

function mean(xs: number[]): number {
  return xs.length === 0 ? 0 : Math.round((xs.reduce((a, b) => a + b, 0) / xs.length) * 10) / 10;
}

export async function benchAws(sizes: number[], log: (s: string) => void = (s) => console.error(s)): Promise<AwsBenchRow[]> {
  const moto = await startMoto({ readyTimeoutMs: 180_000 });
  const proxy = await startAwsFaultProxy(moto.endpoint);
  const rows: AwsBenchRow[] = [];
  try {
    for (const n of sizes) {
      await moto.reset();
      proxy.reset();
      proxy.set({ routeLimit: n + 50 });
      log(`aws N=${n}: building the moto fixture (${n} instances)`);
      // A /20: room for 4,000 instances (the default /24 holds about 250).
      const fx = await buildAwsFixture(moto.endpoint, { hosts: n, subnetCidr: '10.0.16.0/20' });
      const { cp, kc } = await freshCluster();
      await resetCluster(kc);
      const ctl = await startController({
        kubeconfig: cp.kubeconfig,
        args: [
          '--cloud-provider=aws',
          `--cloud-region=${MOTO_REGION}`,
          `--cloud-endpoint=${proxy.endpoint}`,
          `--route-table-ids=${fx.tableIds[0]}`,
          `--vpc-subnets=${fx.vpcCidr}`,
          '--pool-cidr=100.64.0.0/12',
          `--route-table-capacity=${n + 50}`,
          '--cloud-qps=1000',
          '--cloud-burst=1000',
          '--leader-elect=false',
          '--log-level=warn',
        ],
        env: { AWS_ACCESS_KEY_ID: MOTO_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: MOTO_CREDENTIALS.secretAccessKey, AWS_EC2_METADATA_DISABLED: 'true' },
        waitLeader: true,
      });
      try {
        const since = proxy.calls().length;
        log(`aws N=${n}: cold start`);
        const started = Date.now();
        await createMany(kc, fx.hosts.map((h, i) => hostNetwork(`host-${i}`, { instanceID: h.instanceId, hostIP: h.privateIp })));
        await waitAllReady(kc, n, 30 * 60_000);
        const coldStartMs = Date.now() - started;
        const calls = proxy.calls().slice(since);
        const byAction = new Map<string, number[]>();
        for (const c of calls) byAction.set(c.operation, [...(byAction.get(c.operation) ?? []), c.latencyMs]);
        const motoMsPerCall = Object.fromEntries([...byAction].map(([a, ms]) => [a, mean(ms)]));
        const row: AwsBenchRow = {
          n,
          coldStartMs,
          calls: Object.fromEntries([...byAction].map(([a, ms]) => [a, ms.length])),
          motoMsPerCall,
          floorCalls: n,
          floorMs: Math.round((n / DEFAULT_WRITES_PER_TABLE) * (motoMsPerCall.CreateRoute ?? 0)),
        };
        rows.push(row);
        log(`aws N=${n}: ${JSON.stringify(row)}`);
      } finally {
        await ctl.kill();
        await resetCluster(kc);
      }
    }
  } finally {
    await proxy.stop();
    await moto.stop();
  }
  return rows;
}

export function formatAwsRows(rows: AwsBenchRow[]): string {
  const lines = [
    '| provider | N | cold start (s) | CreateRoute calls (floor N) | all EC2 calls | moto ms/call CreateRoute | moto ms/call DescribeRouteTables | per-route floor (s, N/4 × moto CreateRoute) |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const all = Object.values(r.calls).reduce((a, b) => a + b, 0);
    lines.push(`| aws (moto) | ${r.n} | ${(r.coldStartMs / 1000).toFixed(1)} | ${r.calls.CreateRoute ?? 0} (${r.floorCalls}) | ${all} | ${r.motoMsPerCall.CreateRoute ?? '-'} | ${r.motoMsPerCall.DescribeRouteTables ?? '-'} | ${(r.floorMs / 1000).toFixed(1)} |`);
  }
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const i = process.argv.indexOf('--sizes');
  const sizes = (i >= 0 ? process.argv[i + 1]! : '100,1000').split(',').map(Number);
  benchAws(sizes)
    .then((rows) => {
      console.log(formatAwsRows(rows));
      process.exit(0);
    })
    .catch((err) => {
      console.error(err);
      process.exit(1);
    });
}

/**
 * Takes `--providers a,b` out of argv (so bench.ts's own parser never sees it); default huawei.
 * Throws on an unknown provider.
 */
export function takeProvidersFlag(argv: string[]): { huawei: boolean; aws: boolean } {
  const i = argv.indexOf('--providers');
  if (i < 0) return { huawei: true, aws: false };
  const list = (argv[i + 1] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  argv.splice(i, 2);
  for (const p of list) if (p !== 'huawei' && p !== 'aws') throw new Error(`--providers: unknown provider ${p}; want huawei, aws`);
  if (list.length === 0) throw new Error('--providers: want huawei, aws or both');
  return { huawei: list.includes('huawei'), aws: list.includes('aws') };
}

/** AWS runs at the sizes asked for, up to 1,000 (moto is slow, see the header). */
export const AWS_MAX_SIZE = 1000;
