// Which parts of a HostNetwork's status are the controller's, pure. The controller writes its
// status by server-side apply (field manager hostnet-controller) carrying exactly these parts, so
// the host's agent (HostConfigured, field manager hostnet-agent) and the controller never
// overwrite each other's conditions: the CRD's conditions list is a map keyed by type, and each
// manager owns only the entries it applies.
import { ConditionType, conditionOrder } from '../api/conditions.js';
import type { Condition, HostNetworkStatus } from '../api/types.js';

/** Every status field but conditions is the controller's alone (the CRD: "Written by the controller"). */
const CONTROLLER_FIELDS = ['podCIDR', 'nextHop', 'hostIP', 'addedPair', 'observedGeneration', 'routeTables'] as const satisfies readonly (keyof HostNetworkStatus)[];

const CONTROLLER_CONDITIONS: ReadonlySet<string> = new Set(Object.values(ConditionType));

/** A condition type the controller reports (never the agent's HostConfigured, nor anyone else's). */
export function isControllerCondition(type: string): boolean {
  return CONTROLLER_CONDITIONS.has(type);
}

/**
 * The part of `status` the controller owns, in a canonical shape (its conditions in their fixed
 * order, no undefined values): what its apply carries, and what two statuses are compared by.
 */
export function controllerStatus(status: HostNetworkStatus | undefined): HostNetworkStatus {
  const out: Record<string, unknown> = {};
  for (const k of CONTROLLER_FIELDS) if (status?.[k] !== undefined) out[k] = status[k];
  const conditions = (status?.conditions ?? []).filter((c) => isControllerCondition(c.type)).sort((a, b) => conditionOrder(a.type) - conditionOrder(b.type));
  if (conditions.length > 0) out.conditions = conditions;
  return JSON.parse(JSON.stringify(out)) as HostNetworkStatus;
}

export type JsonPatchOp = { op: 'test'; path: string; value: unknown } | { op: 'remove'; path: string };

/**
 * What an apply could not remove: fields of the controller that `stored` (the apply's answer)
 * still holds although `applied` left them out. Server-side apply removes a field only when the
 * applier owned it alone; a status written before the controller used apply (a merge patch,
 * recorded under client-node's manager "node-fetch", operation Update) is co-owned by that old
 * manager, so such a field would stay for ever. Returns the JSON patch that removes exactly those
 * fields, each guarded by a test of what it removes (so nothing written in between is lost), or
 * an empty list when nothing is left over. Conditions go from the highest index down, so each
 * index is still the entry tested.
 */
export function leftoverRemovals(stored: HostNetworkStatus | undefined, applied: HostNetworkStatus): JsonPatchOp[] {
  const ops: JsonPatchOp[] = [];
  for (const k of CONTROLLER_FIELDS) {
    if (stored?.[k] !== undefined && applied[k] === undefined) ops.push({ op: 'test', path: `/status/${k}`, value: stored[k] }, { op: 'remove', path: `/status/${k}` });
  }
  const keep = new Set((applied.conditions ?? []).map((c) => c.type));
  const list: Condition[] = stored?.conditions ?? [];
  for (let i = list.length - 1; i >= 0; i--) {
    const type = list[i]?.type ?? '';
    if (isControllerCondition(type) && !keep.has(type)) ops.push({ op: 'test', path: `/status/conditions/${i}/type`, value: type }, { op: 'remove', path: `/status/conditions/${i}` });
  }
  return ops;
}
