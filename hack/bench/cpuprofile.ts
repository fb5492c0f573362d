// Summary of a V8 CPU profile (node --cpu-prof, .cpuprofile): the top functions by self time and
// the self time per origin (our code, each npm package, node's internals, GC, idle), so that a
// profile can be read without Chrome DevTools. Used by `make bench --cpu-profile DIR`; also
// runnable: npx tsx hack/bench/cpuprofile.ts FILE [TOP]
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Where a function comes from: "controller/…" (ours), "npm:<package>", "node:internal", or V8's own entries. */
export function origin(url: string, functionName: string): string {
  if (!url) return `(${functionName.replace(/[()]/g, '') || 'native'})`;
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return `npm:${nm[1]}`;
  if (url.startsWith('node:')) return 'node:internal';
  const ours = /\/(controller|hack|test)\/(.*)$/.exec(url);
  if (ours) return `${ours[1]}/${ours[2]!.split('/')[0]}`;
  return url;
}

export interface SelfTime {
  what: string;
  origin: string;
  ms: number;
}

export function selfTimes(p: Profile): { total: number; functions: SelfTime[]; origins: { origin: string; ms: number }[] } {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  // timeDeltas[i] is the time between sample i-1 and sample i: it belongs to sample i.
  for (let i = 0; i < p.samples.length; i++) selfUs.set(p.samples[i]!, (selfUs.get(p.samples[i]!) ?? 0) + (p.timeDeltas[i] ?? 0));
  const fn = new Map<string, SelfTime>();
  const org = new Map<string, number>();
  let total = 0;
  for (const [id, us] of selfUs) {
    const n = byId.get(id);
    if (!n) continue;
    const cf = n.callFrame;
    const file = cf.url.replace(/^file:\/\//, '').replace(/^.*\/(node_modules|controller|hack|test)\//, '$1/');
    const what = `${cf.functionName || '(anonymous)'} ${file ? `${file}:${cf.lineNumber + 1}` : ''}`.trim();
    const o = origin(cf.url, cf.functionName);
    const e = fn.get(what) ?? { what, origin: o, ms: 0 };
    e.ms += us / 1000;
    fn.set(what, e);
    org.set(o, (org.get(o) ?? 0) + us / 1000);
    total += us / 1000;
  }
  return {
    total,
    functions: [...fn.values()].sort((a, b) => b.ms - a.ms),
    origins: [...org.entries()].map(([o, ms]) => ({ origin: o, ms })).sort((a, b) => b.ms - a.ms),
  };
}

export function summarizeProfile(file: string, top = 30): string {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const s = selfTimes(p);
  const busy = s.total - (s.origins.find((o) => o.origin === '(idle)')?.ms ?? 0);
  const pct = (ms: number): string => `${((100 * ms) / Math.max(1, s.total)).toFixed(1).padStart(5)}%`;
  const lines = [
    // V8 charges the time between two samples to the second one: on a loaded machine that includes
    // time spent waiting for a CPU, so the figures are wall-clock shares (compare with /proc CPU seconds).
    `CPU profile ${file}: ${((p.endTime - p.startTime) / 1e6).toFixed(1)} s profiled, ${(busy / 1000).toFixed(1)} s sampled not idle (wall-clock between samples: on a loaded machine also time waiting for a CPU)`,
    '',
    'self time by origin:',
    ...s.origins.slice(0, 20).map((o) => `  ${(o.ms / 1000).toFixed(2).padStart(8)} s ${pct(o.ms)}  ${o.origin}`),
    '',
    `top ${top} functions by self time:`,
    ...s.functions.slice(0, top).map((f) => `  ${(f.ms / 1000).toFixed(2).padStart(8)} s ${pct(f.ms)}  ${f.what}`),
  ];
  return lines.join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [file, top] = process.argv.slice(2);
  if (!file || file === '--help') {
    console.log('Usage: npx tsx hack/bench/cpuprofile.ts FILE.cpuprofile [TOP]   top functions by self time and self time by origin');
    process.exit(file ? 0 : 2);
  }
  console.log(summarizeProfile(file, Number(top ?? 30)));
}
