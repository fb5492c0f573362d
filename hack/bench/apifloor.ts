// The API-server floor of a cold start, measured in the same run against the same API server:
// what the fastest possible controller would still need. N HostNetworks are created exactly as
// the cold start creates them (--concurrency in flight), and each one, as soon as its create has
// answered, receives only the writes no controller can avoid — the finalizer patch (while the
// design keeps a finalizer) and one status patch carrying a Ready status of the controller's
// shape — at the controller's concurrency (--workers). Its wall time runs, like the cold
// start's, from the first create until the last write has answered. No controller runs
// meanwhile; the objects are removed afterwards.
import PQueue from 'p-queue';
import { FINALIZER } from '../../controller/api/types.js';
import { round } from './floors.js';
import type { BenchKube } from './kube.js';

export interface ApiFloor {
  hosts: number;
  /** Parallel writers (the controller's --workers). */
  concurrency: number;
  finalizer: boolean;
  /** Floor writes per host (finalizer + status). */
  writesPerHost: number;
  seconds: number;
  /** Seconds from the first create until every create has answered (the creates alone). */
  createsSeconds: number;
}

/** A status of the size and shape the controller writes for a Ready host. */
function readyStatus(i: number, instanceID: string, generation: number): Record<string, unknown> {
  const now = new Date().toISOString();
  const cond = (type: string, reason: string, message: string) => ({ type, status: 'True', reason, message, lastTransitionTime: now, observedGeneration: generation });
  const block = `10.${(i >> 8) & 255}.${i & 255}.0/24`;
  return {
    podCIDR: block,
    nextHop: instanceID,
    observedGeneration: generation,
    routeTables: [{ id: 'rtb-floor', state: 'Programmed' }],
    conditions: [
      cond('CIDRAllocated', 'Allocated', `block ${block} allocated from pool 10.0.0.0/8`),
      cond('RouteProgrammed', 'RoutesProgrammed', `route ${block} via ${instanceID} in every managed route table`),
      cond('Ready', 'Ready', 'containers on this host are reachable from the other hosts'),
    ],
  };
}

export async function measureApiFloor(bk: BenchKube, names: string[], instanceIDs: string[], opts: { concurrency: number; finalizer: boolean }): Promise<ApiFloor> {
  const writers = new PQueue({ concurrency: opts.concurrency });
  const failures: unknown[] = [];
  let createsDoneAt = 0;
  const t0 = Date.now();
  const creating = bk.parallel(
    names.map((name, i) => ({ name, i })),
    async ({ name, i }) => {
      const created = await bk.createObject(name, instanceIDs[i]!);
      createsDoneAt = Date.now();
      void writers.add(async () => {
        try {
          if (opts.finalizer) await bk.patchFloor(name, { metadata: { finalizers: [FINALIZER], resourceVersion: created.metadata.resourceVersion } });
          await bk.patchFloorStatus(name, { status: readyStatus(i, instanceIDs[i]!, created.metadata.generation ?? 1) });
        } catch (err) {
          failures.push(err);
        }
      });
    },
  );
  await creating;
  await writers.onIdle();
  const seconds = (Date.now() - t0) / 1000;
  if (failures.length) throw new Error(`API floor: ${failures.length} of ${names.length} hosts' writes failed; first: ${(failures[0] as Error).message}`);
  return {
    hosts: names.length,
    concurrency: opts.concurrency,
    finalizer: opts.finalizer,
    writesPerHost: opts.finalizer ? 2 : 1,
    seconds: round(seconds),
    createsSeconds: round((createsDoneAt - t0) / 1000),
  };
}
