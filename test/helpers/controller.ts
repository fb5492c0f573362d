// Runs the real controller as a child process, the way a user runs it (flags, a kubeconfig,
// credentials from the environment), and gives tests its logs, metrics and a way to stop or
// kill it.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { freePort, type ControlPlane } from '../../hack/controlplane.js';
import type { KubeConfig } from '@kubernetes/client-node';
import { adminKubeConfig, controlPlane } from './controlplane.js';
import { installCrd, repoRoot, resetCluster } from './kube.js';
import { SEED, startEmulator, type Emulator } from '../emulator/server.js';

export interface ControllerProcess {
  proc: ChildProcess;
  metricsUrl: string;
  healthUrl: string;
  logs(): string;
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>;
  /** SIGTERM and wait (graceful shutdown). */
  stop(): Promise<number | null>;
  /** SIGKILL and wait (a crash). */
  kill(): Promise<number | null>;
  metric(name: string, labels?: Record<string, string>): Promise<number | undefined>;
}

export interface StartControllerOptions {
  kubeconfig: string;
  args?: string[];
  env?: Record<string, string>;
  /** Wait until /readyz answers 200 (default true). */
  waitReady?: boolean;
  /** Also wait until this replica leads and has finished its start-up sync. */
  waitLeader?: boolean;
  /** Run the production bundle (dist/bin/, `npm run build`) instead of the TypeScript sources. */
  compiled?: boolean;
  /** Run this compiled entry point instead (a bundle the test built itself, hack/bundle.ts). */
  entry?: string;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of live) if (p.exitCode === null) p.kill('SIGKILL');
});

/** Flags for a controller driving the emulator started by startEmulator(). */
export function emulatorArgs(emulatorUrl: string): string[] {
  return [
    '--cloud-provider=huaweicloud',
    `--cloud-endpoint=${emulatorUrl}`,
    `--cloud-project-id=${SEED.projectId}`,
    `--route-table-ids=${SEED.routeTableId}`,
    `--security-group-id=${SEED.securityGroupId}`,
  ];
}

export function emulatorEnv(): Record<string, string> {
  return { HUAWEICLOUD_SDK_AK: SEED.ak, HUAWEICLOUD_SDK_SK: SEED.sk };
}

export async function startController(opts: StartControllerOptions): Promise<ControllerProcess> {
  const [mPort, hPort] = [await freePort(), await freePort()];
  const args = [
    `--kubeconfig=${opts.kubeconfig}`,
    `--metrics-bind-address=127.0.0.1:${mPort}`,
    `--health-bind-address=127.0.0.1:${hPort}`,
    '--log-format=json',
    '--log-level=debug',
    ...(opts.args ?? []),
  ];
  const cmd = opts.entry
    ? [process.execPath, opts.entry, ...args]
    : opts.compiled
    ? [process.execPath, join(repoRoot, 'dist', 'bin', 'hostnet-controller.js'), ...args]
    : [process.execPath, '--import', 'tsx', join(repoRoot, 'controller', 'main.ts'), ...args];
  const proc = spawn(cmd[0]!, cmd.slice(1), {
    cwd: repoRoot,
    // The suites read the ledger, Lease and route marks of the installation "default"; the tests
    // of the automatic id pass HOSTNET_INSTALLATION_ID: '' (an empty variable counts as unset).
    env: { ...process.env, HOSTNET_LOG_FORMAT: 'json', HOSTNET_INSTALLATION_ID: 'default', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(proc);
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => (live.delete(proc), resolve(code))));
  const metricsUrl = `http://127.0.0.1:${mPort}/metrics`;
  const healthUrl = `http://127.0.0.1:${hPort}`;
  const wait = async (signal: NodeJS.Signals): Promise<number | null> => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
    return exited;
  };
  const cp: ControllerProcess = {
    proc,
    metricsUrl,
    healthUrl,
    logs: () => out,
    exited,
    stop: () => wait('SIGTERM'),
    kill: () => wait('SIGKILL'),
    metric: async (name, labels = {}) => {
      const text = await (await fetch(metricsUrl)).text();
      for (const line of text.split('\n')) {
        if (!line.startsWith(name)) continue;
        const m = /^([a-zA-Z_:]+)(\{(.*)\})? (\S+)$/.exec(line);
        if (!m || m[1] !== name) continue;
        const got = Object.fromEntries([...(m[3] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
        if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[4]);
      }
      return undefined;
    },
  };
  if (opts.waitReady ?? true) {
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`controller exited with ${proc.exitCode}:\n${out}`);
      const ok = await fetch(`${healthUrl}/readyz`).then((r) => r.ok, () => false);
      if (ok && (!opts.waitLeader || (await cp.metric('hostnet_leader').catch(() => 0)) === 1)) break;
      if (Date.now() > deadline) {
        await cp.kill();
        throw new Error(`controller not ready after 60 s:\n${out}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return cp;
}

/** The shared control plane with the CRD installed and no HostNetwork, ledger or lease left in it. */
export async function freshCluster(): Promise<{ cp: ControlPlane; kc: KubeConfig }> {
  const cp = await controlPlane();
  const kc = await adminKubeConfig();
  await installCrd(kc);
  await resetCluster(kc);
  return { cp, kc };
}

export interface EmulatorStack {
  kc: KubeConfig;
  emu: Emulator;
  ctl: ControllerProcess;
  /** Stops the controller, empties the cluster (see resetCluster) and closes the emulator. */
  stop(): Promise<void>;
}

/**
 * The usual e2e set-up: the shared control plane with the CRD and nothing else in it, a fresh
 * emulator with the seed topology, and a leading controller driving it.
 */
export async function startEmulatorStack(opts: { args?: string[]; emulator?: Parameters<typeof startEmulator>[0] } = {}): Promise<EmulatorStack> {
  const { cp, kc } = await freshCluster();
  const emu = await startEmulator(opts.emulator ?? {});
  const ctl = await startController({ kubeconfig: cp.kubeconfig, args: [...emulatorArgs(emu.url), ...(opts.args ?? [])], env: emulatorEnv(), waitLeader: true });
  return {
    kc,
    emu,
    ctl,
    stop: async () => {
      await ctl.stop();
      await resetCluster(kc);
      await emu.close();
    },
  };
}
