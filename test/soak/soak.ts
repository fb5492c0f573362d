// The chaos soak (issue 11, point 7): a throw-away control plane, the Huawei VPC emulator, two
// controller replicas with leader election and N hosts; then, for the whole chaos time, a seeded
// random mix of host creates, deletes, migrations and pinned blocks, cloud faults (429, 5xx,
// timeouts, resets), out-of-band edits of our routes, foreign routes, kill -9 of the leader and
// kill -9 + restart of kube-apiserver on the same etcd. Invariants are checked every few seconds
// and after the chaos, when every live host must be Ready within two resync periods.
// Run by hack/soak.ts (`make soak`) and, for two minutes, by test/e2e/soak.test.ts.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { startControlPlane, type ControlPlane } from '../../hack/controlplane.js';
import type { HostNetwork } from '../../controller/api/types.js';
import { emulatorArgs } from '../helpers/controller.js';
import { installCrd } from '../helpers/kube.js';
import {
  allocationProblems,
  concurrentWriterProblems,
  createHn,
  createMany,
  deleteHn,
  foreignRouteProblems,
  hostNetwork,
  isReady,
  leftoverRouteProblems,
  listHn,
  ownedRoutes,
  patchSpec,
  pinConflicts,
  readLedger,
  tableRoutes,
  type RouteRecord,
} from '../helpers/invariants.js';
import { SEED, seedState, startEmulator, type Emulator } from '../emulator/server.js';
import type { VpcStateInit } from '../emulator/types.js';
import { Random } from './random.js';
import { ReplicaSet, type Credential } from './replicas.js';

export interface SoakOptions {
  /** Minutes of chaos (the set-up before and the convergence after come on top). */
  minutes: number;
  hosts: number;
  seed: number;
  /** The controllers' --resync-period; convergence after the chaos must take at most two. */
  resyncSeconds: number;
  /** How often the invariants are checked during the chaos. */
  checkEverySeconds: number;
  /** How often a progress line is printed. */
  progressEverySeconds: number;
  /** Mean time between kill -9 of the leader, and of kube-apiserver. */
  leaderKillEverySeconds: number;
  apiServerKillEverySeconds: number;
  log: (line: string) => void;
  /**
   * Run on this control plane (its kube-apiserver will be killed and restarted; left running, with
   * the soak's objects in it, for the caller to clean) instead of a throw-away one of its own.
   */
  controlPlane?: ControlPlane;
  /** Aborting ends the run early (Ctrl-C): everything is stopped and removed, runSoak rejects. */
  signal?: AbortSignal;
}

export const DEFAULTS = {
  minutes: 10,
  hosts: 300,
  resyncSeconds: 30,
  checkEverySeconds: 3,
  progressEverySeconds: 15,
  leaderKillEverySeconds: 40,
  apiServerKillEverySeconds: 60,
} as const;

/** What the soak injects: host changes a user makes, and trouble. */
export const CHAOS_KINDS = [
  'create',
  'delete',
  'migrate',
  'pin',
  'pinConflict',
  'cloud429',
  'cloud5xx',
  'cloudTimeout',
  'cloudReset',
  'routeModified',
  'routeDeleted',
  'routeOrphan',
  'foreignRoute',
  'killLeader',
  'killApiServer',
] as const;
export type ChaosKind = (typeof CHAOS_KINDS)[number];

/** Cloud faults as the emulator's call log saw them shape a call. */
export const CLOUD_FAULT_HITS = ['429', '5xx', 'timeout', 'reset'] as const;

export interface Violation {
  /** Seconds since the chaos began (negative: during set-up). */
  at: number;
  phase: 'chaos' | 'final';
  problem: string;
  /** How many checks saw it. */
  seen: number;
}

