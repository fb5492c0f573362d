// hostnet-agent as a real process inside an ECS namespace of the netns model, the way it runs on
// a host (`--net=host` equivalent: the host's own network namespace, its dockerd's socket).
//
// The API server listens on the root namespace's loopback, which an ECS namespace cannot reach
// (and must not: no link to the root namespace exists). A tunnel carries the kubeconfig's
// address instead: inside the namespace a small listener on 127.0.0.1:<api port> forwards each
// connection over a unix socket (file system, visible from every namespace) to the real
// 127.0.0.1:<api port>. TLS stays end to end, so the kubeconfig is used unchanged.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from './exec.js';
import { hostNs } from './index.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const AGENT_MAIN = join(REPO, 'agent', 'main.ts');

/** Inside the namespace: listen on 127.0.0.1:PORT, forward to the unix socket SOCK. */
const INNER = `
const net = require('node:net');
const [port, sock] = process.argv.slice(1);
const srv = net.createServer((c) => { const u = net.connect(sock); c.pipe(u); u.pipe(c); c.on('error', () => u.destroy()); u.on('error', () => c.destroy()); });
srv.listen(Number(port), '127.0.0.1', () => process.stdout.write('ready\\n'));
`;

export interface KubeTunnel {
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of live) if (p.exitCode === null) p.kill('SIGKILL');
});

function track(p: ChildProcess): ChildProcess {
  live.add(p);
  p.on('exit', () => live.delete(p));
  return p;
}

async function stopChild(p: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  if (!p) return null;
  if (p.exitCode !== null || p.signalCode !== null) return p.exitCode;
  const exited = new Promise<number | null>((r) => p.once('exit', (code) => r(code)));
  p.kill(signal);
  const t = setTimeout(() => p.kill('SIGKILL'), 20_000);
  const code = await exited;
  clearTimeout(t);
  return code;
}

/** Makes https://127.0.0.1:<apiPort> of the root namespace reachable inside ECS `host`. */
export async function startKubeTunnel(host: string, apiUrl: string): Promise<KubeTunnel> {
  const port = Number(new URL(apiUrl).port);
  const dir = mkdtempSync(join(tmpdir(), `hn-kt-${host}-`));
  const sock = join(dir, 'api.sock');
  const open = new Set<{ destroy(): void }>();
  const outer: Server = createServer((c) => {
    const t = createConnection(port, '127.0.0.1');
    open.add(c).add(t);
    c.on('close', () => open.delete(c));
    t.on('close', () => open.delete(t));
    c.pipe(t);
    t.pipe(c);
    c.on('error', () => t.destroy());
    t.on('error', () => c.destroy());
  });
  await new Promise<void>((resolve, reject) => outer.once('error', reject).listen(sock, () => resolve()));
  const inner = track(spawn('nsenter', [`--net=/run/netns/${hostNs(host)}`, process.execPath, '-e', INNER, String(port), sock], { stdio: ['ignore', 'pipe', 'pipe'] }));
  await new Promise<void>((resolve, reject) => {
    let err = '';
    inner.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    inner.stdout!.once('data', () => resolve());
    inner.once('exit', (code) => reject(new Error(`kube tunnel in ${host} exited ${code}: ${err}`)));
  });
  return {
    stop: async () => {
      await stopChild(inner);
      // close() waits for every connection to end; a watch the API server keeps open never does.
      const closed = new Promise<void>((r) => outer.close(() => r()));
      for (const s of open) s.destroy();
      await closed;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface AgentProcess {
  host: string;
  proc: ChildProcess;
  logs(): string;
  /** Parsed JSON log lines. */
  lines(): { level?: string; message?: string; [k: string]: unknown }[];
  /** GET a path of the agent's health (/healthz) or metrics (/metrics) server, from inside its namespace. */
  get(path: '/healthz' | '/readyz' | '/metrics'): Promise<{ status: number; body: string }>;
  metric(name: string, labels?: Record<string, string>): Promise<number | undefined>;
  stop(): Promise<number | null>;
  kill(): Promise<number | null>;
  exited: Promise<number | null>;
}

export interface StartAgentOptions {
  host: string;
  kubeconfig: string;
  instanceId: string;
  dockerSock: string;
  args?: string[];
  /** Wait until /readyz answers 200 (default true). */
  waitReady?: boolean;
}

const METRICS_PORT = 19110;
const HEALTH_PORT = 19111;

/** Starts `hostnet-agent` (the TypeScript sources through tsx) inside the ECS namespace. */
export async function startAgent(o: StartAgentOptions): Promise<AgentProcess> {
  const ns = hostNs(o.host);
  const args = [
    `--net=/run/netns/${ns}`,
    process.execPath,
    '--import',
    'tsx',
    AGENT_MAIN,
    `--kubeconfig=${o.kubeconfig}`,
    `--instance-id=${o.instanceId}`,
    `--docker-host=unix://${o.dockerSock}`,
    // Each namespace has its own loopback, so every agent can use the same ports.
    `--metrics-bind-address=127.0.0.1:${METRICS_PORT}`,
    `--health-bind-address=127.0.0.1:${HEALTH_PORT}`,
    '--log-format=json',
    '--log-level=debug',
    ...(o.args ?? []),
  ];
  const proc = track(spawn('nsenter', args, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env } }));
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
  const get = async (path: string): Promise<{ status: number; body: string }> => {
    const port = path === '/metrics' ? METRICS_PORT : HEALTH_PORT;
    const script = `fetch('http://127.0.0.1:${port}${path}').then(async (r) => { process.stdout.write(r.status + '\\n' + (await r.text())); }, (e) => { process.stdout.write('0\\n' + e.message); })`;
    const r = await run('nsenter', [`--net=/run/netns/${ns}`, process.execPath, '-e', script], { timeoutMs: 20_000 });
    const i = r.stdout.indexOf('\n');
    return { status: Number(r.stdout.slice(0, i)), body: r.stdout.slice(i + 1) };
  };
  const a: AgentProcess = {
    host: o.host,
    proc,
    logs: () => out,
    lines: () =>
      out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => {
          try {
            return JSON.parse(l) as { level?: string; message?: string };
          } catch {
            return {};
          }
        }),
    get: get as AgentProcess['get'],
    metric: async (name, labels = {}) => {
      const { body } = await get('/metrics');
      for (const line of body.split('\n')) {
        const m = /^([a-zA-Z_:]+)(\{(.*)\})? (\S+)$/.exec(line);
        if (!m || m[1] !== name) continue;
        const got = Object.fromEntries([...(m[3] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
        if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[4]);
      }
      return undefined;
    },
    stop: () => stopChild(proc),
    kill: () => stopChild(proc, 'SIGKILL'),
    exited,
  };
  if (o.waitReady ?? true) {
    // Start-up is ~3 s of CPU (client-node and tsx); on a loaded shared machine that is minutes.
    const deadline = Date.now() + 180_000;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`hostnet-agent in ${o.host} exited with ${proc.exitCode}:\n${out}`);
      if ((await get('/readyz')).status === 200) break;
      if (Date.now() > deadline) {
        await a.kill();
        throw new Error(`hostnet-agent in ${o.host} not ready after 180 s:\n${out}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return a;
}
