// `make bench`: convergence at scale, cloud-API economy and memory of hostnet-controller, in one
// run on one machine: the real kube-apiserver (hack/controlplane.ts), the VPC emulator with cloud
// latency and a per-AK write throttle (in this process), and the controller built for production
// (tsc, hack/bundle.ts → node dist/bin/hostnet-controller.js) as a child process. See --help and hack/bench/*.ts.
//
// Output: a table on stdout, bench-results/<date>.json and bench-results/latest.json, and a
// markdown table for the README. Every process and temp dir is removed at the end and on Ctrl-C.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startControlPlane, type ControlPlane } from './controlplane.js';
import { installCrd, repoRoot } from '../test/helpers/kube.js';
import { silenceSdkLogs } from '../test/emulator/sdk.js';
import { formatAwsRows, type AwsBenchRow } from './bench/aws.js';
import { BenchKube, Tracker } from './bench/kube.js';
import { AWS_MAX_SIZE, HELP, estimate, parseOptions, type BenchOptions } from './bench/options.js';
import { SizeRun, type ScenarioResult } from './bench/scenarios.js';
import { allocatorTable, callsTable, machine, markdown, textTable } from './bench/report.js';
import type { AllocatorResult } from './bench/allocator.js';
import { alibabaTable, type AlibabaBenchRow } from './bench/alibaba.js';
import { cpuSeconds, pidsMatching } from './bench/proc.js';
import { controllerWorkers } from './bench/options.js';
import { measureApiFloor, type ApiFloor } from './bench/apifloor.js';
import { serverId } from './bench/scenarios.js';
import { summarizeProfile } from './bench/cpuprofile.js';
import { summarizeHeapSnapshot } from './bench/heapsnapshot.js';
import { bundle } from './bundle.js';

const started = Date.now();
const stamp = (): string => `[${((Date.now() - started) / 1000).toFixed(0).padStart(5)}s]`;
const log = (line: string): void => console.log(`${stamp()} ${line}`);

let cp: ControlPlane | undefined;
let bk: BenchKube | undefined;
let tracker: Tracker | undefined;
let current: SizeRun | undefined;
let child: ChildProcess | undefined;
let tmpFile: string | undefined;
let cleaning: Promise<void> | undefined;

function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    if (current?.ctl && current.ctl.proc.exitCode === null) await current.ctl.kill().catch(() => undefined);
    await current?.emu?.close().catch(() => undefined);
    await tracker?.stop().catch(() => undefined);
    bk?.close();
    await cp?.stop().catch(() => undefined);
    if (tmpFile) rmSync(tmpFile, { force: true });
  })();
  return cleaning;
}

function run(cmd: string, args: string[], opts: { capture?: boolean } = {}): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const p = spawn(cmd, args, { cwd: repoRoot, stdio: ['ignore', opts.capture ? 'pipe' : 'inherit', 'inherit'] });
    child = p;
    let out = '';
    p.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    p.on('error', reject);
    p.on('exit', (code) => {
      child = undefined;
      if (code === 0) resolvePromise(out);
      else reject(Object.assign(new Error(`${cmd} ${args.join(' ')} exited with ${code}`), { output: out }));
    });
  });
}

interface Output {
  date: string;
  git: string;
  durationSeconds: number;
  machine: ReturnType<typeof machine>;
  options: BenchOptions;
  cloud: { latencyMs: number; jitterMs: number; writesPerSecond: number; emulator: string };
  controllerFlags: string[];
  assumptions: string[];
  controlPlane: { apiserverCpuSeconds?: number; etcdCpuSeconds?: number; benchCpuSeconds: number };
  allocator?: AllocatorResult;
  /** The Alibaba provider's cold start of one table at the --provider-sizes (hack/bench/alibaba.ts). */
  alibaba?: AlibabaBenchRow[];
  /** The AWS provider's cold start against moto at the --provider-sizes up to 1,000 (hack/bench/aws.ts). */
  aws?: AwsBenchRow[];
  results: ScenarioResult[];
}