export interface SoakReport {
  options: Omit<SoakOptions, 'log' | 'controlPlane' | 'signal'>;
  startedAt: string;
  finishedAt: string;
  setup: { hosts: number; readySeconds: number };
  /** Chaos actions carried out, per kind (an action the API server refused is under `refused`). */
  injected: Record<ChaosKind, number>;
  refused: Record<string, number>;
  /** Calls the injected cloud faults actually shaped (from the emulator's call log). */
  cloudFaultsHit: Record<(typeof CLOUD_FAULT_HITS)[number], number>;
  checks: { run: number; failed: number; skipped: number };
  violations: Violation[];
  violationCount: number;
  convergence: { converged: boolean; seconds: number | null; deadlineSeconds: number; liveHosts: number };
  replicas: { processes: number; killed: number; exited: Record<string, number> };
  cloudCalls: { total: number; writes: number };
  /** The directory with every controller process's log. */
  logs?: string;
}

const TABLE = SEED.routeTableId;
const POOL_BASE = 10 << 24; // 10.0.0.0/16, cut into /26 blocks
const BLOCK_SIZE = 64;
const BLOCKS = 1024;
/** Where cloud faults go: any call, or one of the calls a busy controller makes most. */
const FAULT_OPS = ['*', '*', 'UpdateRouteTable', 'ShowRouteTable', 'ListPorts'] as const;
/** No new cloud fault of a kind while this many wait for a call (a quiet controller would pile them up). */
const MAX_PENDING_FAULTS = 2;

