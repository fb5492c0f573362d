// Summary of a V8 heap snapshot (node --heapsnapshot-signal, .heapsnapshot): self size by node
// type and by constructor, and retained sizes from the dominator tree (Cooper, Harvey and
// Kennedy's iterative algorithm; weak edges do not retain), so that "where does the memory go"
// can be answered without Chrome DevTools. Used by `make bench --heap-snapshot DIR`; also
// runnable: npx tsx hack/bench/heapsnapshot.ts FILE [TOP]
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]]; edge_fields: string[]; edge_types: [string[], ...unknown[]] }; node_count: number };
  nodes: number[];
  edges: number[];
  strings: string[];
}

export interface HeapSummary {
  totalBytes: number;
  byType: { type: string; count: number; bytes: number }[];
  byConstructor: { name: string; count: number; selfBytes: number; retainedBytes: number }[];
  largest: { name: string; type: string; retainedBytes: number; selfBytes: number; via: string }[];
}

export function analyze(s: Snapshot, top = 25): HeapSummary {
  const { meta } = s.snapshot;
  const nf = meta.node_fields.length;
  const ef = meta.edge_fields.length;
  const nType = meta.node_fields.indexOf('type');
  const nName = meta.node_fields.indexOf('name');
  const nSelf = meta.node_fields.indexOf('self_size');
  const nEdges = meta.node_fields.indexOf('edge_count');
  const eType = meta.edge_fields.indexOf('type');
  const eName = meta.edge_fields.indexOf('name_or_index');
  const eTo = meta.edge_fields.indexOf('to_node');
  const nodeTypes = meta.node_types[0];
  const edgeTypes = meta.edge_types[0];
  const weak = edgeTypes.indexOf('weak');
  const count = s.nodes.length / nf;
  const firstEdge = new Uint32Array(count + 1);
  for (let i = 0, e = 0; i < count; i++) {
    firstEdge[i] = e;
    e += s.nodes[i * nf + nEdges]! * ef;
    firstEdge[i + 1] = e;
  }
  const typeOf = (i: number): string => nodeTypes[s.nodes[i * nf + nType]!]!;
  const nameOf = (i: number): string => s.strings[s.nodes[i * nf + nName]!]!;
  const selfOf = (i: number): number => s.nodes[i * nf + nSelf]!;
  const label = (i: number): string => {
    const t = typeOf(i);
    if (t === 'object' || t === 'closure' || t === 'native' || t === 'synthetic' || t === 'hidden') return nameOf(i) || `(${t})`;
    return `(${t})`;
  };

  // Depth-first post-order from the root (node 0), strong edges only.
  const post = new Int32Array(count).fill(-1);
  const order: number[] = [];
  const stack: number[] = [0];
  const cursor = new Uint32Array(count);
  const seen = new Uint8Array(count);
  seen[0] = 1;
  for (let i = 0; i < count; i++) cursor[i] = firstEdge[i]!;
  while (stack.length) {
    const v = stack[stack.length - 1]!;
    let pushed = false;
    while (cursor[v]! < firstEdge[v + 1]!) {
      const e = cursor[v]!;
      cursor[v] = e + ef;
      if (s.edges[e + eType] === weak) continue;
      const w = s.edges[e + eTo]! / nf;
      if (!seen[w]) {
        seen[w] = 1;
        stack.push(w);
        pushed = true;
        break;
      }
    }
    if (!pushed) {
      stack.pop();
      post[v] = order.length;
      order.push(v);
    }
  }
  // Predecessors (strong edges between reachable nodes).
  const predCount = new Uint32Array(count + 1);
  for (let v = 0; v < count; v++) {
    if (post[v]! < 0) continue;
    for (let e = firstEdge[v]!; e < firstEdge[v + 1]!; e += ef) if (s.edges[e + eType] !== weak) predCount[s.edges[e + eTo]! / nf + 1]!++;
  }
  for (let i = 0; i < count; i++) predCount[i + 1]! += predCount[i]!;
  const preds = new Uint32Array(predCount[count]!);
  const fill = predCount.slice(0, count);
  for (let v = 0; v < count; v++) {
    if (post[v]! < 0) continue;
    for (let e = firstEdge[v]!; e < firstEdge[v + 1]!; e += ef) if (s.edges[e + eType] !== weak) preds[fill[s.edges[e + eTo]! / nf]!++] = v;
  }
  const idom = new Int32Array(count).fill(-1);
  idom[0] = 0;
  const intersect = (a: number, b: number): number => {
    while (a !== b) {
      while (post[a]! < post[b]!) a = idom[a]!;
      while (post[b]! < post[a]!) b = idom[b]!;
    }
    return a;
  };
  for (let changed = true; changed; ) {
    changed = false;
    for (let k = order.length - 2; k >= 0; k--) {
      const b = order[k]!;
      let d = -1;
      for (let p = predCount[b]!; p < predCount[b + 1]!; p++) {
        const q = preds[p]!;
        if (idom[q]! < 0) continue;
        d = d < 0 ? q : intersect(q, d);
      }
      if (d >= 0 && idom[b] !== d) {
        idom[b] = d;
        changed = true;
      }
    }
  }
  const retained = new Float64Array(count);
  for (const v of order) retained[v]! += selfOf(v);
  for (const v of order) if (v !== 0 && idom[v]! >= 0) retained[idom[v]!]! += retained[v]!;

  const byType = new Map<string, { count: number; bytes: number }>();
  const byCtor = new Map<string, { count: number; selfBytes: number; retainedBytes: number }>();
  let totalBytes = 0;
  for (let i = 0; i < count; i++) {
    if (post[i]! < 0) continue;
    const t = typeOf(i);
    const b = selfOf(i);
    totalBytes += b;
    const bt = byType.get(t) ?? { count: 0, bytes: 0 };
    bt.count++;
    bt.bytes += b;
    byType.set(t, bt);
    const name = label(i);
    const c = byCtor.get(name) ?? { count: 0, selfBytes: 0, retainedBytes: 0 };
    c.count++;
    c.selfBytes += b;
    // Retained of a constructor: only instances not dominated by another instance of it (no double count).
    let d = idom[i]!;
    let nested = false;
    for (let hops = 0; d > 0 && hops < 64; hops++, d = idom[d]!) if (label(d) === name) { nested = true; break; }
    if (!nested) c.retainedBytes += retained[i]!;
    byCtor.set(name, c);
  }
  // The largest single objects below the (synthetic) roots, with the edge their dominator holds them by.
  const via = (i: number): string => {
    const d = idom[i]!;
    for (let e = firstEdge[d]!; e < firstEdge[d + 1]!; e += ef) {
      if (s.edges[e + eTo]! / nf !== i) continue;
      const t = edgeTypes[s.edges[e + eType]!];
      const n = t === 'element' || t === 'hidden' ? `[${s.edges[e + eName]}]` : s.strings[s.edges[e + eName]!];
      return `${label(d)}.${n}`;
    }
    return `${label(d)} (indirect)`;
  };
  const candidates: number[] = [];
  for (let i = 1; i < count; i++) if (post[i]! >= 0 && typeOf(i) !== 'synthetic' && retained[i]! > 256 * 1024) candidates.push(i);
  candidates.sort((a, b) => retained[b]! - retained[a]!);
  return {
    totalBytes,
    byType: [...byType.entries()].map(([type, v]) => ({ type, ...v })).sort((a, b) => b.bytes - a.bytes),
    byConstructor: [...byCtor.entries()].map(([name, v]) => ({ name, ...v })).sort((a, b) => b.retainedBytes - a.retainedBytes).slice(0, top),
    largest: candidates.slice(0, top).map((i) => ({ name: label(i), type: typeOf(i), retainedBytes: retained[i]!, selfBytes: selfOf(i), via: via(i) })),
  };
}

