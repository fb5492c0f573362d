// A real dockerd inside an ECS namespace of the netns model (docs/netns.md), as on a real host:
// Debian's docker.io started with `nsenter --net` (not `ip netns exec`, which remounts /sys and
// hides the cgroup mounts dockerd needs), vfs storage, its own data root, exec root and socket
// under a temporary directory. Images come from `docker import` of the busybox rootfs that
// hack/host-tools.sh builds (no registry is reachable).
//
//   const avail = dockerAvailable(); if (!avail.ok) skip(avail.reason)
//   const d = await startDockerd('ecs-1');          // in hostNs('ecs-1')
//   await d.docker(['run', '-d', '--net', 'hostnet', BUSYBOX_IMAGE, 'sleep', '600']);
//   await d.stop();
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn, type ChildProcess } from 'node:child_process';
import { run, runOk } from './exec.js';
import { hostNs, netnsAvailable, type NetnsAvailability } from './index.js';

export const HOST_TOOLS = fileURLToPath(new URL('../../hack/host-tools.sh', import.meta.url));
/** The image every container of the tests runs (imported into each dockerd). */
export const BUSYBOX_IMAGE = 'hostnet/busybox:test';

let availability: NetnsAvailability | undefined;
let imagePath: string | undefined;

/**
 * Can a dockerd run in the model's namespaces? The netns model works, and docker.io and
 * busybox-static are installed (hack/host-tools.sh installs them with apt-get when missing and
 * builds the image tarball). Cached.
 */
export function dockerAvailable(): NetnsAvailability {
  if (availability) return availability;
  const net = netnsAvailable();
  if (!net.ok) return (availability = net);
  try {
    execFileSync('bash', [HOST_TOOLS, 'all'], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 900_000 });
    imagePath = execFileSync('bash', [HOST_TOOLS, 'path'], { encoding: 'utf8' }).trim();
  } catch (err) {
    const e = err as { stderr?: Buffer };
    return (availability = { ok: false, reason: `hack/host-tools.sh could not install docker.io/busybox-static: ${e.stderr?.toString().trim() ?? String(err)}` });
  }
  for (const cmd of ['dockerd', 'docker', 'nsenter']) {
    try {
      execFileSync('sh', ['-c', 'command -v "$1"', 'sh', cmd], { stdio: 'ignore' });
    } catch {
      return (availability = { ok: false, reason: `${cmd} not found after hack/host-tools.sh` });
    }
  }
  if (!existsSync('/sys/fs/cgroup') || !readFileSync('/proc/mounts', 'utf8').includes('cgroup')) return (availability = { ok: false, reason: 'no cgroup file system mounted: dockerd cannot run containers' });
  return (availability = { ok: true });
}

export interface Dockerd {
  host: string;
  /** The Engine API socket path (the agent's --docker-host is unix://<sock>). */
  sock: string;
  dir: string;
  /** Runs the docker CLI against this daemon. */
  docker(args: readonly string[], timeoutMs?: number): Promise<string>;
  /** Like docker() but never rejects. */
  dockerRaw(args: readonly string[], timeoutMs?: number): ReturnType<typeof run>;
  /** SIGTERM, wait for exit (dockerd stops its containers). */
  stop(): Promise<void>;
  /** stop() then start again with the same data root (networks persist, containers are stopped). */
  restart(): Promise<void>;
  logs(): string;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of live) if (p.exitCode === null) p.kill('SIGKILL');
});

async function waitSocket(sock: string, proc: ChildProcess, out: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`dockerd exited with ${proc.exitCode}:\n${out().slice(-3000)}`);
    if (existsSync(sock)) {
      const r = await run('docker', ['-H', `unix://${sock}`, 'version', '--format', '{{.Server.Version}}'], { timeoutMs: 10_000 });
      if (r.code === 0) return;
    }
    if (Date.now() > deadline) throw new Error(`dockerd did not answer on ${sock} within 60 s:\n${out().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Starts dockerd in the namespace of ECS `host` and imports BUSYBOX_IMAGE. */
export async function startDockerd(host: string): Promise<Dockerd> {
  const avail = dockerAvailable();
  if (!avail.ok) throw new Error(avail.reason);
  const ns = hostNs(host);
  const dir = mkdtempSync(join(tmpdir(), `hn-dockerd-${host}-`));
  const sock = join(dir, 'docker.sock');
  let out = '';
  let proc: ChildProcess | undefined;
  const launch = async (): Promise<void> => {
    const p = spawn(
      'nsenter',
      [`--net=/run/netns/${ns}`, 'dockerd', '--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec'), '--pidfile', join(dir, 'docker.pid'), '-H', `unix://${sock}`, '--storage-driver', 'vfs', '--log-level', 'warn'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    live.add(p);
    p.on('exit', () => live.delete(p));
    p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    proc = p;
    await waitSocket(sock, p, () => out);
  };
  const stop = async (): Promise<void> => {
    const p = proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill('SIGTERM');
    const t = setTimeout(() => p.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(t);
  };
  const dockerRaw = (args: readonly string[], timeoutMs = 60_000): ReturnType<typeof run> => run('docker', ['-H', `unix://${sock}`, ...args], { timeoutMs });
  const docker = (args: readonly string[], timeoutMs = 60_000): Promise<string> => runOk('docker', ['-H', `unix://${sock}`, ...args], { timeoutMs });
  await launch();
  await docker(['import', imagePath!, BUSYBOX_IMAGE]);
  return {
    host,
    sock,
    dir,
    docker,
    dockerRaw,
    stop: async () => {
      await stop();
      // dockerd unmounts what it mounted on a clean stop; a killed one may leave its exec root's mounts.
      await unmountUnder(dir);
      rmSync(dir, { recursive: true, force: true });
    },
    restart: async () => {
      await stop();
      await launch();
    },
    logs: () => out,
  };
}

async function unmountUnder(dir: string): Promise<void> {
  const mounts = readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[1] ?? '')
    .filter((m) => m.startsWith(dir))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) await run('umount', ['-l', m]);
}

/** `docker run -d --net NETWORK --name NAME busybox sleep 3600`; the container's address on it. */
export async function runContainer(d: Dockerd, name: string, network = 'hostnet'): Promise<string> {
  await d.dockerRaw(['rm', '-f', name]);
  await d.docker(['run', '-d', '--net', network, '--name', name, BUSYBOX_IMAGE, 'sleep', '3600']);
  const ip = (await d.docker(['inspect', '-f', `{{(index .NetworkSettings.Networks "${network}").IPAddress}}`, name])).trim();
  if (!/^\d+\.\d+\.\d+\.\d+$/.test(ip)) throw new Error(`${name} has no address on ${network}: ${JSON.stringify(ip)}`);
  return ip;
}

/** One echo request from inside a container; true when answered. */
export async function containerPing(d: Dockerd, name: string, ip: string, count = 1): Promise<boolean> {
  return (await d.dockerRaw(['exec', name, 'ping', '-c', String(count), '-W', '1', ip], 30_000)).code === 0;
}

/** busybox traceroute from inside a container: each hop's address ('*' when silent). */
export async function containerTraceroute(d: Dockerd, name: string, ip: string): Promise<string[]> {
  const out = await d.docker(['exec', name, 'traceroute', '-n', '-q', '1', '-w', '1', '-m', '6', ip], 60_000);
  const hops: string[] = [];
  for (const line of out.split('\n')) {
    const m = /^\s*(\d+)\s+(\S+)/.exec(line);
    if (m) hops[Number(m[1]) - 1] = m[2]!;
  }
  return Array.from(hops, (h) => h ?? '*');
}
