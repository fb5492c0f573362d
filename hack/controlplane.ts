// A throw-away Kubernetes control plane on loopback: etcd + kube-apiserver (RBAC on), an admin
// kubeconfig in a temp dir, nothing left behind after stop(). Used by the mocha suites (one per
// run, see test/helpers/controlplane.ts), the demo and the benchmark.
//
// With `withNode` it is a one-node cluster instead (test/cluster/, `--with-node` for the demo):
// kube-controller-manager and kube-scheduler too, and a kubelet on containerd in a network
// namespace of its own (hack/node.ts); the API server then listens on that namespace's link
// instead of loopback. The node-less plane stays the default: it starts in seconds.
//
// As a command: `tsx hack/controlplane.ts [--with-node]` starts one, prints how to reach it, and
// stops it cleanly on Ctrl-C / SIGTERM.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'node:https';
import { createNodeNetwork, nodePrerequisites, startNode, type ClusterNode, type NodeNetwork } from './node.js';

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
  /** The node, when started with `withNode`. */
  node?: ClusterNode;
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
  /**
   * Also run kube-controller-manager, kube-scheduler and a kubelet on containerd (one node that
   * runs pods). Needs root and Debian's containerd, runc and containernetworking-plugins.
   */
  withNode?: boolean;
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

function startProcess(bin: string, args: string[], logFile: string, verbose: boolean, env?: NodeJS.ProcessEnv, append = false): ChildProcess {
  const out = createWriteStream(logFile, { flags: append ? 'a' : 'w' });
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], ...(env ? { env } : {}) });
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

function get(url: string, token: string): Promise<{ status: number; body: string }> {
  const agent = new Agent({ rejectUnauthorized: false });
  return new Promise((resolve) => {
    const req = request(url, { agent, headers: { Authorization: `Bearer ${token}` }, timeout: 2000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', () => resolve({ status: 0, body: '' }));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

async function waitReady(url: string, token: string, child: ChildProcess, timeoutMs: number, logFile: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`kube-apiserver exited with code ${child.exitCode}; see ${logFile}`);
    const { status } = await get(`${url}/readyz`, token);
    if (status === 200) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`kube-apiserver not ready after ${timeoutMs} ms; see ${logFile}`);
}

/** Waits until the node reports Ready (its runtime and CNI answer). */
async function waitNodeReady(url: string, token: string, name: string, kubelet: ChildProcess | undefined, timeoutMs: number, logFile: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'not registered';
  while (Date.now() < deadline) {
    if (kubelet && kubelet.exitCode !== null) throw new Error(`kubelet exited with code ${kubelet.exitCode}; see ${logFile}`);
    const { status, body } = await get(`${url}/api/v1/nodes/${name}`, token);
    if (status === 200) {
      const node = JSON.parse(body) as { status?: { conditions?: { type: string; status: string; message?: string }[] } };
      const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
      if (ready?.status === 'True') return;
      last = ready?.message ?? 'no Ready condition yet';
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`node ${name} not Ready after ${timeoutMs} ms (${last}); see ${logFile}`);
}

export async function startControlPlane(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  if (opts.withNode) {
    const missing = nodePrerequisites();
    if (missing.length > 0) throw new Error(`a control plane with a node needs ${missing.join(', ')} (as root, hack/image.sh packages apt-installs them)`);
  }
  const binDir = ensureTools('k8s', 'etcd', ...(opts.withNode ? ['cluster'] : []));
  // tmpfs when there is one: etcd fsyncs on every write and the data is throw-away anyway.
  const base = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
  const dir = mkdtempSync(join(base, 'hostnet-cp-'));
  const verbose = opts.verbose ?? false;
  const children: ChildProcess[] = [];
  let network: NodeNetwork | undefined;
  let node: ClusterNode | undefined;
  const stop = async (): Promise<void> => {
    await node?.stop();
    for (const c of children.reverse()) await stopProcess(c);
    network?.remove();
    process.off('exit', removeNetwork);
    rmSync(dir, { recursive: true, force: true });
  };
  // Also on an abrupt exit (the node has its own handler for its processes, mounts and cgroups).
  const removeNetwork = (): void => network?.remove();
  try {
    // The pause image first (it may build), then the link the API server will listen on.
    const pauseTar = opts.withNode ? execFileSync(join(repoRoot, 'hack', 'image.sh'), ['pause'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim() : '';
    if (opts.withNode) {
      network = createNodeNetwork();
      process.on('exit', removeNetwork);
    }
    const apiAddress = network?.hostAddress ?? '127.0.0.1';
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

    const url = `https://${apiAddress}:${apiPort}`;
    const apiLog = join(dir, 'kube-apiserver.log');
    const apiArgs = [
      `--etcd-servers=${etcdUrl}`,
      `--bind-address=${apiAddress}`,
      `--advertise-address=${apiAddress}`,
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
      // Without a node no pod runs, and nothing would create the service accounts' tokens.
      ...(opts.withNode ? [] : ['--disable-admission-plugins=ServiceAccount']),
      // The node's name is not in any DNS: reach the kubelet (exec, logs) by its address.
      ...(opts.withNode ? ['--kubelet-preferred-address-types=InternalIP'] : []),
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
      const next = startProcess(join(binDir, 'kube-apiserver'), apiArgs, apiLog, verbose, undefined, true);
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
    if (network) {
      const certs = join(dir, 'certs');
      // The self-signed serving certificate the API server wrote (it names 10.96.0.1 and the
      // advertise address): the CA pods are given in kube-root-ca.crt.
      const rootCa = join(certs, 'apiserver.crt');
      children.push(
        startProcess(
          join(binDir, 'kube-controller-manager'),
          [
            `--kubeconfig=${kubeconfig}`,
            '--leader-elect=false',
            '--bind-address=127.0.0.1',
            `--secure-port=${await freePort()}`,
            `--cert-dir=${join(dir, 'kcm-certs')}`,
            `--root-ca-file=${rootCa}`,
            `--service-account-private-key-file=${join(dir, 'sa.key')}`,
            '--use-service-account-credentials=false',
            '--controllers=*,-nodeipam,-service-lb-controller,-cloud-node-lifecycle,-route',
            '--node-monitor-grace-period=40s',
            '--v=0',
          ],
          join(dir, 'kube-controller-manager.log'),
          verbose,
        ),
      );
      children.push(
        startProcess(
          join(binDir, 'kube-scheduler'),
          [`--kubeconfig=${kubeconfig}`, '--leader-elect=false', '--bind-address=127.0.0.1', `--secure-port=${await freePort()}`, `--cert-dir=${join(dir, 'scheduler-certs')}`, '--v=0'],
          join(dir, 'kube-scheduler.log'),
          verbose,
        ),
      );
      node = await startNode({
        dir: join(dir, 'node'),
        binDir,
        network,
        apiServer: url,
        apiPort,
        serviceIP: '10.96.0.1',
        token,
        pauseImage: execFileSync(join(repoRoot, 'hack', 'image.sh'), ['pause-image'], { encoding: 'utf8' }).trim(),
        pauseTar,
        verbose,
        start: (bin, args, logFile, env) => startProcess(bin, args, logFile, verbose, env),
        stopProcess,
      });
      await waitNodeReady(url, token, node.name, undefined, opts.readyTimeoutMs ?? 120_000, join(dir, 'node', 'kubelet.log'));
    }
    return { url, kubeconfig, token, dir, binDir, ...(node ? { node } : {}), killApiServer, startApiServer, apiServerRunning: running, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  const cp = await startControlPlane({ verbose: process.argv.includes('--verbose'), withNode: process.argv.includes('--with-node') });
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
