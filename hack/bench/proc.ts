// CPU seconds and peak RSS of a process from /proc (Linux): utime+stime of /proc/PID/stat, VmHWM
// of /proc/PID/status (reset per scenario by writing 5 to /proc/PID/clear_refs), plus a sampled
// VmRSS maximum as a fallback when the reset is not allowed.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

let ticks = 100;
try {
  ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
} catch {
  // keep 100, the Linux default
}

export function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the ")" of the command name: state is field 3; utime 14, stime 15.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) / ticks;
  } catch {
    return undefined;
  }
}

function statusKb(pid: number, key: string): number | undefined {
  try {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Pids of processes whose command line contains `needle` (our own children, e.g. by temp dir). */
export function pidsMatching(needle: string, exe: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8');
      if (cmd.includes(needle) && cmd.split('\0')[0]!.endsWith(exe)) out.push(Number(d));
    } catch {
      // gone
    }
  }
  return out;
}

export interface ProcWindow {
  cpuSeconds: number;
  peakRssMiB: number;
  /** How the peak was obtained: VmHWM after a reset, or the maximum of 250 ms samples. */
  peakSource: 'VmHWM' | 'sampled';
}

/** Watches one process over a window (a scenario). */
export class ProcWindowMeter {
  private cpu0 = 0;
  private carried = 0;
  private maxRssKb = 0;
  private hwmReset = false;
  private timer?: NodeJS.Timeout;

  constructor(public pid: number) {}

  start(): void {
    this.cpu0 = cpuSeconds(this.pid) ?? 0;
    this.maxRssKb = statusKb(this.pid, 'VmRSS') ?? 0;
    try {
      writeFileSync(`/proc/${this.pid}/clear_refs`, '5');
      this.hwmReset = true;
    } catch {
      this.hwmReset = false;
    }
    this.timer = setInterval(() => this.sample(), 250);
    this.timer.unref();
  }

  private sample(): void {
    const rss = statusKb(this.pid, 'VmRSS');
    if (rss !== undefined) this.maxRssKb = Math.max(this.maxRssKb, rss);
  }

  /** Call just before the watched process is killed: keeps what it used so far. */
  beforeKill(): void {
    this.sample();
    this.carried += (cpuSeconds(this.pid) ?? this.cpu0) - this.cpu0;
    const hwm = this.hwmReset ? statusKb(this.pid, 'VmHWM') : undefined;
    if (hwm !== undefined) this.maxRssKb = Math.max(this.maxRssKb, hwm);
  }

  /** A new process (started after beforeKill) replaces the one watched; its whole life counts. */
  switchTo(pid: number): void {
    this.pid = pid;
    this.cpu0 = 0;
  }

  stop(): ProcWindow {
    if (this.timer) clearInterval(this.timer);
    this.sample();
    const cpu = this.carried + (cpuSeconds(this.pid) ?? this.cpu0) - this.cpu0;
    const hwm = this.hwmReset ? statusKb(this.pid, 'VmHWM') : undefined;
    const peakKb = hwm !== undefined ? Math.max(hwm, this.maxRssKb) : this.maxRssKb;
    return { cpuSeconds: round(cpu, 2), peakRssMiB: round(peakKb / 1024, 1), peakSource: hwm !== undefined ? 'VmHWM' : 'sampled' };
  }
}

export function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
