// The stdout table, the README markdown table, and the machine description.
import { cpus, loadavg, totalmem, release } from 'node:os';
import type { ScenarioResult } from './scenarios.js';
import type { AllocatorResult } from './allocator.js';

export interface Machine {
  nproc: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  kernel: string;
  /** 1, 5 and 15 minute load averages when the run started (the machine is shared: context for every figure). */
  loadAverage: number[];
}

export function machine(): Machine {
  return {
    nproc: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    kernel: release(),
    loadAverage: loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

function pad(s: string, w: number, right = false): string {
  return right ? s.padStart(w) : s.padEnd(w);
}

function fmt(x: number): string {
  if (x === 0) return '0';
  if (x >= 100) return String(Math.round(x));
  if (x >= 10) return x.toFixed(1);
  return x.toFixed(2);
}

export function textTable(results: ScenarioResult[]): string {
  const head = ['N', 'scenario', 'status', 'wall s', 'floor s', 'x floor', 'API floor s', 'wall/API floor', 'API W/host', 'per-route s', 'per-route/meas', 'p50 s', 'p99 s', 'reads', 'writes', 'floor W', 'throttled', 'URT ok', 'batch mean/max', 'apiserver req', 'CPU s', 'RSS MiB'];
  const rows = results.map((r) => [
    String(r.n),
    r.scenario,
    r.status,
    fmt(r.wallSeconds),
    fmt(r.floor.seconds),
    fmt(r.ratios.wallVsFloor),
    r.apiFloor ? fmt(r.apiFloor.seconds) : '–',
    r.ratios.wallVsApiFloor !== undefined ? fmt(r.ratios.wallVsApiFloor) : '–',
    fmt(r.apiserver.writesPerHost ?? 0),
    fmt(r.floor.perRouteSeconds),
    fmt(r.ratios.perRouteVsMeasured),
    fmt(r.perHost.p50),
    fmt(r.perHost.p99),
    String(r.cloud.reads),
    String(r.cloud.writes),
    String(r.floor.writeCalls),
    String(r.cloud.throttled),
    String(r.cloud.updateRouteTable.ok),
    `${r.cloud.updateRouteTable.batchMean}/${r.cloud.updateRouteTable.batchMax}`,
    String(r.apiserver.controllerRequests),
    fmt(r.controller.cpuSeconds),
    fmt(r.controller.peakRssMiB),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => pad(c, widths[i]!, i >= 3)).join('  ');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export function callsTable(results: ScenarioResult[]): string {
  const lines: string[] = [];
  for (const r of results) {
    const ops = Object.entries(r.cloud.byOperation)
      .map(([op, c]) => `${op} ${c.calls}${c.throttled ? ` (${c.throttled} throttled)` : ''}${c.errors ? ` (${c.errors} errors)` : ''}`)
      .join(', ');
    const api = Object.entries(r.apiserver.byKind)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    lines.push(`N=${r.n} ${r.scenario}: cloud: ${ops || 'none'}`);
    lines.push(`${' '.repeat(String(r.n).length + 3 + r.scenario.length)}  apiserver: ${api || 'none'}`);
    const d = Object.entries(r.details)
      .filter(([, v]) => typeof v !== 'object')
      .map(([k, v]) => `${k}=${String(v)}`)
      .join(', ');
    if (d) lines.push(`${' '.repeat(String(r.n).length + 3 + r.scenario.length)}  ${d}`);
  }
  return lines.join('\n');
}

export function allocatorTable(a: AllocatorResult): string {
  const w = Math.max(...a.steps.map((s) => s.step.length));
  const lines = [`${'step'.padEnd(w)}  ${'ms'.padStart(9)}  ${'µs/op'.padStart(9)}  ${'heap Δ MiB'.padStart(10)}`];
  for (const s of a.steps) lines.push(`${s.step.padEnd(w)}  ${s.ms.toFixed(2).padStart(9)}  ${s.perOpUs.toFixed(2).padStart(9)}  ${s.heapDeltaMiB.toFixed(2).padStart(10)}`);
  lines.push(`ledger ConfigMap data size: ${a.configMapBytes.map((c) => `${c.records} records = ${(c.bytes / 1024).toFixed(0)} KiB`).join(', ')} (ConfigMap limit 1024 KiB)`);
  return lines.join('\n');
}

/** Events written for the scenario (created or re-counted), from the API server's counters. */
function eventsOf(r: ScenarioResult): string {
  return String((r.apiserver.byKind['POST events'] ?? 0) + (r.apiserver.byKind['PATCH events'] ?? 0));
}

export function markdown(results: ScenarioResult[], m: Machine, flags: string, a?: AllocatorResult): string {
  const lines = [
    `Machine: ${m.nproc} cores (${m.cpuModel}), ${m.memoryGiB} GiB, load average at start ${(m.loadAverage ?? []).join(' ')}, Node ${m.node}. Emulator: 50 ms ± 10 ms per call, 10 writes/s per AK. Controller flags: \`${flags}\`.`,
    '',
    '| N | scenario | wall (s) | floor (s) | API floor (s) | wall / API floor | API writes / host | per-route (s) | p50 / p99 per host (s) | cloud reads / writes (floor) | throttled | route batch mean / max | API requests | Events | CPU (s) | peak RSS (MiB) |',
    '|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of results) {
    const st = r.status === 'ok' ? '' : ` (${r.status})`;
    lines.push(
      `| ${r.n} | ${r.scenario}${st} | ${fmt(r.wallSeconds)} | ${fmt(r.floor.seconds)} | ${r.apiFloor ? fmt(r.apiFloor.seconds) : '–'} | ${r.ratios.wallVsApiFloor !== undefined ? fmt(r.ratios.wallVsApiFloor) : '–'} | ${fmt(r.apiserver.writesPerHost ?? 0)} | ${fmt(r.floor.perRouteSeconds)} | ${r.perHost.count ? `${fmt(r.perHost.p50)} / ${fmt(r.perHost.p99)}` : '–'} | ${r.cloud.reads} / ${r.cloud.writes} (${r.floor.writeCalls}) | ${r.cloud.throttled} | ${r.cloud.updateRouteTable.batchMean} / ${r.cloud.updateRouteTable.batchMax} | ${r.apiserver.controllerRequests} | ${eventsOf(r)} | ${fmt(r.controller.cpuSeconds)} | ${fmt(r.controller.peakRssMiB)} |`,
    );
  }
  if (a) {
    const get = (prefix: string) => a.steps.find((s) => s.step.startsWith(prefix));
    const al = get('allocate ');
    const re = get('release ');
    const rb = get('rebuild ');
    if (al && re && rb) lines.push('', `Allocator, 65,536 /24 blocks of 10.0.0.0/8: allocate ${fmt(al.ms)} ms (${al.heapDeltaMiB} MiB heap), release ${fmt(re.ms)} ms, rebuild from records ${fmt(rb.ms)} ms.`);
  }
  return lines.join('\n');
}