function ip(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

function block(i: number): string {
  return `${ip(POOL_BASE + i * BLOCK_SIZE)}/26`;
}

/** The seed account plus servers ecs-4..ecs-10 and one access key per controller process. */
function soakState(keys: number): { state: VpcStateInit; servers: string[]; credentials: Credential[] } {
  const state = seedState();
  const extra = [];
  for (let n = 4; n <= 10; n++) {
    const nn = String(n).padStart(3, '0');
    extra.push({
      id: `a2f5a1b4-0000-4d4d-9e2f-7e7bd2f6a${nn}`,
      name: `ecs-${n}`,
      subnet_id: SEED.subnetId,
      ip: `192.168.0.${n + 1}`,
      port_id: `b3e6b2c5-0000-4e5e-8f3a-8f8ce3a7b${nn}`,
      mac_address: `fa:16:3e:00:00:${n.toString(16).padStart(2, '0')}`,
      security_groups: [SEED.securityGroupId],
      allowed_address_pairs: [],
    });
  }
  state.servers = [...(state.servers ?? []), ...extra];
  const credentials = Array.from({ length: keys }, (_, k) => ({ ak: `SOAKAK${String(k + 1).padStart(10, '0')}`, sk: `SOAKSK${String(k + 1).padStart(26, '0')}` }));
  state.credentials = [...(state.credentials ?? []), ...credentials];
  return { state, servers: (state.servers ?? []).map((s) => s.id), credentials };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const errText = (err: unknown): string => {
  const e = err as { code?: number; message?: string };
  return e.code ? `HTTP ${e.code}` : (e.message ?? String(err)).split('\n')[0]!;
};

export async function runSoak(opts: SoakOptions): Promise<SoakReport> {
  const started = Date.now();
  const rnd = new Random(opts.seed);
  const log = opts.log;
  const injected = Object.fromEntries(CHAOS_KINDS.map((k) => [k, 0])) as Record<ChaosKind, number>;
  const refused: Record<string, number> = {};
  const checks = { run: 0, failed: 0, skipped: 0 };
  const violations = new Map<string, Violation>();
  let chaosStart = 0;
  const since = (): number => Math.round((Date.now() - (chaosStart || started)) / 100) / 10;
  const violate = (phase: Violation['phase'], problems: string[]): void => {
    for (const problem of problems) {
      const v = violations.get(problem);
      if (v) v.seen++;
      else {
        violations.set(problem, { at: since(), phase, problem, seen: 1 });
        log(`VIOLATION at ${since()} s: ${problem}`);
      }
    }
  };

  // --- the parts ---------------------------------------------------------------------------
  const { state, servers, credentials } = soakState(400);
  let cp: ControlPlane | undefined;
  let emu: Emulator | undefined;
  let replicas: ReplicaSet | undefined;
  const report = (convergence: SoakReport['convergence'], setup: SoakReport['setup'], logs?: string): SoakReport => {
    const calls = emu?.calls ?? [];
    const hit = { '429': 0, '5xx': 0, timeout: 0, reset: 0 };
    for (const c of calls) {
      if (c.fault === 'failNext') hit[c.status === 429 ? '429' : '5xx']++;
      else if (c.fault === 'timeout') hit.timeout++;
      else if (c.fault === 'reset') hit.reset++;
    }
    const exited: Record<string, number> = {};
    for (const i of replicas?.incarnations ?? []) {
      if (i.exitedAt === undefined || i.killed) continue;
      const key = `status ${i.exitCode}`;
      exited[key] = (exited[key] ?? 0) + 1;
    }
    const { log: _log, controlPlane: _cp, signal: _signal, ...options } = opts;
    void _log;
    void _cp;
    void _signal;
    return {
      options,
      startedAt: new Date(started).toISOString(),
      finishedAt: new Date().toISOString(),
      setup,
      injected,
      refused,
      cloudFaultsHit: hit,
      checks,
      violations: [...violations.values()].slice(0, 200),
      violationCount: violations.size,
      convergence,
      replicas: { processes: replicas?.incarnations.length ?? 0, killed: replicas?.incarnations.filter((i) => i.killed).length ?? 0, exited },
      cloudCalls: { total: calls.length, writes: calls.filter((c) => ['UpdateRouteTable', 'UpdatePort', 'NeutronUpdatePort', 'CreateSecurityGroupRule', 'NeutronCreateSecurityGroupRule'].includes(c.operation)).length },
      ...(logs ? { logs } : {}),
    };
  };

  const checkAborted = (): void => {
    if (opts.signal?.aborted) throw new Error('soak interrupted');
  };
  try {
    cp = opts.controlPlane ?? (await startControlPlane());
    await cp.startApiServer(); // a no-op unless an earlier run left it killed
    const kc = new KubeConfig();
    kc.loadFromFile(cp.kubeconfig);
    await installCrd(kc);
    emu = await startEmulator({ state, routeQuota: 1000, latencyMs: 5, jitterMs: 10 });
    const args = [
      ...emulatorArgs(emu.url),
      '--leader-elect=true',
      // Short enough that a kill -9 of the leader costs seconds, long enough for a loaded machine.
      '--lease-duration=10s',
      '--renew-deadline=7s',
      '--retry-period=2s',
      `--resync-period=${opts.resyncSeconds}s`,
      '--cloud-timeout=2s',
      '--pool-cidr=10.0.0.0/16',
      '--block-size=26',
      `--vpc-subnets=${SEED.subnetCidr}`,
      '--route-table-capacity=1000',
      '--shutdown-grace-period=3s',
      '--log-level=info',
    ];
    const logDir = join(tmpdir(), `hostnet-soak-${opts.seed}-${started}`);
    log(`controller logs: ${logDir}`);
    const set = new ReplicaSet({ kubeconfig: cp.kubeconfig, args, slots: 2, credentials, restartDelayMs: 1000, logDir, log });
    replicas = set;
    await set.start();

    // --- set-up: N hosts, all Ready, before any chaos ---------------------------------------
    let nextId = 0;
    const live = new Map<string, { pinned?: string }>();
    /** Name → when its delete was sent; and when its object was first seen gone. */
    const deletedAt = new Map<string, number>();
    const goneSince = new Map<string, number>();
    /** Owners of the routes planted for hosts that never existed. */
    const orphans = new Set<string>();
    const newName = (): string => `soak-${++nextId}`;
    const initial = Array.from({ length: opts.hosts }, () => hostNetwork(newName(), { instanceID: rnd.pick(servers) }));
    await createMany(kc, initial, 16);
    for (const h of initial) live.set(h.metadata.name, {});
    log(`set-up: ${opts.hosts} hosts created; waiting for all of them to be Ready`);
    const setupStart = Date.now();
    for (;;) {
      const hosts = await listHn(kc).catch(() => [] as HostNetwork[]);
      const ready = hosts.filter(isReady).length;
      if (hosts.length === opts.hosts && ready === opts.hosts) break;
      checkAborted();
      if (Date.now() - setupStart > 20 * 60_000) throw new Error(`set-up: only ${ready} of ${opts.hosts} hosts Ready after 20 minutes`);
      await sleep(1000);
    }
    const setup = { hosts: opts.hosts, readySeconds: Math.round((Date.now() - setupStart) / 100) / 10 };
    log(`set-up: ${opts.hosts} hosts Ready in ${setup.readySeconds} s`);

    // Foreign routes: the local route, and what the chaos adds (all outside the pool: a foreign
    // route inside it is a RouteConflict that no host can get past, covered by its own tests).
    const foreign = new Map<string, RouteRecord>();
    for (const r of tableRoutes(emu, TABLE)) if (!(r.description ?? '').startsWith('hostnet:')) foreign.set(r.destination, { ...r });
    let foreignSeq = 0;
    let orphanSeq = 0;

    // --- the invariant check -----------------------------------------------------------------
    const liveCheck = async (): Promise<void> => {
      if (!cp!.apiServerRunning()) return void checks.skipped++;
      let problems: string[];
      try {
        const first = await listHn(kc);
        const ledger = await readLedger(kc);
        const second = await listHn(kc);
        const routes = ownedRoutes(emu!);
        const table = tableRoutes(emu!, TABLE);
            const now = Date.now();
        // Status and ledger are two reads: a host that kept its uid and block across both lists
        // held the block while the ledger was read, so the ledger must record it. Not so for a
        // host being deleted: its finalizer removes the route, releases the block and only then
        // lets the object go, so its status names a released block until the object is gone
        // (a new holder of that block would still show as an overlap, checked on every host).
        const later = new Map(second.map((h) => [h.metadata.name, h]));
        const stable = first.filter((h) => {
          const l = later.get(h.metadata.name);
          return l && !l.metadata.deletionTimestamp && l.metadata.uid === h.metadata.uid && l.status?.podCIDR === h.status?.podCIDR;
        });
        problems = [
          ...allocationProblems({ hosts: stable, ledger }),
          // One list is one consistent snapshot: blocks overlapping in it overlap.
          ...allocationProblems({ hosts: first, ledger }).filter((p) => p.startsWith('status blocks overlap')),
        ];
        for (const name of deletedAt.keys()) if (!later.has(name) && !goneSince.has(name)) goneSince.set(name, now);
        const present = new Set([...live.keys(), ...later.keys()]);
        problems.push(...foreignRouteProblems(foreign.values(), table));
        // Routes are read after the second list: a host it did not show had lost its route before.
        // A planted orphan goes at a full sync, which the chaos may fail: checked at the end only.
        problems.push(...leftoverRouteProblems(routes, present, goneSince, orphans));
        problems.push(...concurrentWriterProblems(emu!.calls, (ak) => set.nameOf(ak)));
      } catch (err) {
        // The API server went away during the check (a kill in progress): not a verdict.
        checks.skipped++;
        void err;
        return;
      }
      problems = [...new Set(problems)];
      checks.run++;
      if (problems.length > 0) {
        checks.failed++;
        violate('chaos', problems);
      }
    };

    // --- the chaos ---------------------------------------------------------------------------
    const count = (kind: ChaosKind): void => void injected[kind]++;
    const refuse = (kind: string, err: unknown): void => {
      const key = `${kind}: ${errText(err)}`;
      refused[key] = (refused[key] ?? 0) + 1;
    };
    const freeBlocks = async (): Promise<string[]> => {
      const ledger = await readLedger(kc);
      const taken = new Set([...ledger.records.keys(), ...tableRoutes(emu!, TABLE).map((r) => r.destination)]);
      return Array.from({ length: BLOCKS }, (_, i) => block(i)).filter((b) => !taken.has(b));
    };
    // Known before it is sent: the controller can program its route before the answer is back.
    const create = async (name: string, spec: HostNetwork['spec']): Promise<void> => {
      live.set(name, spec.podCIDR ? { pinned: spec.podCIDR } : {});
      await createHn(kc, hostNetwork(name, spec)).catch((err: unknown) => {
        live.delete(name);
        throw err;
      });
    };
    const pendingFaults = (queue: 'failNext' | 'timeoutNext' | 'resetNext'): number => emu!.faults.current()[queue].reduce((n, x) => n + x.left, 0);
    const actions: Record<string, () => Promise<void>> = {
      create: async () => {
        const name = newName();
        await create(name, { instanceID: rnd.pick(servers) });
        count('create');
      },
      pin: async () => {
        const free = await freeBlocks();
        if (free.length === 0) return;
        const name = newName();
        const pinned = rnd.pick(free);
        await create(name, { instanceID: rnd.pick(servers), podCIDR: pinned });
        count('pin');
      },
      pinConflict: async () => {
        const held = (await listHn(kc)).filter((h) => h.status?.podCIDR);
        if (held.length === 0) return;
        const name = newName();
        const pinned = rnd.pick(held).status!.podCIDR!;
        await create(name, { instanceID: rnd.pick(servers), podCIDR: pinned });
        count('pinConflict');
      },
      delete: async () => {
        const name = rnd.pick([...live.keys()]);
        await deleteHn(kc, name);
        live.delete(name);
        deletedAt.set(name, Date.now());
        count('delete');
      },
      migrate: async () => {
        const name = rnd.pick([...live.keys()]);
        await patchSpec(kc, name, { instanceID: rnd.pick(servers) });
        count('migrate');
      },
      cloud429: async () => {
        if (pendingFaults('failNext') >= MAX_PENDING_FAULTS) return;
        const n = rnd.int(1, 3);
        emu!.faults.set({ failNext: { count: n, status: 429, code: 'APIG.0308', message: 'The throttling threshold has been reached.', operation: rnd.pick(FAULT_OPS) } });
        injected.cloud429 += n;
      },
      cloud5xx: async () => {
        if (pendingFaults('failNext') >= MAX_PENDING_FAULTS) return;
        const n = rnd.int(1, 2);
        emu!.faults.set({ failNext: { count: n, status: rnd.pick([500, 502, 503]), operation: rnd.pick(FAULT_OPS) } });
        injected.cloud5xx += n;
      },
      cloudTimeout: async () => {
        if (pendingFaults('timeoutNext') >= MAX_PENDING_FAULTS) return;
        // Held until the client gives up (--cloud-timeout); with apply the write happened anyway.
        emu!.faults.set({ timeoutNext: { operation: rnd.pick(FAULT_OPS), apply: rnd.chance(0.5) } });
        count('cloudTimeout');
      },
      cloudReset: async () => {
        if (pendingFaults('resetNext') >= MAX_PENDING_FAULTS) return;
        emu!.faults.set({ resetNext: { operation: rnd.pick(FAULT_OPS), apply: rnd.chance(0.5) } });
        count('cloudReset');
      },
      routeModified: async () => {
        const routes = ownedRoutes(emu!);
        if (routes.length === 0) return;
        const r = rnd.pick(routes);
        const others = servers.filter((s) => s !== r.nexthop);
        emu!.modifyRoute(TABLE, { destination: r.destination, type: 'ecs', nexthop: rnd.pick(others) });
        count('routeModified');
      },
      routeDeleted: async () => {
        const routes = ownedRoutes(emu!);
        if (routes.length === 0) return;
        emu!.deleteRoute(TABLE, rnd.pick(routes).destination);
        count('routeDeleted');
      },
      routeOrphan: async () => {
        // A route marked as ours for a host that does not exist (left by a crash, or restored
        // from an old backup of the table): it must go, within the pool.
        const free = await freeBlocks();
        if (free.length === 0) return;
        const owner = `soak-orphan-${++orphanSeq}`;
        emu!.addRoute(TABLE, { destination: rnd.pick(free), type: 'ecs', nexthop: rnd.pick(servers), description: `hostnet:default:${owner}` });
        orphans.add(owner);
        count('routeOrphan');
      },
      foreignRoute: async () => {
        const n = ++foreignSeq;
        const destination = rnd.chance(0.5) ? `172.16.${n % 256}.${(Math.floor(n / 256) % 16) * 16}/28` : `10.1.${n % 256}.0/24`;
        if (foreign.has(destination)) return;
        const description = rnd.pick(['', 'ops: VPN gateway', 'hostnet:other-cluster:web-1', `hostnet:cluster-0f3a9c1e-7b1d:db-${n}`]);
        const t = emu!.addRoute(TABLE, { destination, type: 'ecs', nexthop: rnd.pick(servers), description });
        const added = t.routes.find((r) => r.destination === destination)!;
        foreign.set(destination, { destination, type: added.type, nexthop: added.nexthop, description: added.description });
        count('foreignRoute');
      },
    };
    const weights = {
      create: 14,
      delete: 12,
      migrate: 12,
      pin: 4,
      pinConflict: 2,
      cloud429: 8,
      cloud5xx: 8,
      cloudTimeout: 6,
      cloudReset: 6,
      routeModified: 5,
      routeDeleted: 5,
      routeOrphan: 3,
      foreignRoute: 4,
    };

    const chaosMs = opts.minutes * 60_000;
    chaosStart = Date.now();
    const chaosEnd = chaosStart + chaosMs;
    log(`chaos: ${opts.minutes} min, seed ${opts.seed}, ${opts.hosts} hosts, checks every ${opts.checkEverySeconds} s, resync ${opts.resyncSeconds} s`);
    // The first kills come early enough that even a short soak has one of each.
    let nextLeaderKill = chaosStart + rnd.between(0.25, 0.5) * opts.leaderKillEverySeconds * 1000;
    let nextApiKill = chaosStart + rnd.between(0.3, 0.6) * opts.apiServerKillEverySeconds * 1000;
    let nextProgress = chaosStart + opts.progressEverySeconds * 1000;
    let chaosRunning = true;

    const checker = (async () => {
      while (chaosRunning) {
        await liveCheck();
        await sleep(opts.checkEverySeconds * 1000);
      }
    })();
    const progress = (): string =>
      `[${since().toFixed(0)} s] ${live.size} hosts | ` +
      CHAOS_KINDS.filter((k) => injected[k] > 0)
        .map((k) => `${k} ${injected[k]}`)
        .join(', ') +
      ` | checks ${checks.run} run, ${checks.failed} failed, ${checks.skipped} skipped | replicas started ${set.incarnations.length}`;

    while (Date.now() < chaosEnd && !opts.signal?.aborted) {
      const now = Date.now();
      if (now >= nextProgress) {
        log(progress());
        nextProgress = now + opts.progressEverySeconds * 1000;
      }
      if (now >= nextLeaderKill) {
        const killed = await set.killLeader();
        if (killed) {
          count('killLeader');
          log(`kill -9 of the leader ${killed.name}`);
          nextLeaderKill = now + rnd.between(0.5, 1.5) * opts.leaderKillEverySeconds * 1000;
        } else nextLeaderKill = now + 2000; // nobody leads right now (a failover): try again soon
        continue;
      }
      if (now >= nextApiKill) {
        const down = rnd.between(0.5, 4);
        log(`kill -9 of kube-apiserver; restarting it on the same etcd in ${down.toFixed(1)} s`);
        await cp.killApiServer();
        count('killApiServer');
        await sleep(down * 1000);
        await cp.startApiServer();
        log(`kube-apiserver is back (${since().toFixed(0)} s)`);
        nextApiKill = Date.now() + rnd.between(0.5, 1.5) * opts.apiServerKillEverySeconds * 1000;
        continue;
      }
      // Keep the number of hosts near the target: creates win when below, deletes when above.
      const drift = (live.size - opts.hosts) / Math.max(10, opts.hosts * 0.1);
      const w = { ...weights, create: Math.max(1, weights.create * (1 - drift)), delete: live.size === 0 ? 0 : Math.max(1, weights.delete * (1 + drift)) };
      if (live.size === 0) w.migrate = 0;
      const kind = rnd.weighted(w);
      await actions[kind]!().catch((err: unknown) => refuse(kind, err));
      await sleep(rnd.between(100, 600));
    }
    chaosRunning = false;
    await checker;
    log(progress());
    checkAborted();

    // --- after the chaos: convergence, then the final check ------------------------------------
    emu.faults.clear();
    const stoppedAt = Date.now();
    const deadlineMs = 2 * opts.resyncSeconds * 1000;
    log(`chaos over; every live host must be Ready within ${deadlineMs / 1000} s (2 resync periods)`);
    let converged = false;
    let seconds: number | null = null;
    let lastProblems: string[] = [];
    let liveHosts = 0;
    for (;;) {
      const now = Date.now();
      try {
        const hosts = await listHn(kc);
        const ledger = await readLedger(kc);
        const routes = ownedRoutes(emu);
        liveHosts = hosts.length;
        const conflicts = pinConflicts(hosts);
        const notReady = hosts.filter((h) => !isReady(h) && !conflicts.has(h.metadata.name));
        const names = new Set(hosts.map((h) => h.metadata.name));
        for (const name of deletedAt.keys()) if (!names.has(name) && !goneSince.has(name)) goneSince.set(name, now);
        for (const name of orphans) if (!goneSince.has(name)) goneSince.set(name, now);
        lastProblems = [
          ...notReady.slice(0, 20).map((h) => `${h.metadata.name} not Ready: ${JSON.stringify(h.status?.conditions?.filter((c) => c.status !== 'True').map((c) => `${c.type}=${c.status}/${c.reason}: ${c.message}`))}`),
          ...(notReady.length > 20 ? [`… and ${notReady.length - 20} more hosts not Ready`] : []),
          ...(hosts.length !== live.size ? [`${hosts.length} HostNetworks exist, the soak left ${live.size}`] : []),
          ...allocationProblems({ hosts, ledger, routes }, { converged: true, pinConflictsExpected: true }),
          ...foreignRouteProblems(foreign.values(), tableRoutes(emu, TABLE)),
          ...leftoverRouteProblems(routes, names, goneSince),
          ...concurrentWriterProblems(emu.calls, (ak) => set.nameOf(ak)),
        ];
        if (lastProblems.length === 0) {
          converged = true;
          seconds = Math.round((now - stoppedAt) / 100) / 10;
          break;
        }
      } catch (err) {
        lastProblems = [`the final check could not read the cluster: ${errText(err)}`];
      }
      if (now - stoppedAt > deadlineMs) break;
      await sleep(1000);
    }
    checks.run++;
    if (converged) log(`converged ${seconds} s after the chaos: ${liveHosts} hosts Ready, every invariant holds`);
    else {
      checks.failed++;
      violate('final', [`not converged within ${deadlineMs / 1000} s after the chaos (2 resync periods)`, ...lastProblems]);
    }
    return report({ converged, seconds, deadlineSeconds: deadlineMs / 1000, liveHosts }, setup, logDir);
  } finally {
    await replicas?.stop().catch(() => undefined);
    await emu?.close().catch(() => undefined);
    if (cp && !opts.controlPlane) await cp.stop().catch(() => undefined);
    if (cp && opts.controlPlane) await cp.startApiServer().catch(() => undefined);
  }
}

/** The summary a person reads at the end (also what docs/soak.md quotes). */
export function summary(r: SoakReport): string {
  const lines = [
    `soak: ${r.options.minutes} min of chaos, ${r.options.hosts} hosts, seed ${r.options.seed}, resync ${r.options.resyncSeconds} s`,
    `set-up: ${r.setup.hosts} hosts Ready in ${r.setup.readySeconds} s`,
    `injected: ${CHAOS_KINDS.map((k) => `${k} ${r.injected[k]}`).join(', ')}`,
    `cloud faults that hit a call: ${CLOUD_FAULT_HITS.map((k) => `${k} ${r.cloudFaultsHit[k]}`).join(', ')}`,
    `replicas: ${r.replicas.processes} processes started, ${r.replicas.killed} killed -9, exits ${JSON.stringify(r.replicas.exited)}`,
    `cloud calls: ${r.cloudCalls.total} (${r.cloudCalls.writes} writes)`,
    `invariant checks: ${r.checks.run} run, ${r.checks.failed} failed, ${r.checks.skipped} skipped (API server down)`,
    `violations: ${r.violationCount}`,
    r.convergence.converged
      ? `convergence after the chaos: ${r.convergence.seconds} s (deadline ${r.convergence.deadlineSeconds} s), ${r.convergence.liveHosts} hosts`
      : `NOT converged within ${r.convergence.deadlineSeconds} s after the chaos`,
  ];
  for (const v of r.violations.slice(0, 30)) lines.push(`  VIOLATION (${v.phase}, ${v.at} s, seen ${v.seen}×): ${v.problem}`);
  return lines.join('\n');
}
