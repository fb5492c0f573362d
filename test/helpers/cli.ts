// Runs the pinned command-line tools (helm, kubectl, promtool, prometheus from hack/tools.sh) the
// way a person would, and gives tests their exit code and output.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { loadAllYaml, type KubernetesObject } from '@kubernetes/client-node';
import { ensureTools } from '../../hack/controlplane.js';
import { repoRoot } from './kube.js';

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  input?: string;
  env?: Record<string, string>;
  cwd?: string;
  timeoutMs?: number;
}

let binDir: string | undefined;

/** Path of a pinned tool: helm, kubectl, promtool, prometheus (built or fetched on first use). */
export function tool(name: 'helm' | 'kubectl' | 'promtool' | 'prometheus'): string {
  binDir ??= ensureTools('k8s', 'helm', 'prometheus');
  return join(binDir, name);
}

export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd ?? repoRoot,
      env: { ...process.env, ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', (err) => (clearTimeout(timer), reject(err)));
    child.on('close', (code) => (clearTimeout(timer), resolve({ code, stdout, stderr })));
    child.stdin.end(opts.input ?? '');
  });
}

/** Like run(), but rejects with the command and its output when it does not exit 0. */
export async function runOk(cmd: string, args: string[], opts: RunOptions = {}): Promise<string> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd.split('/').pop()} ${args.join(' ')} exited with ${r.code}:\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

export function kubectl(kubeconfig: string, args: string[], opts: RunOptions = {}): Promise<string> {
  return runOk(tool('kubectl'), [`--kubeconfig=${kubeconfig}`, ...args], opts);
}

/** helm with its state kept out of $HOME (no repositories, caches or plugins are used). */
export function helm(kubeconfig: string | undefined, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const home = join(repoRoot, 'node_modules', '.cache', 'hostnet-helm');
  return run(tool('helm'), [...(kubeconfig ? [`--kubeconfig=${kubeconfig}`] : []), ...args], {
    ...opts,
    env: { HELM_CACHE_HOME: join(home, 'cache'), HELM_CONFIG_HOME: join(home, 'config'), HELM_DATA_HOME: join(home, 'data'), ...opts.env },
  });
}

export const chartDir = join(repoRoot, 'manifests', 'charts', 'hostnet-controller');

/** The objects of a multi-document YAML text, without empty documents. */
export function parseObjects(yaml: string): KubernetesObject[] {
  return (loadAllYaml(yaml) as (KubernetesObject | null)[]).filter((o): o is KubernetesObject => Boolean(o?.kind));
}

export function randomSuffix(): string {
  return Math.random().toString(36).slice(2, 8);
}
