// A real Prometheus server (Debian's binary, from the tool cache) on a loopback port with a
// throw-away config and storage directory, for tests that scrape the controller and query the
// HTTP API like a dashboard or an alert would.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../hack/controlplane.js';
import { tool } from './cli.js';
import { waitFor } from './kube.js';

export interface Sample {
  metric: Record<string, string>;
  value: number;
}

export interface PrometheusServer {
  /** http://127.0.0.1:PORT */
  url: string;
  dir: string;
  /** An instant query through /api/v1/query; rejects with Prometheus' error for a bad query. */
  query(expr: string): Promise<Sample[]>;
  /** GET on an API path (e.g. /api/v1/rules), the `data` of the answer. */
  api<T>(path: string): Promise<T>;
  logs(): string;
  stop(): Promise<void>;
}

export interface PrometheusOptions {
  /** Scrape targets as URLs (http://host:port/path); one job per entry. */
  targets: { job: string; url: string }[];
  scrapeInterval?: string;
  /** Rule files to load (absolute paths). */
  ruleFiles?: string[];
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of live) if (p.exitCode === null) p.kill('SIGKILL');
});

export async function startPrometheus(opts: PrometheusOptions): Promise<PrometheusServer> {
  const dir = mkdtempSync(join(tmpdir(), 'hostnet-prometheus-'));
  const interval = opts.scrapeInterval ?? '1s';
  const config = {
    global: { scrape_interval: interval, scrape_timeout: interval, evaluation_interval: interval },
    rule_files: opts.ruleFiles ?? [],
    scrape_configs: opts.targets.map((t) => {
      const u = new URL(t.url);
      return { job_name: t.job, metrics_path: u.pathname, scheme: u.protocol.replace(':', ''), static_configs: [{ targets: [u.host] }] };
    }),
  };
  // JSON is YAML: no YAML writer needed.
  writeFileSync(join(dir, 'prometheus.yml'), JSON.stringify(config, null, 2));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const proc = spawn(
    tool('prometheus'),
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      `--web.console.templates=${join(dir, 'consoles')}`,
      `--web.console.libraries=${join(dir, 'console_libraries')}`,
      '--storage.tsdb.retention.time=1h',
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  live.add(proc);
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => proc.on('exit', () => (live.delete(proc), resolve())));

  const stop = async (): Promise<void> => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  const api = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${url}${path}`);
    const body = (await res.json()) as { status: string; data: T; error?: string; errorType?: string };
    if (body.status !== 'success') throw new Error(`prometheus ${path}: ${body.errorType}: ${body.error}`);
    return body.data;
  };

  try {
    await waitFor(
      'prometheus ready',
      async () => {
        if (proc.exitCode !== null) throw new Error(`prometheus exited with ${proc.exitCode}:\n${out}`);
        return fetch(`${url}/-/ready`).then((r) => r.ok, () => false);
      },
      30_000,
      100,
    );
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\n${out}`);
  }

  return {
    url,
    dir,
    api,
    query: async (expr) => {
      const data = await api<{ resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] }>(`/api/v1/query?query=${encodeURIComponent(expr)}`);
      if (data.resultType === 'scalar') return [{ metric: {}, value: Number((data.result as unknown as [number, string])[1]) }];
      return data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
    },
    logs: () => out,
    stop,
  };
}
