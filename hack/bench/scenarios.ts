// The scenarios of one size N, against one emulator and one controller process:
// cold start, migration, drift, restart (kill -9), churn; and the NIC cold start on its own.
// Each is measured the same way (see measure()): wall time, per-host p50/p99, cloud calls from
// the emulator's call log, API-server requests, the controller's CPU and peak RSS, its floor.
import { SEED, seedState, startEmulator, type Emulator, type VpcStateInit } from '../../test/emulator/server.js';
import { emulatorArgs, emulatorEnv, startController, type ControllerProcess } from '../../test/helpers/controller.js';
import type { HostNetwork } from '../../controller/api/types.js';
import { BenchKube, Tracker, diffCounts, isReady, type RequestCounts } from './kube.js';
import { callSeconds, nicFloor, percentile, round, routeFloor, summarizeCalls, type CallSummary, type CloudSettings, type Floor } from './floors.js';
import { ProcWindowMeter, cpuSeconds, type ProcWindow } from './proc.js';
import type { BenchOptions } from './options.js';
import type { ApiFloor } from './apifloor.js';
import { summarizeProfile } from './cpuprofile.js';
import { existsSync, mkdirSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * The node options the image sets (Dockerfile ENV NODE_OPTIONS): a 2 MiB young generation keeps
 * the controller's RSS near its live heap (issue 16: 230 → ~170 MiB at 1,000 hosts in phase A's
 * measurement) at a small cost in scavenges. (The old generation's growth the controller limits
 * itself, controller/heap.ts.)
 */
const CONTROLLER_NODE_OPTIONS = ['--max-semi-space-size=2'];

export const TABLE = SEED.routeTableId;
const INSTALLATION = 'default';
const MARK = `hostnet:${INSTALLATION}:`;
const LEDGER = `hostnet-allocations-${INSTALLATION}`;

export interface ScenarioResult {
  scenario: string;
  n: number;
  /** Hosts (or routes) the scenario acted on. */
  affected: number;
  status: 'ok' | 'timeout' | 'failed' | 'skipped';
  error?: string;
  wallSeconds: number;
  perHost: { count: number; p50: number; p99: number; max: number };
  cloud: CallSummary;
  apiserver: {
    controllerRequests: number;
    byKind: RequestCounts;
    /** The controller's POST/PUT/PATCH/DELETE requests (Events and ledger included) per affected host. */
    writesPerHost: number;
    requestsPerHost: number;
    /** kube-apiserver's CPU seconds (utime+stime) over the scenario. */
    cpuSeconds?: number;
  };
  /** The API-server floor of this size (cold start rows): see apifloor.ts. */
  apiFloor?: ApiFloor;
  controller: ProcWindow;
  floor: Floor;
  ratios: { wallVsFloor: number; writesVsFloor: number; perRouteVsMeasured: number; wallVsApiFloor?: number };
  details: Record<string, unknown>;
}

export class ScenarioTimeout extends Error {}

