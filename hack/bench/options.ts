// Command line of `make bench` (hack/bench.ts): sizes, durations, the emulator's cloud behaviour,
// and the run's time estimate.

/** AWS runs at the provider sizes asked for up to 1,000 (moto answers one call at a time; see hack/bench/aws.ts). */
export const AWS_MAX_SIZE = 1000;

export interface BenchOptions {
  sizes: number[];
  /** Sizes at which the NIC (source/destination check) scenario runs. */
  nicSizes: number[];
  /** Resync period given to the controller (what a user would run with). */
  resyncSeconds: number;
  churnSeconds: number;
  /** Creates per second and deletes per second during churn. */
  churnRate: number;
  /** Fraction of hosts migrated and of routes deleted out of band. */
  fraction: number;
  createConcurrency: number;
  latencyMs: number;
  jitterMs: number;
  writesPerSecond: number;
  /** Largest route change one UpdateRouteTable call may carry; 0 = no cap (the API documents none). */
  maxBatch: number;
  budgetMinutes: number;
  skipAllocator: boolean;
  /** Skip the Alibaba provider rows (hack/bench/alibaba.ts). */
  skipAlibaba: boolean;
  /** Skip the AWS provider rows (hack/bench/aws.ts, moto). */
  skipAws: boolean;
  /** Sizes of the AWS and Alibaba provider rows (default 100 and 1,000; AWS at most AWS_MAX_SIZE). */
  providerSizes: number[];
  skipBuild: boolean;
  outDir: string;
  /** Extra controller flags (repeatable --controller-arg). */
  controllerArgs: string[];
  /** Extra node options for the controller process (repeatable --controller-node-option, via NODE_OPTIONS). */
  controllerNodeOptions: string[];
  verbose: boolean;
  quick: boolean;
  /** Route scenarios to run, in their fixed order (cold start always runs). */
  scenarios: Scenario[];
  /** Skip the API-server floor measured before each size's cold start. */
  skipApiFloor: boolean;
  /** Folder for a CPU profile (node --cpu-prof) of each size's cold start; '' = none. */
  cpuProfileDir: string;
  /** Folder for heap snapshots of the controller once each size's cold start has converged; '' = none. */
  heapSnapshotDir: string;
}

export const SCENARIOS = ['cold', 'migration', 'drift', 'restart', 'churn'] as const;
export type Scenario = (typeof SCENARIOS)[number];

/** The controller's --workers (the API floor's concurrency): the last --controller-arg wins, else the default 32. */
export function controllerWorkers(o: BenchOptions): number {
  let w = 32;
  for (const a of o.controllerArgs) {
    const m = /^--workers=(\d+)$/.exec(a);
    if (m) w = Number(m[1]);
  }
  return w;
}

export const HELP = `Usage: npx tsx hack/bench.ts [options]      (make bench)

Measures hostnet-controller against the real kube-apiserver and the VPC emulator (50 ms latency,
10 ms jitter, 10 write calls/s per AK), the controller built for production (tsc and hack/bundle.ts, node dist/bin/).
Scenarios per size N: cold start, migration of 10% of hosts, drift (10% of routes deleted out
of band), kill -9 and restart, churn; the NIC (source/destination check) cold start at the
--nic-sizes; and a micro-benchmark of the block allocator (65,536 /24 blocks of 10.0.0.0/8).
Every figure is printed beside its floor (fewest calls the cloud allows, and their time) and
beside what a per-route strategy (one call per route) needs under the same throttle.

Options:
  --sizes 100,1000,5000    host counts of the scenarios against the Huawei VPC emulator (default
                           100,1000,5000; "none" runs only the provider rows below)
  --provider-sizes 100,1000  sizes of the AWS and Alibaba provider rows (default 100,1000; AWS up to 1,000)
  --nic-sizes 100,1000     sizes that also run the NIC scenario (default 100,1000; "none" skips)
  --resync 60              controller --resync-period in seconds (default 60)
  --churn-seconds 60       length of the churn phase (default 60)
  --churn-rate 5           creates per second and deletes per second during churn (default 5)
  --fraction 0.1           share of hosts migrated / routes deleted (default 0.1)
  --concurrency 50         parallel API requests when creating/patching/deleting (default 50)
  --latency-ms 50          emulator latency per call (default 50); --jitter-ms 10
  --writes-per-second 10   emulator write throttle per AK, and the controller's --cloud-qps/--cloud-burst
  --max-batch 0            largest batch assumed by the floor (0: no cap, one call per table)
  --budget 75              total time budget in minutes; scenarios that would start after it are skipped
  --controller-arg ARG     extra controller flag (repeatable), e.g. --controller-arg=--workers=32
  --controller-node-option OPT  extra node option for the controller (repeatable, through NODE_OPTIONS),
                           e.g. --controller-node-option=--max-semi-space-size=4
  --out bench-results      results folder (JSON: <date>.json and latest.json)
  --scenarios LIST         route scenarios to run (default cold,migration,drift,restart,churn; cold always runs)
  --skip-api-floor         skip the API-server floor (measured before each size's cold start, same API server)
  --cpu-profile DIR        write a CPU profile (node --cpu-prof) of each size's cold start and restart into
                           DIR, plus a summary of the top functions by self time (hack/bench/cpuprofile.ts)
  --heap-snapshot DIR      write a heap snapshot of the controller once each size's cold start has
                           converged into DIR, plus a summary by constructor (hack/bench/heapsnapshot.ts)
  --skip-allocator         skip the allocator micro-benchmark
  --skip-alibaba           skip the Alibaba provider rows (hack/bench/alibaba.ts: one VRouter table's
                           cold start through the provider against the Alibaba emulator)
  --skip-aws               skip the AWS provider rows (hack/bench/aws.ts: the controller's cold start
                           against moto, with moto's own ms per call and the per-route floor)
  --skip-build             use the existing dist/ and dist/bin/ (no tsc, no bundle)
  --quick                  --sizes 100 --nic-sizes 100 --provider-sizes 100 --resync 15 --churn-seconds 15
  --verbose                print controller logs on failure and more progress
  --help                   this text
`;

