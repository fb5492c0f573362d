// What each scenario is measured against, computed from the emulator's settings of the run:
// - the floor: the fewest write calls the cloud allows — ceil(changes / largest batch) per route
//   table; UpdateRouteTable documents no cap on the add/mod/del lists, so unless --max-batch is
//   given the largest batch is "all of them" and the floor is one call per table — and the time
//   those calls take at the emulator's latency (mean latency + jitter/2) and write rate;
// - per-route: one call per route change (the Kubernetes route controller's strategy) under the
//   same throttle: changes / rate seconds, plus one call's latency.
import type { CallRecord } from '../../test/emulator/server.js';

export interface CloudSettings {
  latencyMs: number;
  jitterMs: number;
  writesPerSecond: number;
  maxBatch: number;
  tables: number;
}

export interface Floor {
  changes: number;
  writeCalls: number;
  seconds: number;
  perHostSeconds: number;
  perRouteCalls: number;
  perRouteSeconds: number;
  note: string;
}

export function callSeconds(c: CloudSettings): number {
  return (c.latencyMs + c.jitterMs / 2) / 1000;
}

/** Time for `calls` sequential write calls at the throttle: the first goes at once (bucket full). */
function writeTime(calls: number, c: CloudSettings): number {
  if (calls <= 0) return 0;
  const burst = Math.max(1, c.writesPerSecond);
  const beyondBurst = Math.max(0, calls - burst);
  const rateTime = c.writesPerSecond > 0 ? beyondBurst / c.writesPerSecond : 0;
  // Calls to one table never overlap: each costs its latency; the throttle caps the rate.
  return Math.max(calls * callSeconds(c), rateTime + callSeconds(c));
}

export function routeFloor(changes: number, c: CloudSettings, note = ''): Floor {
  const perTable = changes === 0 ? 0 : c.maxBatch > 0 ? Math.ceil(changes / c.maxBatch) : 1;
  const writeCalls = perTable * c.tables;
  const perRouteCalls = changes * c.tables;
  return {
    changes,
    writeCalls,
    seconds: round(writeTime(writeCalls, c)),
    perHostSeconds: changes === 0 ? 0 : round(callSeconds(c)),
    perRouteCalls,
    perRouteSeconds: round(c.writesPerSecond > 0 ? perRouteCalls / c.writesPerSecond + callSeconds(c) : perRouteCalls * callSeconds(c)),
    note,
  };
}

/** The NIC step: one UpdatePort per host (a per-host floor: ports cannot be batched). */
export function nicFloor(hosts: number, c: CloudSettings, clientQps: number): Floor & { clientLimitedSeconds: number } {
  const f = routeFloor(hosts, c, 'NIC: one UpdatePort per host cannot be batched; routes as for cold start');
  const updatePortSeconds = c.writesPerSecond > 0 ? hosts / c.writesPerSecond : hosts * callSeconds(c);
  return {
    ...f,
    writeCalls: f.writeCalls + hosts,
    seconds: round(Math.max(f.seconds, updatePortSeconds)),
    perRouteCalls: f.perRouteCalls + hosts,
    perRouteSeconds: round(c.writesPerSecond > 0 ? (f.perRouteCalls + hosts) / c.writesPerSecond : 0),
    // The controller's write bucket (--cloud-qps): one UpdatePort per host. (Reads have a bucket
    // of their own, --cloud-read-qps, and a wave of hosts shares one port listing.)
    clientLimitedSeconds: round(clientQps > 0 ? hosts / clientQps : 0),
  };
}

export interface CallSummary {
  total: number;
  reads: number;
  writes: number;
  throttled: number;
  errors: number;
  byOperation: Record<string, { calls: number; throttled: number; errors: number }>;
  updateRouteTable: { ok: number; changes: number; batchMin: number; batchMedian: number; batchMax: number; batchMean: number };
}

export function summarizeCalls(calls: CallRecord[]): CallSummary {
  const byOperation: CallSummary['byOperation'] = {};
  let reads = 0;
  let writes = 0;
  let throttled = 0;
  let errors = 0;
  const batches: number[] = [];
  for (const c of calls) {
    const op = (byOperation[c.operation] ??= { calls: 0, throttled: 0, errors: 0 });
    op.calls++;
    if (c.method === 'GET') reads++;
    else writes++;
    if (c.throttled) {
      throttled++;
      op.throttled++;
    } else if (c.status >= 400 || c.status === 0) {
      errors++;
      op.errors++;
    }
    if (c.operation === 'UpdateRouteTable' && c.status === 200 && c.delta) batches.push(c.delta.add + c.delta.mod + c.delta.del);
  }
  batches.sort((a, b) => a - b);
  const sum = batches.reduce((s, b) => s + b, 0);
  return {
    total: calls.length,
    reads,
    writes,
    throttled,
    errors,
    byOperation,
    updateRouteTable: {
      ok: batches.length,
      changes: sum,
      batchMin: batches[0] ?? 0,
      batchMedian: batches[Math.floor(batches.length / 2)] ?? 0,
      batchMax: batches[batches.length - 1] ?? 0,
      batchMean: batches.length ? round(sum / batches.length, 1) : 0,
    },
  };
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

export function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
