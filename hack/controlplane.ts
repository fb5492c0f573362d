// A throw-away Kubernetes control plane on loopback: etcd + kube-apiserver (RBAC on), an admin
// kubeconfig in a temp dir, nothing left behind after stop(). Used by the mocha suites (one per
// run, see test/helpers/controlplane.ts), the demo and the benchmark.
//
// As a command: `tsx hack/controlplane.ts` starts one, prints how to reach it, and stops it
// cleanly on Ctrl-C / SIGTERM.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'node:https';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

export interface ControlPlane {
  /** https://127.0.0.1:PORT */
  url: string;
  /** Path of an admin kubeconfig (system:masters). */
  kubeconfig: string;
  /** The admin bearer token inside that kubeconfig. */
  token: string;
  /** Directory holding every file of this control plane (removed by stop). */
  dir: string;
  /** Directory with kube-apiserver, etcd, kubectl, helm, prometheus. */
  binDir: string;
  /** kill -9 of kube-apiserver (etcd keeps running); resolves once the process is gone. */
  killApiServer(): Promise<void>;
  /**
   * Starts kube-apiserver again on the same etcd, port, serving certificates (the cert dir keeps
   * the self-signed pair it wrote at first start), tokens and service-account keys, so every
   * kubeconfig and client keeps working; resolves once /readyz answers 200. A no-op while it runs.
   */
  startApiServer(): Promise<void>;
  /** Whether kube-apiserver is running (false between killApiServer and startApiServer). */
  apiServerRunning(): boolean;
  stop(): Promise<void>;
}

export interface ControlPlaneOptions {
  /** Print the components' logs to stderr instead of only to files. */
  verbose?: boolean;
  /** How long to wait for /readyz. */
  readyTimeoutMs?: number;
}

/** Runs hack/tools.sh so the binaries exist (a no-op when the cache is warm) and returns their dir. */
export function ensureTools(...what: string[]): string {
  const script = join(repoRoot, 'hack', 'tools.sh');
  for (const w of what) execFileSync(script, [w], { stdio: ['ignore', 'inherit', 'inherit'] });
  return execFileSync(script, ['path'], { encoding: 'utf8' }).trim();
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

// Every child of every control plane of this process, so an abrupt exit still kills them.
const allChildren = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of allChildren) if (c.exitCode === null) c.kill('SIGKILL');
});

function startProcess(bin: string, args: string[], logFile: string, verbose: boolean, append = false): ChildProcess {
  const out = createWriteStream(logFile, { flags: append ? 'a' : 'w' });
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  allChildren.add(child);
  child.on('exit', () => allChildren.delete(child));
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  if (verbose) child.stderr?.pipe(process.stderr);
  return child;
}

async function stopProcess(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

async function waitReady(url: string, token: string, child: ChildProcess, timeoutMs: number, logFile: string): Promise<void> {
  const agent = new Agent({ rejectUnauthorized: false });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`kube-apiserver exited with code ${child.exitCode}; see ${logFile}`);
    const status = await new Promise<number>((resolve) => {
      const req = request(`${url}/readyz`, { agent, headers: { Authorization: `Bearer ${token}` }, timeout: 2000 }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', () => resolve(0));
      req.on('timeout', () => req.destroy());
      req.end();
    });
    if (status === 200) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`kube-apiserver not ready after ${timeoutMs} ms; see ${logFile}`);
}

export async function startControlPlane(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const binDir = ensureTools('k8s', 'etcd');
  // tmpfs when there is one: etcd fsyncs on every write and the data is throw-away anyway.
  const base = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
  const dir = mkdtempSync(join(base, 'hostnet-cp-'));
  const verbose = opts.verbose ?? false;
  const children: ChildProcess[] = [];
  const stop = async (): Promise<void> => {
    for (const c of children.reverse()) await stopProcess(c);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const [etcdPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    children.push(
      startProcess(
        join(binDir, 'etcd'),
        [
          '--name=hostnet-test',
          `--data-dir=${join(dir, 'etcd')}`,
          `--listen-client-urls=${etcdUrl}`,
          `--advertise-client-urls=${etcdUrl}`,
          `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
          `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
          `--initial-cluster=hostnet-test=http://127.0.0.1:${peerPort}`,
          '--log-level=warn',
        ],
        join(dir, 'etcd.log'),
        verbose,
      ),
    );

    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileSync(join(dir, 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
    writeFileSync(join(dir, 'sa.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    const token = randomBytes(24).toString('hex');
    writeFileSync(join(dir, 'tokens.csv'), `${token},admin,admin-uid,system:masters\n`, { mode: 0o600 });

    const url = `https://127.0.0.1:${apiPort}`;
    const apiLog = join(dir, 'kube-apiserver.log');
    const apiArgs = [
      `--etcd-servers=${etcdUrl}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${apiPort}`,
      `--cert-dir=${join(dir, 'certs')}`,
      `--token-auth-file=${join(dir, 'tokens.csv')}`,
      '--authorization-mode=RBAC',
      '--service-cluster-ip-range=10.96.0.0/16',
      '--service-account-issuer=https://kubernetes.default.svc',
      `--service-account-key-file=${join(dir, 'sa.pub')}`,
      `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
      '--api-audiences=https://kubernetes.default.svc',
      '--allow-privileged=true',
      // No controller-manager runs, so nothing would create service-account token secrets for pods.
      '--disable-admission-plugins=ServiceAccount',
      '--endpoint-reconciler-type=none',
      '--v=0',
    ];
    // One log for every run of kube-apiserver (appended), so a restart keeps the earlier lines.
    let api = startProcess(join(binDir, 'kube-apiserver'), apiArgs, apiLog, verbose);
    children.push(api);
    await waitReady(url, token, api, opts.readyTimeoutMs ?? 90_000, apiLog);
    const running = (): boolean => api.exitCode === null && api.signalCode === null;
    const killApiServer = async (): Promise<void> => {
      if (!running()) return;
      const exited = new Promise<void>((resolve) => api.once('exit', () => resolve()));
      api.kill('SIGKILL');
      await exited;
    };
    const startApiServer = async (): Promise<void> => {
      if (running()) return;
      const next = startProcess(join(binDir, 'kube-apiserver'), apiArgs, apiLog, verbose, true);
      children[children.indexOf(api)] = next;
      api = next;
      await waitReady(url, token, api, opts.readyTimeoutMs ?? 90_000, apiLog);
    };

    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(
      kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        '- name: hostnet-test',
        '  cluster:',
        `    server: ${url}`,
        '    insecure-skip-tls-verify: true',
        'users:',
        '- name: admin',
        '  user:',
        `    token: ${token}`,
        'contexts:',
        '- name: hostnet-test',
        '  context: {cluster: hostnet-test, user: admin}',
        'current-context: hostnet-test',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    return { url, kubeconfig, token, dir, binDir, killApiServer, startApiServer, apiServerRunning: running, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  const cp = await startControlPlane({ verbose: process.argv.includes('--verbose') });
  console.log(`control plane ready in ${((Date.now() - started) / 1000).toFixed(1)}s at ${cp.url}`);
  console.log(`export KUBECONFIG=${cp.kubeconfig}`);
  console.log(`export PATH=${cp.binDir}:$PATH`);
  console.log('Ctrl-C stops it and removes every file.');
  let stopping = false;
  const shutdown = (): void => {
    if (stopping) return;
    stopping = true;
    console.log('\nstopping the control plane...');
    void cp.stop().then(() => {
      console.log('stopped; nothing left behind.');
      process.exit(0);
    });
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