export function serverId(i: number): string {
  return `b0a70000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
}

function serverIp(i: number): string {
  const x = i + 10; // 192.168.32.0/19: .32.0 is the network, .32.1 the gateway
  return `192.168.${32 + Math.floor(x / 256)}.${x % 256}`;
}

/** The seed account plus a /19 subnet with `servers` extra ECS servers (one NIC port each). */
export function benchState(servers: number): VpcStateInit {
  if (servers > 8000) throw new Error(`at most 8000 servers fit the bench subnet, asked for ${servers}`);
  const s = seedState();
  const subnetId = 'b0a70000-5b0e-4000-8000-000000000001';
  s.subnets.push({ id: subnetId, name: 'subnet-bench', vpc_id: SEED.vpcId, cidr: '192.168.32.0/19', gateway_ip: '192.168.32.1' });
  for (let i = 0; i < servers; i++) s.servers.push({ id: serverId(i), name: `bench-${i}`, subnet_id: subnetId, ip: serverIp(i), security_groups: [SEED.securityGroupId], allowed_address_pairs: [] });
  return s;
}

export function hostName(i: number): string {
  return `bench-${String(i).padStart(5, '0')}`;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface Env {
  opts: BenchOptions;
  kubeconfig: string;
  bk: BenchKube;
  tracker: Tracker;
  deadline: number;
  /** kube-apiserver's pid (its CPU seconds per scenario), when found. */
  apiPid?: number;
  log(line: string): void;
}

const WRITE_VERBS = /^(POST|PUT|PATCH|DELETE) /;

/** One size: its emulator, its controller, the hosts it created. */
export class SizeRun {
  emu!: Emulator;
  ctl!: ControllerProcess;
  meter!: ProcWindowMeter;
  readonly cloud: CloudSettings;
  /** host name → server index it points at. */
  readonly hosts = new Map<string, number>();
  private nextServer = 0;
  private nextHost = 0;
  readonly results: ScenarioResult[] = [];
  private ctlArgs: string[] = [];
  /** The running controller records a CPU profile (--cpu-profile) not yet written. */
  private profiled = false;
  /** Which start the profile records: the cold start's, then the restart's (file name). */
  private profileLabel = 'cold-start';
  /** Measured before this size's cold start (bench.ts); attached to the cold start row. */
  apiFloor?: ApiFloor;

  constructor(
    readonly env: Env,
    readonly n: number,
    readonly nic: boolean,
  ) {
    const o = env.opts;
    this.cloud = { latencyMs: o.latencyMs, jitterMs: o.jitterMs, writesPerSecond: o.writesPerSecond, maxBatch: o.maxBatch, tables: 1 };
  }

  get churnCreates(): number {
    return this.nic ? 0 : Math.ceil(this.env.opts.churnSeconds * this.env.opts.churnRate) + 10;
  }

  async start(): Promise<void> {
    const o = this.env.opts;
    const migrate = this.nic ? 0 : Math.ceil(this.n * o.fraction);
    const servers = this.n + migrate + this.churnCreates + 10;
    const quota = this.n + this.churnCreates + 50;
    this.emu = await startEmulator({ state: benchState(servers), latencyMs: o.latencyMs, jitterMs: o.jitterMs, writesPerSecond: o.writesPerSecond, routeQuota: quota });
    this.ctlArgs = [
      ...emulatorArgs(this.emu.url),
      '--log-level=info',
      '--pool-cidr=10.0.0.0/8',
      '--block-size=24',
      '--leader-elect=false',
      `--cloud-qps=${o.writesPerSecond}`,
      `--cloud-burst=${o.writesPerSecond}`,
      `--route-table-capacity=${quota}`,
      `--resync-period=${o.resyncSeconds}s`,
      `--source-dest-check=${this.nic ? 'disable' : 'off'}`,
      ...o.controllerArgs,
    ];
    this.ctl = await startController({ kubeconfig: this.env.kubeconfig, args: this.ctlArgs, env: this.ctlEnv({ profile: true }), compiled: true, waitReady: true, waitLeader: true });
    this.meter = new ProcWindowMeter(this.ctl.proc.pid!);
  }

  /**
   * The controller's environment; with --cpu-profile the first controller of a size (the cold
   * start's) and the restarted one run under node --cpu-prof, with --heap-snapshot every one writes a snapshot on
   * SIGWINCH (SIGUSR2 is the controller's own state dump, SIGUSR1 node's inspector).
   */
  private ctlEnv(o: { profile: boolean }): Record<string, string> {
    const { cpuProfileDir, heapSnapshotDir } = this.env.opts;
    const node: string[] = [];
    const extra: Record<string, string> = {};
    // node refuses --cpu-prof in NODE_OPTIONS: cpu-profiler.mjs records the same profile.
    if (o.profile && cpuProfileDir) {
      this.profiled = true;
      node.push(`--import=${pathToFileURL(join(import.meta.dirname, 'cpu-profiler.mjs')).href}`);
      extra.HOSTNET_BENCH_CPU_PROFILE = this.profileFile();
    }
    if (heapSnapshotDir) node.push('--heapsnapshot-signal=SIGWINCH', `--diagnostic-dir=${this.dir(heapSnapshotDir)}`);
    // As the image runs it (Dockerfile's NODE_OPTIONS); a later --controller-node-option wins.
    node.push(...CONTROLLER_NODE_OPTIONS, ...this.env.opts.controllerNodeOptions);
    const inherited = process.env.NODE_OPTIONS ? `${process.env.NODE_OPTIONS} ` : '';
    return { ...emulatorEnv(), ...extra, ...(node.length ? { NODE_OPTIONS: inherited + node.join(' ') } : {}) };
  }

  private profileFile(): string {
    return join(this.dir(this.env.opts.cpuProfileDir), `N${this.n}${this.nic ? '-nic' : ''}-${this.profileLabel}.cpuprofile`);
  }

  private dir(d: string): string {
    const abs = resolve(d);
    mkdirSync(abs, { recursive: true });
    return abs;
  }

  /**
   * --cpu-profile: ends the profile of the controller (started with the process, cpu-profiler.mjs)
   * by SIGPWR; the controller keeps running. Returns the profile's path once written.
   */
  async endCpuProfile(): Promise<string | undefined> {
    if (!this.env.opts.cpuProfileDir || !this.profiled) return undefined;
    this.profiled = false;
    const file = this.profileFile();
    this.ctl.proc.kill('SIGPWR');
    const t0 = Date.now();
    while (!existsSync(file)) {
      if (this.ctl.proc.exitCode !== null) throw new Error(`the controller exited (${this.ctl.proc.exitCode}) before writing ${file}`);
      if (Date.now() - t0 > 120_000) throw new Error(`no CPU profile ${file} after 120 s`);
      await sleep(250);
    }
    return file;
  }

  /** --heap-snapshot: the controller writes a heap snapshot now; returns its path once complete. */
  async heapSnapshot(label: string): Promise<string | undefined> {
    const dir = this.env.opts.heapSnapshotDir;
    if (!dir) return undefined;
    const abs = this.dir(dir);
    const pid = this.ctl.proc.pid!;
    const before = new Set(readdirSync(abs));
    this.ctl.proc.kill('SIGWINCH');
    const t0 = Date.now();
    let file: string | undefined;
    let lastSize = -1;
    for (;;) {
      if (Date.now() - t0 > 300_000) throw new Error('no heap snapshot after 300 s');
      await sleep(500);
      file ??= readdirSync(abs).find((f) => !before.has(f) && f.includes(`.${pid}.`) && f.endsWith('.heapsnapshot'));
      if (!file) continue;
      // Node writes the snapshot on its main thread: once it answers /metrics again and the size
      // holds still, the file is complete.
      const size = statSync(join(abs, file)).size;
      const answers = await fetch(this.ctl.metricsUrl).then((r) => r.ok, () => false);
      if (answers && size === lastSize) break;
      lastSize = size;
    }
    const target = join(abs, `N${this.n}${this.nic ? '-nic' : ''}-${label}.heapsnapshot`);
    renameSync(join(abs, file), target);
    return target;
  }

  get controllerArgs(): string[] {
    return this.ctlArgs.map((a) => (a.startsWith('--cloud-endpoint=') ? '--cloud-endpoint=<emulator>' : a));
  }

  async stop(): Promise<void> {
    if (this.ctl) await this.ctl.stop();
    const names = [...this.hosts.keys(), ...this.env.tracker.list().map((o) => o.metadata.name)];
    await this.env.bk.wipe([...new Set(names)]);
    const t0 = Date.now();
    while (this.env.tracker.list().length > 0 && Date.now() - t0 < 120_000) await sleep(250);
    if (this.emu) await this.emu.close();
  }

  private routes(): Map<string, { nexthop: string | null; description: string | null }> {
    const t = this.emu.state.getRouteTable(TABLE);
    const m = new Map<string, { nexthop: string | null; description: string | null }>();
    for (const r of t.routes) m.set(r.destination, r);
    return m;
  }

  // ---------------------------------------------------------------- measurement

  private async measure(
    name: string,
    affected: number,
    floor: Floor,
    body: () => Promise<{ wallSeconds: number; perHostMs: number[]; details?: Record<string, unknown> }>,
  ): Promise<ScenarioResult> {
    const { bk, log } = this.env;
    await this.eventsWritten(`before ${name}`);
    const seq = this.emu.lastSeq;
    const apiBefore = await bk.requestTotals();
    const mineBefore = { ...bk.mine };
    const apiCpu0 = this.env.apiPid ? cpuSeconds(this.env.apiPid) : undefined;
    this.meter.start();
    let status: ScenarioResult['status'] = 'ok';
    let error: string | undefined;
    let out: { wallSeconds: number; perHostMs: number[]; details?: Record<string, unknown> } = { wallSeconds: 0, perHostMs: [] };
    const started = Date.now();
    if (Date.now() > this.env.deadline) {
      status = 'skipped';
      error = 'time budget spent';
    } else {
      try {
        out = await body();
      } catch (err) {
        status = err instanceof ScenarioTimeout ? 'timeout' : 'failed';
        error = (err as Error).message;
        out = { wallSeconds: (Date.now() - started) / 1000, perHostMs: [...this.env.tracker.done.values()] };
        log(`  ${name}: ${status}: ${error}`);
        if (this.env.opts.verbose) log(this.ctl.logs().slice(-4000));
      }
    }
    const proc = this.meter.stop();
    const apiCpu1 = this.env.apiPid ? cpuSeconds(this.env.apiPid) : undefined;
    const calls = summarizeCalls(this.emu.callsSince(seq));
    const eventsLagSeconds = await this.eventsWritten(name);
    const apiAfter = await bk.requestTotals();
    const all = diffCounts(apiAfter, apiBefore);
    const mine = diffCounts(bk.mine, mineBefore);
    const byKind = diffCounts(all, mine);
    // The two metrics scrapes themselves land in the counters too.
    delete byKind['GET /metrics'];
    // kube-apiserver renews its own identity lease (kube-system) every 10 s; the controller runs
    // with --leader-elect=false and makes no lease requests.
    for (const k of Object.keys(byKind)) if (k.endsWith(' leases')) delete byKind[k];
    for (const [k, v] of Object.entries(byKind)) if (v <= 0 || k.startsWith('WATCH')) delete byKind[k];
    const controllerRequests = Object.values(byKind).reduce((s, v) => s + v, 0);
    const controllerWrites = Object.entries(byKind)
      .filter(([k]) => WRITE_VERBS.test(k))
      .reduce((s, [, v]) => s + v, 0);
    const apiFloor = name.endsWith('cold start') ? this.apiFloor : undefined;
    const ms = out.perHostMs;
    const res: ScenarioResult = {
      scenario: name,
      n: this.n,
      affected,
      status,
      ...(error ? { error } : {}),
      wallSeconds: round(out.wallSeconds),
      perHost: { count: ms.length, p50: round(percentile(ms, 50) / 1000), p99: round(percentile(ms, 99) / 1000), max: round(Math.max(0, ...ms) / 1000) },
      cloud: calls,
      apiserver: {
        controllerRequests,
        byKind,
        writesPerHost: affected > 0 ? round(controllerWrites / affected, 2) : 0,
        requestsPerHost: affected > 0 ? round(controllerRequests / affected, 2) : 0,
        ...(apiCpu0 !== undefined && apiCpu1 !== undefined ? { cpuSeconds: round(apiCpu1 - apiCpu0, 1) } : {}),
      },
      ...(apiFloor ? { apiFloor } : {}),
      controller: proc,
      floor,
      ratios: {
        wallVsFloor: floor.seconds > 0 ? round(out.wallSeconds / floor.seconds, 1) : 0,
        writesVsFloor: floor.writeCalls > 0 ? round(calls.writes / floor.writeCalls, 1) : calls.writes,
        perRouteVsMeasured: out.wallSeconds > 0 ? round(floor.perRouteSeconds / out.wallSeconds, 2) : 0,
        ...(apiFloor && apiFloor.seconds > 0 ? { wallVsApiFloor: round(out.wallSeconds / apiFloor.seconds, 2) } : {}),
      },
      details: { ...(out.details ?? {}), eventsLagSeconds },
    };
    this.results.push(res);
    log(
      `  ${name} N=${this.n}: ${res.status} wall ${res.wallSeconds}s (floor ${floor.seconds}s, per-route ${floor.perRouteSeconds}s), p50 ${res.perHost.p50}s p99 ${res.perHost.p99}s, ` +
        `cloud ${calls.reads}R/${calls.writes}W (${calls.throttled} throttled), UpdateRouteTable ${calls.updateRouteTable.ok} ok (batch mean ${calls.updateRouteTable.batchMean}), ` +
        `apiserver ${controllerRequests} (${res.apiserver.requestsPerHost}/host, writes ${res.apiserver.writesPerHost}/host${res.apiserver.cpuSeconds !== undefined ? `, its CPU ${res.apiserver.cpuSeconds}s` : ''})` +
        `${apiFloor ? `, API floor ${apiFloor.seconds}s (wall/API floor ${res.ratios.wallVsApiFloor})` : ''}, cpu ${proc.cpuSeconds}s, rss ${proc.peakRssMiB} MiB`,
    );
    return res;
  }

  /**
   * The controller writes Events in the background, behind its reconciles: waits until it has
   * none left to write (hostnet_events_pending 0), so that each scenario's Events are counted
   * in that scenario and not in the next one. Returns the seconds it waited.
   */
  private async eventsWritten(what: string): Promise<number> {
    const t0 = Date.now();
    for (;;) {
      const pending = await this.ctl.metric('hostnet_events_pending').catch(() => undefined);
      if (pending === 0 || this.ctl.proc.exitCode !== null) break;
      if (Date.now() - t0 > 120_000) {
        this.env.log(`  ${what}: ${pending ?? '?'} Events still not written after 120 s; counting on`);
        break;
      }
      await sleep(200);
    }
    return round((Date.now() - t0) / 1000);
  }

  /** Waits for done(), printing progress every 5 s; throws ScenarioTimeout after timeoutMs. */
  private async until(what: string, timeoutMs: number, done: () => boolean, progress: () => string, everyMs = 50): Promise<void> {
    const t0 = Date.now();
    let lastPrint = t0;
    const limit = Math.min(t0 + timeoutMs, Math.max(this.env.deadline + 60_000, t0 + 30_000));
    while (!done()) {
      if (this.ctl.proc.exitCode !== null) throw new Error(`controller exited with ${this.ctl.proc.exitCode}: ${this.ctl.logs().slice(-2000)}`);
      if (Date.now() > limit) throw new ScenarioTimeout(`${what} not reached after ${Math.round((Date.now() - t0) / 1000)} s (${progress()})`);
      if (Date.now() - lastPrint >= 5000) {
        lastPrint = Date.now();
        this.env.log(`    ${what}: ${progress()} [${Math.round((Date.now() - t0) / 1000)}s]`);
      }
      await sleep(everyMs);
    }
  }

  // ---------------------------------------------------------------- scenarios

  /** (a) N HostNetworks created at once (at most --concurrency in flight) until all are Ready. */
  async coldStart(name = 'cold start'): Promise<ScenarioResult> {
    const { bk, tracker } = this.env;
    const n = this.n;
    const floor = this.nic ? nicFloor(n, this.cloud, this.env.opts.writesPerSecond) : routeFloor(n, this.cloud, 'N route adds');
    return this.measure(name, n, floor, async () => {
      tracker.reset();
      const names: string[] = [];
      for (let i = 0; i < n; i++) {
        const h = hostName(this.nextHost++);
        this.hosts.set(h, this.nextServer++);
        names.push(h);
      }
      let created = 0;
      let createdAt = 0;
      const t0 = Date.now();
      const creating = bk.parallel(names, async (h) => {
        await bk.create(h, serverId(this.hosts.get(h)!));
        created++;
        createdAt = Date.now();
        tracker.expect(h, Date.now());
      });
      let createErr: unknown;
      creating.catch((e: unknown) => (createErr = e));
      await this.until(
        `${name} N=${n}`,
        // The NIC step costs an UpdatePort per host at --cloud-qps: allow more.
        Math.max(300_000, n * (this.nic ? 1000 : 200)),
        () => {
          if (createErr) throw createErr;
          return created === n && tracker.pending === 0;
        },
        () => `created ${created}/${n}, Ready ${tracker.done.size}/${n}`,
        100,
      );
      await creating;
      const createdIn = (createdAt - t0) / 1000;
      const routes = this.routes();
      let right = 0;
      for (const h of names) {
        const o = tracker.get(h);
        const r = o?.status?.podCIDR ? routes.get(o.status.podCIDR) : undefined;
        if (r && r.nexthop === o!.spec.instanceID && r.description === MARK + h) right++;
      }
      if (right !== n) throw new Error(`only ${right} of ${n} routes are in the table with the right next hop`);
      return {
        wallSeconds: (tracker.lastDoneAt - t0) / 1000,
        perHostMs: [...tracker.done.values()],
        details: { createsIssuedSeconds: round(createdIn), routesVerified: right, nicMode: this.nic ? 'disable' : 'off' },
      };
    });
  }

  /** (b) 10% of hosts change instanceID at once, until the table's routes point at the new servers. */
  async migration(): Promise<ScenarioResult> {
    const { bk, tracker, opts } = this.env;
    const k = Math.max(1, Math.round(this.n * opts.fraction));
    const picked = [...this.hosts.keys()].slice(0, k);
    return this.measure('migration', k, routeFloor(k, this.cloud, `${k} route mods`), async () => {
      tracker.reset();
      const dest = new Map<string, string>();
      const target = new Map<string, string>();
      for (const h of picked) {
        const cidr = tracker.get(h)?.status?.podCIDR;
        if (!cidr) throw new Error(`${h} has no podCIDR`);
        dest.set(h, cidr);
        const s = this.nextServer++;
        this.hosts.set(h, s);
        target.set(h, serverId(s));
      }
      const since = new Map<string, number>();
      const inTable = new Map<string, number>();
      const t0 = Date.now();
      const patching = bk.parallel(picked, async (h) => {
        await bk.setInstance(h, target.get(h)!);
        since.set(h, Date.now());
        tracker.expect(h, Date.now(), (o) => isReady(o) && o.status?.nextHop === target.get(h));
      });
      let patchErr: unknown;
      patching.catch((e: unknown) => (patchErr = e));
      let lastRoute = t0;
      await this.until(
        `migration N=${this.n}`,
        Math.max(180_000, k * 200),
        () => {
          if (patchErr) throw patchErr;
          const routes = this.routes();
          for (const h of picked) {
            if (inTable.has(h) || !since.has(h)) continue;
            if (routes.get(dest.get(h)!)?.nexthop === target.get(h)) {
              inTable.set(h, Date.now() - since.get(h)!);
              lastRoute = Date.now();
            }
          }
          return inTable.size === k && tracker.pending === 0;
        },
        () => `routes moved ${inTable.size}/${k}, Ready on new host ${tracker.done.size}/${k}`,
      );
      await patching;
      const statusMs = [...tracker.done.values()];
      return {
        wallSeconds: (lastRoute - t0) / 1000,
        perHostMs: [...inTable.values()],
        details: {
          measuredFrom: 'patch answered → route in the emulator table points at the new server',
          statusReadyWallSeconds: round((tracker.lastDoneAt - t0) / 1000),
          statusReadyP50: round(percentile(statusMs, 50) / 1000),
          statusReadyP99: round(percentile(statusMs, 99) / 1000),
        },
      };
    });
  }

  /** (c) 10% of the routes deleted out of band; until the periodic full sync has put them back. */
  async drift(): Promise<ScenarioResult> {
    const { tracker, opts } = this.env;
    const k = Math.max(1, Math.round(this.n * opts.fraction));
    const picked = [...this.hosts.keys()].slice(-k);
    const floor = routeFloor(k, this.cloud, `${k} route re-adds; detection waits for the full sync (--resync-period=${opts.resyncSeconds}s)`);
    return this.measure('drift', k, floor, async () => {
      const want = new Map<string, { dest: string; nexthop: string }>();
      for (const h of picked) {
        const o = tracker.get(h);
        if (!o?.status?.podCIDR) throw new Error(`${h} has no podCIDR`);
        want.set(h, { dest: o.status.podCIDR, nexthop: o.spec.instanceID });
      }
      const seq = this.emu.lastSeq;
      const t0 = Date.now();
      for (const { dest } of want.values()) this.emu.deleteRoute(TABLE, dest);
      const back = new Map<string, number>();
      await this.until(
        `drift N=${this.n}`,
        (opts.resyncSeconds + 180) * 1000,
        () => {
          const routes = this.routes();
          for (const [h, w] of want) if (!back.has(h) && routes.get(w.dest)?.nexthop === w.nexthop) back.set(h, Date.now() - t0);
          return back.size === k;
        },
        () => `repaired ${back.size}/${k} (waiting for the full sync, every ${opts.resyncSeconds}s)`,
        100,
      );
      const calls = this.emu.callsSince(seq);
      const firstRead = calls.find((c) => c.operation === 'ShowRouteTable');
      const readAt = firstRead ? new Date(firstRead.time).getTime() : t0;
      const repairedAt = t0 + Math.max(...back.values());
      return {
        wallSeconds: (repairedAt - t0) / 1000,
        perHostMs: [...back.values()],
        details: {
          resyncPeriodSeconds: opts.resyncSeconds,
          editToFullSyncReadSeconds: round((readAt - t0) / 1000),
          fullSyncReadToRepairSeconds: round((repairedAt - readAt) / 1000),
          note: 'the edit lands at a random phase of the resync period: expect resync/2 on average, resync at worst, plus the repair',
        },
      };
    });
  }

  /** (d) kill -9 of the converged controller, start again: until ready, then until it has re-synced every host. */
  async restart(): Promise<ScenarioResult> {
    const { tracker } = this.env;
    const n = this.hosts.size;
    const floor: Floor = { ...routeFloor(0, this.cloud, 'no write is needed; one read per table'), seconds: round(callSeconds(this.cloud)) };
    return this.measure('restart', n, floor, async () => {
      this.meter.beforeKill();
      const t0 = Date.now();
      await this.ctl.kill();
      this.profileLabel = 'restart';
      this.ctl = await startController({ kubeconfig: this.env.kubeconfig, args: this.ctlArgs, env: this.ctlEnv({ profile: true }), compiled: true, waitReady: false });
      this.meter.switchTo(this.ctl.proc.pid!);
      let readyAt = 0;
      let okReconciles = 0;
      let depth = -1;
      let lastPoll = 0;
      await this.until(
        `restart N=${this.n}`,
        Math.max(180_000, n * 100),
        () => {
          if (!readyAt || Date.now() - lastPoll >= 250) {
            lastPoll = Date.now();
            void this.pollRestart().then((r) => {
              if (r.ready && !readyAt) readyAt = Date.now();
              okReconciles = r.ok;
              depth = r.depth;
            });
          }
          return readyAt > 0 && okReconciles >= n && depth === 0;
        },
        () => `${readyAt ? 'ready' : 'not ready'}, reconciled ${okReconciles}/${n}, queue depth ${depth}`,
      );
      const resyncedAt = Date.now();
      // --cpu-profile: the restarted controller's profile too (process start → every host
      // re-synced), ended after the measured window.
      const prof = await this.endCpuProfile();
      if (prof) writeFileSync(`${prof}.txt`, summarizeProfile(prof, 30) + '\n');
      const readyHosts = tracker.list().filter(isReady).length;
      if (readyHosts !== n) throw new Error(`${readyHosts} of ${n} hosts Ready after the restart`);
      return {
        wallSeconds: (readyAt - t0) / 1000,
        perHostMs: [],
        details: {
          measuredFrom: 'kill -9 → /readyz 200 and hostnet_leader 1 (wall); → every host reconciled once, queue empty (resynced)',
          readySeconds: round((readyAt - t0) / 1000),
          resyncedSeconds: round((resyncedAt - t0) / 1000),
          hostsStillReady: readyHosts,
        },
      };
    });
  }

  private async pollRestart(): Promise<{ ready: boolean; ok: number; depth: number }> {
    try {
      const ready = await fetch(`${this.ctl.healthUrl}/readyz`).then((r) => r.ok, () => false);
      const text = await (await fetch(this.ctl.metricsUrl)).text();
      const val = (re: RegExp): number => Number(re.exec(text)?.[1] ?? 0);
      const leader = val(/^hostnet_leader (\S+)$/m);
      return { ready: ready && leader === 1, ok: val(/^hostnet_reconcile_total\{result="success"\} (\S+)$/m), depth: val(/^hostnet_workqueue_depth (\S+)$/m) };
    } catch {
      return { ready: false, ok: 0, depth: -1 };
    }
  }

  /** (e) hosts created and deleted continuously (rate/s each) for a while, then until converged. */
  async churn(): Promise<ScenarioResult> {
    const { bk, tracker, opts } = this.env;
    const seconds = opts.churnSeconds;
    const rate = opts.churnRate;
    const ticks = Math.floor(seconds * rate);
    const changes = 2 * ticks;
    const base = routeFloor(changes, this.cloud, `${ticks} creates + ${ticks} deletes arriving over ${seconds}s`);
    const floor: Floor = {
      ...base,
      seconds: round(seconds + callSeconds(this.cloud)),
      perRouteSeconds: round(Math.max(seconds, changes / Math.max(1, opts.writesPerSecond)) + callSeconds(this.cloud)),
    };
    return this.measure('churn', changes, floor, async () => {
      tracker.reset();
      // Oldest first: the hosts of the cold start, then (small N) hosts created by the churn itself.
      const victims = [...this.hosts.keys()];
      let deletes = 0;
      const createdNames: string[] = [];
      const failures: string[] = [];
      const inflight: Promise<void>[] = [];
      const t0 = Date.now();
      for (let i = 0; i < ticks; i++) {
        const at = t0 + (i * 1000) / rate;
        if (at > Date.now()) await sleep(at - Date.now());
        const h = hostName(this.nextHost++);
        const s = this.nextServer++;
        this.hosts.set(h, s);
        createdNames.push(h);
        victims.push(h);
        inflight.push(
          bk.create(h, serverId(s)).then(
            () => tracker.expect(h, Date.now()),
            (e: unknown) => void failures.push(`create ${h}: ${(e as Error).message}`),
          ),
        );
        const v = victims.shift();
        if (v) {
          deletes++;
          this.hosts.delete(v);
          tracker.cancel(v);
          tracker.expectGone(v, Date.now());
          inflight.push(bk.remove(v).catch((e: unknown) => void failures.push(`delete ${v}: ${(e as Error).message}`)));
        }
        if (i % Math.max(1, Math.round(rate * 10)) === 0 && i > 0) this.env.log(`    churn N=${this.n}: ${i}/${ticks} ticks, Ready ${tracker.done.size}, gone ${tracker.doneGone.size} [${Math.round((Date.now() - t0) / 1000)}s]`);
      }
      await Promise.all(inflight);
      if (failures.length) throw new Error(`${failures.length} churn requests failed: ${failures[0]}`);
      const churnEnd = Date.now();
      await this.until(
        `churn N=${this.n} convergence`,
        300_000 + this.n * 50,
        () => tracker.pending === 0,
        () => `Ready ${tracker.done.size}/${ticks}, gone ${tracker.doneGone.size}/${deletes}`,
        100,
      );
      const convergedAt = Date.now();
      const inv = await this.invariants();
      if (!inv.ok) throw new Error(`invariants broken after churn: ${JSON.stringify(inv)}`);
      const createMs = [...tracker.done.values()];
      const deleteMs = [...tracker.doneGone.values()];
      return {
        wallSeconds: (convergedAt - t0) / 1000,
        perHostMs: createMs,
        details: {
          creates: ticks,
          deletes,
          churnSeconds: seconds,
          convergedAfterChurnSeconds: round((convergedAt - churnEnd) / 1000),
          perHostIs: 'create answered → Ready',
          deleteP50: round(percentile(deleteMs, 50) / 1000),
          deleteP99: round(percentile(deleteMs, 99) / 1000),
          invariants: inv,
        },
      };
    });
  }

  /** Table, statuses and ledger agree: every live host has its one route, nothing else is left. */
  async invariants(): Promise<Record<string, unknown> & { ok: boolean }> {
    const live = this.env.tracker.list().filter((o) => !o.metadata.deletionTimestamp);
    const byName = new Map<string, HostNetwork>(live.map((o) => [o.metadata.name, o]));
    const owned = [...this.routes()].filter(([, r]) => r.description?.startsWith(MARK));
    let leftover = 0;
    let wrong = 0;
    const routed = new Set<string>();
    for (const [dest, r] of owned) {
      const o = byName.get(r.description!.slice(MARK.length));
      if (!o) leftover++;
      else if (o.status?.podCIDR !== dest || o.spec.instanceID !== r.nexthop) wrong++;
      else routed.add(o.metadata.name);
    }
    const cidrs = live.map((o) => o.status?.podCIDR).filter((c): c is string => !!c);
    const duplicateBlocks = cidrs.length - new Set(cidrs).size;
    const notReady = live.filter((o) => !isReady(o)).length;
    const ledger = (await this.env.bk.ledger('default', LEDGER)) ?? {};
    const ledgerOwners = Object.values(ledger);
    const ledgerDuplicates = ledgerOwners.length - new Set(ledgerOwners).size;
    const ledgerStale = ledgerOwners.filter((n) => !byName.has(n)).length;
    const ledgerMismatch = live.filter((o) => ledger[(o.status?.podCIDR ?? '').replace('/', '_')] !== o.metadata.name).length;
    const missingRoutes = live.length - routed.size;
    const ok = leftover === 0 && wrong === 0 && duplicateBlocks === 0 && notReady === 0 && ledgerDuplicates === 0 && ledgerStale === 0 && ledgerMismatch === 0 && missingRoutes === 0;
    return { ok, liveHosts: live.length, ownedRoutes: owned.length, leftoverRoutes: leftover, wrongRoutes: wrong, missingRoutes, duplicateBlocks, notReady, ledgerRecords: ledgerOwners.length, ledgerDuplicates, ledgerStale, ledgerMismatch };
  }
}

export { round };