function num(name: string, v: string | undefined): number {
  const n = Number(v);
  if (v === undefined || v === '' || !Number.isFinite(n) || n < 0) throw new Error(`--${name} needs a non-negative number, got ${JSON.stringify(v)}`);
  return n;
}

function list(name: string, v: string | undefined): number[] {
  if (v === 'none' || v === '') return [];
  const out = (v ?? '').split(',').map((x) => num(name, x.trim()));
  if (out.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`--${name} needs positive integers, got ${v}`);
  return out;
}

export function parseOptions(argv: string[]): BenchOptions | 'help' {
  const o: BenchOptions = {
    sizes: [100, 1000, 5000],
    nicSizes: [100, 1000],
    resyncSeconds: 60,
    churnSeconds: 60,
    churnRate: 5,
    fraction: 0.1,
    createConcurrency: 50,
    latencyMs: 50,
    jitterMs: 10,
    writesPerSecond: 10,
    maxBatch: 0,
    budgetMinutes: 75,
    skipAllocator: false,
    skipAlibaba: false,
    skipAws: false,
    providerSizes: [100, 1000],
    skipBuild: false,
    outDir: 'bench-results',
    controllerArgs: [],
    controllerNodeOptions: [],
    verbose: false,
    quick: false,
    scenarios: [...SCENARIOS],
    skipApiFloor: false,
    cpuProfileDir: '',
    heapSnapshotDir: '',
  };
  const explicit = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a} (see --help)`);
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
    const flagOnly = ['help', 'skip-allocator', 'skip-alibaba', 'skip-aws', 'skip-build', 'quick', 'verbose', 'skip-api-floor'];
    const value = flagOnly.includes(name) ? undefined : eq > 0 ? a.slice(eq + 1) : argv[++i];
    explicit.add(name);
    switch (name) {
      case 'help':
        return 'help';
      case 'sizes':
        o.sizes = list(name, value);
        break;
      case 'provider-sizes':
        o.providerSizes = list(name, value);
        break;
      case 'nic-sizes':
        o.nicSizes = list(name, value);
        break;
      case 'resync':
        o.resyncSeconds = num(name, value);
        break;
      case 'churn-seconds':
        o.churnSeconds = num(name, value);
        break;
      case 'churn-rate':
        o.churnRate = num(name, value);
        break;
      case 'fraction':
        o.fraction = num(name, value);
        if (o.fraction <= 0 || o.fraction > 1) throw new Error('--fraction must be in (0, 1]');
        break;
      case 'concurrency':
        o.createConcurrency = Math.max(1, num(name, value));
        break;
      case 'latency-ms':
        o.latencyMs = num(name, value);
        break;
      case 'jitter-ms':
        o.jitterMs = num(name, value);
        break;
      case 'writes-per-second':
        o.writesPerSecond = num(name, value);
        break;
      case 'max-batch':
        o.maxBatch = num(name, value);
        break;
      case 'budget':
        o.budgetMinutes = num(name, value);
        break;
      case 'controller-arg':
        if (!value) throw new Error('--controller-arg needs a value');
        o.controllerArgs.push(value);
        break;
      case 'controller-node-option':
        if (!value) throw new Error('--controller-node-option needs a value');
        o.controllerNodeOptions.push(value);
        break;
      case 'out':
        if (!value) throw new Error('--out needs a folder');
        o.outDir = value;
        break;
      case 'scenarios': {
        const want = (value ?? '').split(',').map((x) => x.trim()).filter(Boolean);
        const bad = want.filter((x) => !(SCENARIOS as readonly string[]).includes(x));
        if (bad.length) throw new Error(`--scenarios: unknown ${bad.join(', ')} (known: ${SCENARIOS.join(', ')})`);
        o.scenarios = SCENARIOS.filter((x) => x === 'cold' || want.includes(x));
        break;
      }
      case 'skip-api-floor':
        o.skipApiFloor = true;
        break;
      case 'cpu-profile':
        if (!value) throw new Error('--cpu-profile needs a folder');
        o.cpuProfileDir = value;
        break;
      case 'heap-snapshot':
        if (!value) throw new Error('--heap-snapshot needs a folder');
        o.heapSnapshotDir = value;
        break;
      case 'skip-allocator':
        o.skipAllocator = true;
        break;
      case 'skip-alibaba':
        o.skipAlibaba = true;
        break;
      case 'skip-aws':
        o.skipAws = true;
        break;
      case 'skip-build':
        o.skipBuild = true;
        break;
      case 'quick':
        o.quick = true;
        break;
      case 'verbose':
        o.verbose = true;
        break;
      default:
        throw new Error(`unknown option --${name} (see --help)`);
    }
  }
  if (o.quick) {
    if (!explicit.has('sizes')) o.sizes = [100];
    if (!explicit.has('nic-sizes')) o.nicSizes = [100];
    if (!explicit.has('provider-sizes')) o.providerSizes = [100];
    if (!explicit.has('resync')) o.resyncSeconds = 15;
    if (!explicit.has('churn-seconds')) o.churnSeconds = 15;
  }
  // --sizes none: the provider rows alone (nothing else would run).
  const providerRows = o.providerSizes.length > 0 && !(o.skipAlibaba && o.skipAws);
  if (o.sizes.length === 0 && !providerRows) throw new Error('--sizes is empty and no provider rows run (--provider-sizes, --skip-alibaba, --skip-aws)');
  // The NIC scenario runs at route-scenario sizes only.
  o.nicSizes = o.nicSizes.filter((n) => o.sizes.includes(n));
  if (o.resyncSeconds < 1) throw new Error('--resync must be at least 1 second');
  return o;
}

/** Rough seconds per phase, from the runs on a 2-core machine; printed before the run starts. */
export function estimate(o: BenchOptions): { total: number; parts: { what: string; seconds: number }[] } {
  const parts: { what: string; seconds: number }[] = [];
  if (!o.skipBuild || o.sizes.length > 0) parts.push({ what: [!o.skipBuild && 'build', o.sizes.length > 0 && 'control plane'].filter(Boolean).join(' + '), seconds: (o.skipBuild ? 0 : 25) + (o.sizes.length > 0 ? 20 : 0) });
  if (!o.skipAllocator) parts.push({ what: 'allocator micro-benchmark', seconds: 10 });
  const sized = (ns: number[]): string => ns.map((n) => n.toLocaleString('en')).join(' and ');
  if (!o.skipAlibaba && o.providerSizes.length > 0) parts.push({ what: `Alibaba provider, N = ${sized(o.providerSizes)}`, seconds: Math.round(o.providerSizes.reduce((s, n) => s + 5 + n / 25, 0)) });
  const awsSizes = o.providerSizes.filter((n) => n <= AWS_MAX_SIZE);
  // moto: start-up, the fixture (one RunInstances per host), a control plane per size, then the cold start.
  if (!o.skipAws && awsSizes.length > 0) parts.push({ what: `AWS provider (moto), N = ${sized(awsSizes)}`, seconds: Math.round(20 + awsSizes.reduce((s, n) => s + 30 + n / 4, 0)) });
  for (const n of o.sizes) {
    const cold = 5 + n / 20 + n / 300;
    const migrate = 5 + (n * o.fraction) / 40;
    const drift = o.resyncSeconds + 10 + n / 1000;
    const restart = 5 + n / 150;
    const churn = o.churnSeconds + 20 + n / 300;
    const cleanup = 5 + n / 250;
    // The API floor: N creates and N × (finalizer + status) patches, then N deletes.
    const apiFloor = o.skipApiFloor ? 0 : 5 + n / 50;
    const has = (s: Scenario): number => (o.scenarios.includes(s) ? 1 : 0);
    const total = apiFloor + cold + has('migration') * migrate + has('drift') * drift + has('restart') * restart + has('churn') * churn + cleanup;
    parts.push({ what: `N=${n} routes (${o.skipApiFloor ? '' : 'API floor, '}${o.scenarios.join(', ')})`, seconds: Math.round(total) });
  }
  for (const n of o.nicSizes) parts.push({ what: `N=${n} NIC cold start`, seconds: Math.round(10 + (4 * n) / Math.max(1, o.writesPerSecond) + n / 250) });
  return { total: parts.reduce((s, p) => s + p.seconds, 0), parts };
}