const mib = (b: number): string => (b / 1024 / 1024).toFixed(2).padStart(8);

export function summarizeHeapSnapshot(file: string, top = 25): string {
  const h = analyze(JSON.parse(readFileSync(file, 'utf8')) as Snapshot, top);
  return [
    `heap snapshot ${file}: ${mib(h.totalBytes).trim()} MiB reachable (V8 heap objects; RSS adds code, buffers and the heap's free space)`,
    '',
    'self size by node type:',
    ...h.byType.map((t) => `  ${mib(t.bytes)} MiB  ${String(t.count).padStart(8)}  ${t.type}`),
    '',
    `top ${top} constructors by retained size (MiB retained, MiB self, count):`,
    ...h.byConstructor.map((c) => `  ${mib(c.retainedBytes)} ${mib(c.selfBytes)} ${String(c.count).padStart(8)}  ${c.name}`),
    '',
    `largest objects by retained size (MiB retained, held by):`,
    ...h.largest.map((o) => `  ${mib(o.retainedBytes)}  ${o.name} (${o.type}) ← ${o.via}`),
  ].join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [file, top] = process.argv.slice(2);
  if (!file || file === '--help') {
    console.log('Usage: npx tsx hack/bench/heapsnapshot.ts FILE.heapsnapshot [TOP]   self and retained size by constructor, largest objects');
    process.exit(file ? 0 : 2);
  }
  console.log(summarizeHeapSnapshot(file, Number(top ?? 25)));
}
