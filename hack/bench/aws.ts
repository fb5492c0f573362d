// The AWS provider in `make bench`: a cold start of N hosts (N HostNetworks created at once, until
// every one is Ready) with the controller process (--cloud-provider=aws), the real kube-apiserver
// and moto behind the EC2 fault proxy (test/aws/), on this machine. Beside the figures: moto's own
// per-call time (from the proxy's call log: arrival to answer), and the per-route floor — EC2
// takes one CreateRoute per route, so N calls; at the provider's 4 writes per table that is
// N / 4 × moto's CreateRoute time.
//
// `make bench` runs it (hack/bench.ts, as a child process; --skip-aws leaves it out,
// --provider-sizes picks N) and keeps its rows in the results JSON and the markdown.
// Run alone: npx tsx hack/bench/aws.ts [--sizes 100,1000] [--json]. Progress goes to stderr.
import { parseArgs } from 'node:util';
import { freshCluster, startController } from '../../test/helpers/controller.js';
import { buildAwsFixture, MOTO_CREDENTIALS, MOTO_REGION, startMoto } from '../../test/helpers/moto.js';
import { createMany, hostNetwork, waitAllReady } from '../../test/helpers/invariants.js';
import { resetCluster } from '../../test/helpers/kube.js';
import { startAwsFaultProxy } from '../../test/aws/fault-proxy.js';
import { DEFAULT_WRITES_PER_TABLE } from '../../controller/provider/aws/table-concurrency.js';
import { AWS_MAX_SIZE } from './options.js';

export { AWS_MAX_SIZE };

export interface AwsBenchRow {
  n: number;
  /** First create → every HostNetwork Ready. */
  coldStartMs: number;
  calls: Record<string, number>;
  /** moto's mean time per call by action (ms), measured by the proxy. */
  motoMsPerCall: Record<string, number>;
  /** N CreateRoute calls. */
  floorCalls: number;
  /** The provider's route writes in flight per table (the floor's concurrency). */
  concurrency: number;
  /** floorCalls / concurrency × moto's mean CreateRoute time. */
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
          concurrency: DEFAULT_WRITES_PER_TABLE,
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
    '| provider | N | cold start (s) | CreateRoute calls (floor N) | all EC2 calls | moto ms/call CreateRoute | moto ms/call, other actions | per-route floor (s, N / concurrency × moto CreateRoute) |',
    '|---|---:|---:|---:|---:|---:|---|---:|',
  ];
  for (const r of rows) {
    const all = Object.values(r.calls).reduce((a, b) => a + b, 0);
    const others = Object.entries(r.motoMsPerCall)
      .filter(([a]) => a !== 'CreateRoute')
      .map(([a, ms]) => `${a} ${ms}`)
      .join(', ');
    lines.push(`| aws (moto) | ${r.n} | ${(r.coldStartMs / 1000).toFixed(1)} | ${r.calls.CreateRoute ?? 0} (${r.floorCalls}) | ${all} | ${r.motoMsPerCall.CreateRoute ?? '-'} | ${others || '-'} | ${(r.floorMs / 1000).toFixed(1)} (N/${r.concurrency ?? DEFAULT_WRITES_PER_TABLE}) |`);
  }
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { sizes: { type: 'string', default: '100,1000' }, json: { type: 'boolean' }, help: { type: 'boolean' } } });
  if (values.help) {
    console.log('Usage: npx tsx hack/bench/aws.ts [--sizes 100,1000] [--json]   (moto from hack/moto.sh; N up to 1,000)');
    process.exit(0);
  }
  const sizes = values.sizes!.split(',').map(Number);
  if (sizes.some((n) => !Number.isInteger(n) || n < 1 || n > AWS_MAX_SIZE)) {
    console.error(`--sizes: want integers from 1 to ${AWS_MAX_SIZE}, got ${values.sizes}`);
    process.exit(2);
  }
  benchAws(sizes)
    .then((rows) => {
      // --json: one line of rows on stdout (hack/bench.ts reads the last line).
      console.log(values.json ? JSON.stringify(rows) : formatAwsRows(rows));
      process.exit(0);
    })
    .catch((err) => {
      console.error(err);
      process.exit(1);
    });
}