/**
 * The finalizer is part of the API floor while the design keeps it (controller/api/types.ts
 * FINALIZER): deletion waits for the route and block to be released.
 */
const DESIGN_KEEPS_FINALIZER = true;

const ASSUMPTIONS = [
  'API floor (cold start rows): the same N HostNetworks created the same way, each receiving, as soon as its create answered, only the writes no controller can avoid (the finalizer merge patch while the design keeps one, and one status merge patch of the controller\'s shape) at the controller\'s --workers concurrency, against the same API server, just before the size\'s controller starts; wall from the first create to the last write answered. Per-host API writes: the controller\'s POST/PUT/PATCH/DELETE requests (Events and ledger included) / hosts affected.',
  'Floor: the fewest UpdateRouteTable calls is ceil(changes / largest batch) per route table; the API documents no cap on add/mod/del per call, so the largest batch is all changes (one call per table) unless --max-batch is set. Its time is those calls at the emulator latency (mean 50 + 10/2 ms) and write rate.',
  'Per-route: one UpdateRouteTable per route change (the Kubernetes route controller strategy) under the same 10 writes/s throttle: changes / 10 s + one call.',
  'Per-host times: from the API answer to the create (or patch) until the watch shows Ready (observedGeneration current); migration: until the route in the emulator table points at the new server; drift: from the out-of-band delete until the route is back.',
  'API requests: kube-apiserver apiserver_request_total before/after minus the requests the benchmark itself made (watches excluded).',
  'Events: POST + PATCH events of those requests. The controller writes Events in the background, so each scenario waits (before it starts and after it ends) until hostnet_events_pending is 0: a scenario counts its own Events, not the tail of the previous one (details.eventsLagSeconds: how long that took).',
  'CPU and peak RSS: the controller process only (/proc/PID/stat utime+stime; VmHWM reset per scenario through /proc/PID/clear_refs).',
  'NIC scenario: --source-dest-check=disable; one UpdatePort per host, a shared port listing plus one ListPorts per changed host; the emulator throttles writes only (N UpdatePort / 10 per s is the cloud floor), the controller client limiter has a write bucket (--cloud-qps) and a read bucket of its own (--cloud-read-qps), so N / qps.',
  'The emulator runs in the benchmark process; all processes (apiserver, etcd, controller, benchmark) share the machine.',
];

/**
 * The API-server floor of size n (apifloor.ts), measured before its controller starts; the floor
 * objects are removed again (and gone from the watch) before the cold start begins.
 */
