// The node of the one-node test cluster (hack/controlplane.ts with `withNode`): a kubelet on
// Debian's containerd and runc, with Debian's CNI plugins, inside a network namespace of its own
// so that nothing the kubelet or the CNI plugins do (iptables chains, bridges, forwarding)
// reaches the machine's own network. stop() leaves nothing behind: pods, shims, mounts, the
// kubelet's cgroups, the pods' network namespaces, the node's namespace and its link.
//
// The network (all of it inside 198.18.0.0/15, the range RFC 2544 sets aside for tests):
//   root namespace  veth 198.18.N.1/30  <- kube-apiserver and the test's emulator listen here
//   node namespace  veth 198.18.N.2/30, bridge hncni0 198.19.N.1/24, pods 198.19.N.x
// plus, in the root namespace, the route 198.19.N.0/24 via the node (so the API server and the
// tests reach pod ports), and in the node namespace a DNAT of the `kubernetes` Service address
// (10.96.0.1:443) to the API server: the one Service pods need, without a kube-proxy.
import { execFileSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface NodeNetwork {
  /** Name of the node's network namespace (/run/netns/<name>). */
  netns: string;
  /** The root-namespace end of the link: where the API server and the emulator listen. */
  hostAddress: string;
  /** The node's own address (the kubelet's --node-ip). */
  nodeAddress: string;
  /** The pods' block (the CNI bridge's range). */
  podCIDR: string;
  /** Root-namespace name of the link. */
  link: string;
  remove(): void;
}

export interface ClusterNode {
  name: string;
  network: NodeNetwork;
  /** containerd's socket (for `ctr --address`). */
  containerdSocket: string;
  /** Imports an image archive (docker save or OCI) into the CRI's namespace. */
  importImage(tarFile: string): void;
  /** Gives an imported image a second name (a "new tag" without a registry). */
  tagImage(source: string, target: string): void;
  stop(): Promise<void>;
}

export interface NodeOptions {
  dir: string;
  binDir: string;
  network: NodeNetwork;
  /** The API server as the node reaches it. */
  apiServer: string;
  /** The API server's port (the `kubernetes` Service is DNATed to hostAddress:apiPort). */
  apiPort: number;
  /** The `kubernetes` Service's ClusterIP (the first address of the service range). */
  serviceIP: string;
  /** Bearer token for the kubelet (an admin token: the test cluster runs no Node authorizer). */
  token: string;
  /** The sandbox image (already importable from pauseTar). */
  pauseImage: string;
  pauseTar: string;
  verbose: boolean;
  start(bin: string, args: string[], logFile: string, env?: NodeJS.ProcessEnv): ChildProcess;
  stopProcess(child: ChildProcess, graceMs?: number): Promise<void>;
}

const NODE_NAME = 'hostnet-node';
/** overlayfs, unless the node's directory is itself on overlayfs (a container): then native. */
function snapshotterFor(dir: string): 'overlayfs' | 'native' {
  try {
    return sh('stat', ['-fc', '%T', dir]).trim() === 'overlayfs' ? 'native' : 'overlayfs';
  } catch {
    return 'native';
  }
}
const CNI_BIN = '/usr/lib/cni';

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function inNetns(netns: string, cmd: string, args: string[]): string {
  // nsenter, not `ip netns exec`: the latter remounts /sys and the cgroup mounts disappear.
  return sh('nsenter', [`--net=/run/netns/${netns}`, cmd, ...args]);
}

/** Whether this machine can run the node at all (root, the Debian packages). */
export function nodePrerequisites(): string[] {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push('root');
  for (const [bin, pkg] of [
    ['/usr/bin/containerd', 'containerd'],
    ['/usr/bin/containerd-shim-runc-v2', 'containerd'],
    ['/usr/sbin/runc', 'runc'],
    [join(CNI_BIN, 'bridge'), 'containernetworking-plugins'],
  ] as const) {
    if (!existsSync(bin) && !(bin === '/usr/sbin/runc' && existsSync('/usr/bin/runc'))) missing.push(pkg);
  }
  return [...new Set(missing)];
}

/** Creates the node's namespace and link; needed before the API server binds hostAddress. */
export function createNodeNetwork(): NodeNetwork {
  const id = randomBytes(3).toString('hex');
  const n = randomBytes(1)[0]!;
  const netns = `hostnet-node-${id}`;
  const link = `hnn${id}`;
  const hostAddress = `198.18.${n}.1`;
  const nodeAddress = `198.18.${n}.2`;
  const podCIDR = `198.19.${n}.0/24`;
  const remove = (): void => {
    // Deleting the namespace deletes the link's peer and so the link and its route.
    for (const args of [['link', 'del', link], ['netns', 'del', netns]]) {
      try {
        sh('ip', args);
      } catch {
        // already gone
      }
    }
  };
  try {
    sh('ip', ['netns', 'add', netns]);
    sh('ip', ['link', 'add', link, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns]);
    sh('ip', ['addr', 'add', `${hostAddress}/30`, 'dev', link]);
    sh('ip', ['link', 'set', link, 'up']);
    inNetns(netns, 'ip', ['link', 'set', 'lo', 'up']);
    inNetns(netns, 'ip', ['addr', 'add', `${nodeAddress}/30`, 'dev', 'eth0']);
    inNetns(netns, 'ip', ['link', 'set', 'eth0', 'up']);
    inNetns(netns, 'ip', ['route', 'add', 'default', 'via', hostAddress]);
    inNetns(netns, 'sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
    sh('ip', ['route', 'add', podCIDR, 'via', nodeAddress, 'dev', link]);
  } catch (err) {
    remove();
    throw err;
  }
  return { netns, hostAddress, nodeAddress, podCIDR, link, remove };
}

function containerdConfig(dir: string, sock: string, pauseImage: string, snapshotter: string): string {
  return `version = 2
root = "${join(dir, 'root')}"
state = "${join(dir, 'state')}"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = "${sock}"
[ttrpc]
  address = "${sock}.ttrpc"
[debug]
  level = "warn"
[plugins."io.containerd.internal.v1.opt"]
  path = "${join(dir, 'opt')}"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${pauseImage}"
  disable_apparmor = true
  restrict_oom_score_adj = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "${snapshotter}"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "${CNI_BIN}"
    conf_dir = "${join(dir, 'net.d')}"
`;
}

function kubeletConfig(opts: NodeOptions, sock: string, healthzPort: number): string {
  return JSON.stringify({
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    cgroupDriver: 'cgroupfs',
    failSwapOn: false,
    containerRuntimeEndpoint: `unix://${sock}`,
    address: opts.network.nodeAddress,
    port: 10250,
    readOnlyPort: 0,
    healthzBindAddress: '127.0.0.1',
    healthzPort,
    // The API server calls the kubelet (logs, exec, port-forward) without a client certificate.
    authentication: { anonymous: { enabled: true }, webhook: { enabled: false } },
    authorization: { mode: 'AlwaysAllow' },
    // A throw-away node on a shared machine: disk or memory use by others must not evict pods.
    evictionHard: { 'memory.available': '1Mi', 'nodefs.available': '1%', 'imagefs.available': '1%' },
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    imageMinimumGCAge: '24h',
    localStorageCapacityIsolation: false,
    serializeImagePulls: false,
    // Speeds up status updates for the tests' waits.
    nodeStatusUpdateFrequency: '2s',
    syncFrequency: '5s',
    fileCheckFrequency: '5s',
    resolvConf: '/etc/resolv.conf',
  });
}

/** Mounts (from /proc/self/mountinfo) at or below `prefix`, deepest first. */
function mountsUnder(prefix: string): string[] {
  const lines = readFileSync('/proc/self/mountinfo', 'utf8').split('\n');
  const points = lines
    .map((l) => l.split(' ')[4])
    .filter((p): p is string => !!p && (p === prefix || p.startsWith(`${prefix}/`)))
    .map((p) => p.replace(/\\040/g, ' '));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

function cniNetnses(): Set<string> {
  const dir = '/run/netns';
  return new Set(existsSync(dir) ? readdirSync(dir).filter((n) => n.startsWith('cni-')) : []);
}

/** Removes a cgroup tree depth first (every task in it must be gone). */
function removeCgroupTree(path: string): void {
  if (!existsSync(path)) return;
  for (const entry of readdirSync(path)) {
    const child = join(path, entry);
    try {
      if (statSync(child).isDirectory()) removeCgroupTree(child);
    } catch {
      // raced with the kernel removing it
    }
  }
  try {
    rmdirSync(path);
  } catch {
    // busy: reported by the caller's check
  }
}

/** Every process in a cgroup tree (cgroup v1 or v2: cgroup.procs at each level). */
function cgroupPids(path: string): number[] {
  if (!existsSync(path)) return [];
  const pids: number[] = [];
  try {
    pids.push(...readFileSync(join(path, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number));
  } catch {
    // not a cgroup directory
  }
  for (const entry of readdirSync(path)) {
    const child = join(path, entry);
    try {
      if (statSync(child).isDirectory()) pids.push(...cgroupPids(child));
    } catch {
      // removed meanwhile
    }
  }
  return pids;
}

/**
 * The socket a containerd 1.6 runc shim listens on: /run/containerd/s/<sha256 of
 * "<containerd address>/<namespace>/<id>"> (containerd's shim.SocketAddress), from its arguments.
 */
function shimSocket(pid: number): string | undefined {
  try {
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const arg = (flag: string): string | undefined => args[args.indexOf(flag) + 1];
    const [ns, id, address] = [arg('-namespace'), arg('-id'), arg('-address')];
    if (!ns || !id || !address || !args[0]?.endsWith('containerd-shim-runc-v2')) return undefined;
    return join('/run/containerd/s', createHash('sha256').update(join(address, ns, id)).digest('hex'));
  } catch {
    return undefined;
  }
}

/** Processes whose command line mentions `needle` (our own socket path: nobody else's). */
function pidsMentioning(needle: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(needle)) pids.push(Number(entry));
    } catch {
      // exited
    }
  }
  return pids;
}

export async function startNode(opts: NodeOptions): Promise<ClusterNode> {
  const { dir, binDir, network } = opts;
  const ctrDir = join(dir, 'containerd');
  const sock = join(ctrDir, 'containerd.sock');
  const kubeletDir = join(dir, 'kubelet');
  for (const d of [ctrDir, join(ctrDir, 'net.d'), kubeletDir]) mkdirSync(d, { recursive: true });
  const cniBefore = cniNetnses();
  const snapshotter = snapshotterFor(ctrDir);
  const cgroupRoots = existsSync('/sys/fs/cgroup')
    ? readdirSync('/sys/fs/cgroup').map((c) => join('/sys/fs/cgroup', c, 'kubepods')).filter((p) => !existsSync(p))
    : [];
  const children: ChildProcess[] = [];
  const ctr = (args: string[]): string => sh('ctr', ['--address', sock, '--namespace', 'k8s.io', ...args]);

  const stop = async (): Promise<void> => {
    process.off('exit', onExit);
    const kubelet = children[1];
    if (kubelet) await opts.stopProcess(kubelet);
    // Pods: kill every task containerd runs (containers and sandboxes), then containerd itself;
    // any shim left (they outlive containerd by design) is found by our socket path.
    if (children[0]?.exitCode === null) {
      try {
        const tasks = ctr(['tasks', 'ls', '-q']).split('\n').filter(Boolean);
        // SIGKILL straight to every process in the kubelet's cgroups (one `ctr tasks kill` per
        // task costs seconds here); the shims see their tasks exit and `tasks delete` returns.
        for (const root of cgroupRoots) {
          for (const pid of cgroupPids(root)) {
            try {
              process.kill(pid, 'SIGKILL');
            } catch {
              // gone
            }
          }
        }
        // Deleting lets each shim clean up and exit; what is not deleted within 2 s (a task
        // containerd refuses to delete) is left to the SIGKILL of the shims below.
        const deadline = Date.now() + 2000;
        for (const t of tasks) {
          while (Date.now() < deadline) {
            try {
              ctr(['tasks', 'delete', t]);
              break;
            } catch {
              await new Promise((r) => setTimeout(r, 100));
            }
          }
        }
      } catch {
        // containerd not answering: the shims are killed below
      }
      await opts.stopProcess(children[0]);
    }
    releaseHostSync();
  };

  // What must not outlive this process even when it dies without stop() (the control plane's
  // exit handler only kills its direct children; shims and pods are not among them): every
  // process in the kubelet's cgroups, the shims (by our socket path), mounts, the pods'
  // namespaces and the cgroups. Synchronous, so it can run in an 'exit' handler.
  const releaseHostSync = (): void => {
    const shims = pidsMentioning(sock);
    const shimSockets = shims.map(shimSocket).filter((p): p is string => p !== undefined);
    const pids = new Set<number>(shims);
    for (const root of cgroupRoots) for (const pid of cgroupPids(root)) pids.add(pid);
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    // A killed shim leaves its socket behind.
    for (const p of shimSockets) rmSync(p, { force: true });
    // A cgroup can only be removed once the kernel has reaped its last task.
    const until = Date.now() + 5000;
    while (cgroupRoots.some((r) => cgroupPids(r).length > 0) && Date.now() < until) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    for (const m of mountsUnder(dir)) {
      try {
        sh('umount', ['-l', m]);
      } catch {
        // not mounted any more
      }
    }
    for (const ns of cniNetnses()) {
      if (cniBefore.has(ns)) continue;
      try {
        sh('ip', ['netns', 'del', ns]);
      } catch {
        // gone
      }
    }
    for (const root of cgroupRoots) removeCgroupTree(root);
  };
  const onExit = (): void => {
    if (children[0]?.exitCode === null) children[0].kill('SIGKILL');
    if (children[1]?.exitCode === null) children[1].kill('SIGKILL');
    releaseHostSync();
  };
  process.on('exit', onExit);

  try {
    writeFileSync(join(ctrDir, 'config.toml'), containerdConfig(ctrDir, sock, opts.pauseImage, snapshotter));
    writeFileSync(
      join(ctrDir, 'net.d', '10-hostnet-node.conflist'),
      JSON.stringify({
        cniVersion: '1.0.0',
        name: 'hostnet-node',
        plugins: [
          {
            type: 'bridge',
            bridge: 'hncni0',
            isGateway: true,
            ipMasq: false,
            hairpinMode: true,
            ipam: { type: 'host-local', ranges: [[{ subnet: network.podCIDR }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: join(dir, 'cni-ipam') },
          },
        ],
      }),
    );
    const env = { ...process.env, PATH: `/usr/sbin:/usr/bin:/sbin:/bin` };
    children.push(opts.start('nsenter', [`--net=/run/netns/${network.netns}`, '/usr/bin/containerd', '--config', join(ctrDir, 'config.toml')], join(dir, 'containerd.log'), env));
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        ctr(['version']);
        break;
      } catch (err) {
        if (children[0]!.exitCode !== null || Date.now() > deadline) throw new Error(`containerd did not start; see ${join(dir, 'containerd.log')}: ${String(err)}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    const node: ClusterNode = {
      name: NODE_NAME,
      network,
      containerdSocket: sock,
      importImage: (tarFile) => void ctr(['images', 'import', '--snapshotter', snapshotter, tarFile]),
      tagImage: (source, target) => void ctr(['images', 'tag', '--force', source, target]),
      stop,
    };
    node.importImage(opts.pauseTar);

    // The one Service pods need: `kubernetes` (10.96.0.1:443) to the API server.
    inNetns(network.netns, 'iptables', ['-t', 'nat', '-A', 'PREROUTING', '-d', opts.serviceIP, '-p', 'tcp', '--dport', '443', '-j', 'DNAT', '--to-destination', `${network.hostAddress}:${opts.apiPort}`]);
    inNetns(network.netns, 'iptables', ['-t', 'nat', '-A', 'OUTPUT', '-d', opts.serviceIP, '-p', 'tcp', '--dport', '443', '-j', 'DNAT', '--to-destination', `${network.hostAddress}:${opts.apiPort}`]);

    const kubeconfig = join(kubeletDir, 'kubeconfig');
    writeFileSync(
      kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        `clusters: [{name: test, cluster: {server: "${opts.apiServer}", insecure-skip-tls-verify: true}}]`,
        `users: [{name: kubelet, user: {token: "${opts.token}"}}]`,
        'contexts: [{name: test, context: {cluster: test, user: kubelet}}]',
        'current-context: test',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    const healthzPort = 10248;
    writeFileSync(join(kubeletDir, 'config.json'), kubeletConfig(opts, sock, healthzPort));
    children.push(
      opts.start(
        'nsenter',
        [
          `--net=/run/netns/${network.netns}`,
          join(binDir, 'kubelet'),
          `--config=${join(kubeletDir, 'config.json')}`,
          `--kubeconfig=${kubeconfig}`,
          `--root-dir=${join(kubeletDir, 'root')}`,
          `--cert-dir=${join(kubeletDir, 'pki')}`,
          `--hostname-override=${NODE_NAME}`,
          `--node-ip=${network.nodeAddress}`,
          '--v=1',
        ],
        join(dir, 'kubelet.log'),
        env,
      ),
    );
    return node;
  } catch (err) {
    await stop();
    throw err;
  }
}