async function apiFloorOf(n: number, opts: BenchOptions): Promise<ApiFloor> {
  const names = Array.from({ length: n }, (_, i) => `floor-${String(i).padStart(5, '0')}`);
  const ids = names.map((_, i) => serverId(900_000 + i));
  const workers = controllerWorkers(opts);
  log(`N=${n}: API floor (${n} creates at ${opts.createConcurrency} in flight; finalizer + status patch per host at ${workers} in flight)`);
  try {
    const floor = await measureApiFloor(bk!, names, ids, { concurrency: workers, finalizer: DESIGN_KEEPS_FINALIZER });
    log(`  API floor N=${n}: ${floor.seconds}s (creates alone ${floor.createsSeconds}s; ${floor.writesPerHost} writes per host)`);
    return floor;
  } finally {
    await bk!.wipe(names);
    const t0 = Date.now();
    const left = new Set(names);
    while (tracker!.list().some((o) => left.has(o.metadata.name)) && Date.now() - t0 < 120_000) await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * --cpu-profile / --heap-snapshot after a cold start: the profile (process start → converged)
 * ended and summarized first, so that it holds no snapshot work; then the snapshot taken and
 * summarized. Each summary is also written beside its file (.txt).
 */
async function diagnostics(runN: SizeRun, n: number): Promise<void> {
  try {
    const prof = await runN.endCpuProfile();
    if (prof) {
      const text = summarizeProfile(prof, 30);
      writeFileSync(`${prof}.txt`, text + '\n');
      log(`N=${n}: CPU profile ${prof}\n${text}`);
    }
    const snap = await runN.heapSnapshot('converged');
    if (snap) {
      const text = summarizeHeapSnapshot(snap, 25);
      writeFileSync(`${snap}.txt`, text + '\n');
      log(`N=${n}: heap snapshot ${snap}\n${text}`);
    }
  } catch (err) {
    log(`N=${n}: diagnostics failed: ${(err as Error).message}`);
  }
}

async function main(): Promise<number> {
  let opts: BenchOptions;
  try {
    const parsed = parseOptions(process.argv.slice(2));
    if (parsed === 'help') {
      console.log(HELP);
      return 0;
    }
    opts = parsed;
  } catch (err) {
    console.error(`bench: ${(err as Error).message}`);
    return 2;
  }
  const est = estimate(opts);
  console.log(`hostnet-controller benchmark: sizes ${opts.sizes.join(', ')}; NIC at ${opts.nicSizes.join(', ') || 'none'}; resync ${opts.resyncSeconds}s; churn ${opts.churnSeconds}s at ${opts.churnRate}+${opts.churnRate}/s`);
  console.log(`estimated duration: ${Math.ceil(est.total / 60)} min (${est.parts.map((p) => `${p.what} ~${p.seconds}s`).join('; ')}); budget ${opts.budgetMinutes} min`);
  const deadline = started + opts.budgetMinutes * 60_000;
  silenceSdkLogs();

  const outDir = resolve(repoRoot, opts.outDir);
  mkdirSync(outDir, { recursive: true });
  const date = new Date().toISOString().replace(/:/g, '').replace(/\..*/, 'Z');
  const m = machine();
  const git = await run('git', ['describe', '--always', '--dirty'], { capture: true }).then((t) => t.trim(), () => 'unknown');
  const out: Output = {
    date: new Date().toISOString(),
    git,
    durationSeconds: 0,
    machine: m,
    options: opts,
    cloud: { latencyMs: opts.latencyMs, jitterMs: opts.jitterMs, writesPerSecond: opts.writesPerSecond, emulator: 'in-process (test/emulator)' },
    controllerFlags: [],
    assumptions: ASSUMPTIONS,
    controlPlane: { benchCpuSeconds: 0 },
    results: [],
  };
  const save = (final: boolean): string => {
    out.durationSeconds = Math.round((Date.now() - started) / 1000);
    const file = join(outDir, `${date}.json`);
    tmpFile = `${file}.tmp`;
    writeFileSync(tmpFile, JSON.stringify(out, null, 2) + '\n');
    renameSync(tmpFile, file);
    tmpFile = undefined;
    if (final) writeFileSync(join(outDir, 'latest.json'), JSON.stringify(out, null, 2) + '\n');
    return file;
  };

  if (!opts.skipBuild) {
    log('building the controller (npx tsc -p tsconfig.json)');
    try {
      await run('npx', ['tsc', '-p', 'tsconfig.json'], { capture: true });
    } catch (err) {
      // tsc still emits when another part of the tree has a type error; the controller's own
      // errors stop the run.
      const text = (err as Error & { output?: string }).output ?? '';
      const mine = text.split('\n').filter((l) => /^controller\//.test(l));
      if (mine.length > 0 || !existsSync(join(repoRoot, 'dist', 'controller', 'main.js'))) throw new Error(`the controller does not build:\n${text}`);
      log(`warning: tsc reported errors outside controller/ (the controller built):\n${text.trim()}`);
    }
    // What the image and the package's bin run (hack/bundle.ts).
    log('bundling the entry points (hack/bundle.ts → dist/bin/)');
    await bundle(join(repoRoot, 'dist', 'bin'));
  }
  if (!opts.skipAllocator) {
    log('allocator micro-benchmark (node --expose-gc)');
    const text = await run(process.execPath, ['--expose-gc', '--import', 'tsx', join(repoRoot, 'hack', 'bench', 'allocator.ts')], { capture: true });
    out.allocator = JSON.parse(text) as AllocatorResult;
    console.log(allocatorTable(out.allocator));
  }
  // The provider rows, each in a process of its own (its SDK, its emulator or moto), before the
  // control plane of the Huawei scenarios starts: they do not share the machine with it.
  if (!opts.skipAlibaba && opts.providerSizes.length > 0) {
    log(`Alibaba provider at N = ${opts.providerSizes.join(', ')} (emulator, real SDK)`);
    const text = await run(process.execPath, ['--import', 'tsx', join(repoRoot, 'hack', 'bench', 'alibaba.ts'), '--sizes', opts.providerSizes.join(','), `--latency-ms=${opts.latencyMs}`, '--json'], { capture: true });
    out.alibaba = JSON.parse(text.trim().split('\n').pop()!) as AlibabaBenchRow[];
    console.log(alibabaTable(out.alibaba));
    save(false);
  }
  const awsSizes = opts.providerSizes.filter((n) => n <= AWS_MAX_SIZE);
  if (!opts.skipAws && awsSizes.length > 0) {
    log(`AWS provider at N = ${awsSizes.join(', ')} (the controller process against moto, real kube-apiserver)`);
    const text = await run(process.execPath, ['--import', 'tsx', join(repoRoot, 'hack', 'bench', 'aws.ts'), '--sizes', awsSizes.join(','), '--json'], { capture: true });
    out.aws = JSON.parse(text.trim().split('\n').pop()!) as AwsBenchRow[];
    console.log(formatAwsRows(out.aws));
    save(false);
  }
  if (opts.sizes.length === 0) {
    // --sizes none: the provider rows only.
    const file = save(true);
    console.log('\n== README (markdown) ==');
    console.log(providerMarkdown(out));
    console.log(`\nresults: ${file} (and ${join(outDir, 'latest.json')}); ${Math.round((Date.now() - started) / 1000)} s`);
    return 0;
  }

  log('starting the control plane');
  cp = await startControlPlane();
  bk = new BenchKube(cp.kubeconfig, cp.url, cp.token, opts.createConcurrency);
  await installCrd(bk.kc);
  tracker = new Tracker(bk);
  await tracker.start();
  const apiPid = pidsMatching(cp.dir, 'kube-apiserver')[0];
  const etcdPid = pidsMatching(cp.dir, 'etcd')[0];
  const cpu0 = { api: apiPid ? (cpuSeconds(apiPid) ?? 0) : 0, etcd: etcdPid ? (cpuSeconds(etcdPid) ?? 0) : 0, me: process.cpuUsage() };
  const env = { opts, kubeconfig: cp.kubeconfig, bk, tracker, deadline, log, apiPid };
  console.log(`machine: ${m.cpuModel}, ${m.nproc} cores, ${m.memoryGiB} GiB, load average at start ${m.loadAverage.join(' ')}, Node ${m.node}, kernel ${m.kernel}`);
  const apiFloors = new Map<number, ApiFloor>();

  for (const n of opts.sizes) {
    if (!opts.skipApiFloor && Date.now() <= deadline) {
      const floor = await apiFloorOf(n, opts).catch((err: unknown) => log(`N=${n}: API floor failed: ${(err as Error).message}`));
      if (floor) apiFloors.set(n, floor);
    }
    for (const nic of [false, true]) {
      if (nic && !opts.nicSizes.includes(n)) continue;
      if (Date.now() > deadline) {
        log(`N=${n}${nic ? ' NIC' : ''}: skipped, time budget spent`);
        continue;
      }
      log(`N=${n}: ${nic ? 'NIC cold start (--source-dest-check=disable)' : 'route scenarios (--source-dest-check=off)'}; starting the emulator and the controller`);
      const runN = new SizeRun(env, n, nic);
      runN.apiFloor = apiFloors.get(n);
      current = runN;
      try {
        await runN.start();
        // The flags of the route scenarios; capacity follows N, the NIC runs differ only in --source-dest-check.
        if (out.controllerFlags.length === 0) {
          out.controllerFlags = runN.controllerArgs.map((a) => (a.startsWith('--route-table-capacity=') ? '--route-table-capacity=<N+churn+50>' : a));
          out.controllerFlags.push('(NIC rows: --source-dest-check=disable)');
        }
        log(`N=${n}: controller ready (pid ${runN.ctl.proc.pid})`);
        const cold = await runN.coldStart(nic ? 'NIC cold start' : 'cold start');
        await diagnostics(runN, n);
        if (!nic && cold.status === 'ok') {
          const want = new Set(opts.scenarios);
          if (want.has('migration')) await runN.migration();
          if (want.has('drift')) await runN.drift();
          if (want.has('restart')) await runN.restart();
          if (want.has('churn')) await runN.churn();
        }
      } catch (err) {
        log(`N=${n}: aborted: ${(err as Error).message}`);
        if (opts.verbose && runN.ctl) console.log(runN.ctl.logs().slice(-5000));
      } finally {
        out.results.push(...runN.results);
        log(`N=${n}: cleaning up`);
        await runN.stop().catch((e: unknown) => log(`N=${n}: cleanup: ${(e as Error).message}`));
        current = undefined;
        save(false);
      }
    }
  }
  const me = process.cpuUsage(cpu0.me);
  out.controlPlane = {
    apiserverCpuSeconds: apiPid ? Math.round(((cpuSeconds(apiPid) ?? 0) - cpu0.api) * 10) / 10 : undefined,
    etcdCpuSeconds: etcdPid ? Math.round(((cpuSeconds(etcdPid) ?? 0) - cpu0.etcd) * 10) / 10 : undefined,
    benchCpuSeconds: Math.round((me.user + me.system) / 1e5) / 10,
  };
  await cleanup();
  const file = save(true);

  console.log('\n== Results ==');
  console.log(textTable(out.results));
  console.log('\n== Calls by operation, API requests by kind, details ==');
  console.log(callsTable(out.results));
  console.log(`\ncontrol plane CPU over the run: kube-apiserver ${out.controlPlane.apiserverCpuSeconds ?? '?'} s, etcd ${out.controlPlane.etcdCpuSeconds ?? '?'} s, benchmark+emulator ${out.controlPlane.benchCpuSeconds} s`);
  console.log('\n== README (markdown) ==');
  const flags = out.controllerFlags.filter((f) => !/^--(cloud-endpoint|cloud-project-id|route-table-ids|security-group-id|kubeconfig)/.test(f)).join(' ');
  console.log(markdown(out.results, m, flags, out.allocator));
  const providers = providerMarkdown(out);
  if (providers) console.log(`\n${providers}`);
  console.log(`\nresults: ${file} (and ${join(outDir, 'latest.json')}); ${Math.round((Date.now() - started) / 1000)} s`);
  return out.results.every((r) => r.status === 'ok') ? 0 : 1;
}

/** The AWS and Alibaba rows for the README, each table under a line that says what it measures. */
function providerMarkdown(out: Output): string {
  const parts: string[] = [];
  if (out.aws?.length) {
    parts.push(
      'AWS (the controller process, `--cloud-provider=aws`, and the real kube-apiserver against moto behind the EC2 fault proxy): moto\'s own time per call, measured at the proxy from arrival to answer, and the per-route floor, N CreateRoute calls at the provider\'s route writes in flight per table:',
      '',
      formatAwsRows(out.aws),
    );
  }
  if (out.alibaba?.length) {
    if (parts.length) parts.push('');
    parts.push('Alibaba (one VRouter table through the provider and the real SDK against the Alibaba emulator; a VPC runs one route task at a time, so the floor is ceil(N/50) CreateRouteEntries one after the other):', '', alibabaTable(out.alibaba));
  }
  return parts.join('\n');
}

let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (interrupted) return;
    interrupted = true;
    console.error(`\n${sig}: stopping every process and removing temp files...`);
    void cleanup().finally(() => process.exit(130));
  });
}

main().then(
  async (code) => {
    await cleanup();
    process.exit(code);
  },
  async (err: unknown) => {
    console.error(`bench: ${(err as Error).stack ?? String(err)}`);
    await cleanup();
    process.exit(1);
  },
);
