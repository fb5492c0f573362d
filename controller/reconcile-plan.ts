// The reconciler's decisions, pure: from what a pass observed (the route tables' outcomes, the
// status as read, the conditions decided so far) to the conditions, Events and log lines it
// records. No I/O here, so every rule is a function of its inputs (test/unit/reconciler.test.ts
// drives them through the Reconciler).
import { AgentConditionType, ConditionType, EventReason, Reason, getCondition } from './api/conditions.js';
import type { Condition, HostNetworkStatus } from './api/types.js';
import type { CloudError } from './provider/errors.js';
import type { TableOutcome } from './routes/tableset.js';

export interface Notice {
  type: 'Normal' | 'Warning';
  reason: EventReason;
  message: string;
}

export interface LogLine {
  level: 'info' | 'warn';
  msg: string;
  fields: Record<string, unknown>;
}

/** A condition's verdict (type and observedGeneration are the reconciler's). */
export interface Verdict {
  status: Condition['status'];
  reason: string;
  message: string;
}

export type RouteOutcomeView = TableOutcome & { message?: string };

export interface RoutePlan {
  /** RouteProgrammed as it should read now; undefined: leave it as it is. */
  condition?: Verdict;
  /** status.nextHop once every table sends the block to the server. */
  nextHop?: string;
  notices: Notice[];
  logs: LogLine[];
  /** A failure that retries on its own: the key comes back after a backoff. */
  retry?: { message: string; minRetryDelayMs: number };
  /** Look again after this long (a wait, or a failure that needs a person). */
  requeueAfterMs?: number;
}

/** RouteProgrammed reasons that posted a Warning: the route coming back after one is news. */
const ROUTE_WARNED = new Set<string>([Reason.RouteConflict, Reason.RouteQuotaExceeded]);

/** A host waiting for its table's batch is re-queued by the table; this is only a safety net. */
export const PENDING_RECHECK_MS = 15_000;

/** Every table either has the route or only waits for its batch: nothing failed. */
export function onlyWaiting(outcomes: RouteOutcomeView[]): boolean {
  return outcomes.some((o) => o.state !== 'Programmed') && outcomes.every((o) => o.state === 'Programmed' || o.state === 'Pending');
}

export function planRoute(input: {
  prev: HostNetworkStatus;
  /** RouteProgrammed in the status being built (before this step). */
  current: Condition | undefined;
  block: string;
  instanceID: string;
  name: string;
  outcomes: RouteOutcomeView[];
  resyncPeriodMs: number;
  /** The provider's capabilities.router: 'none' has no table to program. */
  router?: 'cloud' | 'none';
}): RoutePlan {
  const { prev, current, block, instanceID, name, outcomes } = input;
  const before = getCondition(prev.conditions, ConditionType.RouteProgrammed);
  const had = (s: Condition['status'], reason?: string): boolean => before?.status === s && (reason === undefined || before.reason === reason);
  const plan: RoutePlan = { notices: [], logs: [] };
  if (input.router === 'none') {
    // No route anywhere to report on: saying "route created" would be a lie. The agents of the
    // other hosts route the block to this host's address (their HostConfigured says how many).
    plan.nextHop = instanceID;
    plan.condition = { status: 'True', reason: Reason.NoCloudRouter, message: `No cloud router (--cloud-provider=none): no route table to program; the hosts' hostnet-agents (--routing=direct) route ${block} to ${instanceID} directly` };
    return plan;
  }
  const bad = outcomes.find((o) => o.state !== 'Programmed');
  if (bad?.state === 'Pending') {
    // Not an error: keep the condition as it is (Unknown at first) until the batch is done.
    if (current?.status === 'True' && prev.nextHop === instanceID) {
      plan.condition = { status: 'Unknown', reason: Reason.RoutePending, message: `route table ${bad.id}: ${bad.message ?? 'change pending'}` };
    }
    plan.requeueAfterMs = PENDING_RECHECK_MS;
    return plan;
  }
  if (!bad) {
    const tables = outcomes.map((o) => o.id);
    plan.nextHop = instanceID;
    plan.condition = { status: 'True', reason: Reason.RouteCreated, message: `${block} → ${instanceID} in route table${outcomes.length > 1 ? 's' : ''} ${tables.join(', ')}` };
    if (prev.nextHop !== undefined && prev.nextHop !== instanceID) {
      plan.notices.push({ type: 'Normal', reason: EventReason.RouteMigrated, message: `Route ${block} moved from ${prev.nextHop} to ${instanceID}` });
      plan.logs.push({ level: 'info', msg: 'route migrated', fields: { hostnetwork: name, podCIDR: block, from: prev.nextHop, to: instanceID } });
    } else if (!had('True')) {
      // Events on transitions only: a new host's first route is shown by its conditions (an
      // Event per host would double a cold start's API requests), and so is the same route back
      // after a failure that retried on its own (no Warning was posted for it) or after a drift
      // repair (RouteRepaired said so). After a Warning (conflict, full table) it is news.
      if (ROUTE_WARNED.has(before?.reason ?? '')) plan.notices.push({ type: 'Normal', reason: EventReason.RouteProgrammed, message: `Route ${block} → ${instanceID} programmed` });
      plan.logs.push({ level: 'info', msg: 'route programmed', fields: { hostnetwork: name, podCIDR: block, nextHop: instanceID, tables } });
    }
    return plan;
  }
  const [reason, event] = routeReason(bad.state, bad.error);
  const message = `route table ${bad.id}: ${bad.message ?? bad.state}`;
  const notify = !had('False', reason);
  plan.condition = { status: 'False', reason, message };
  if (notify && event) plan.notices.push({ type: 'Warning', reason: event, message });
  if (bad.state === 'Error' && bad.error?.retryable) plan.retry = { message, minRetryDelayMs: bad.error.minRetryDelayMs ?? 0 };
  else plan.requeueAfterMs = input.resyncPeriodMs;
  if (notify) plan.logs.push({ level: 'warn', msg: 'route not programmed', fields: { hostnetwork: name, table: bad.id, reason, detail: message, requestId: bad.error?.requestId } });
  return plan;
}

function routeReason(state: string, error?: CloudError): [string, EventReason | undefined] {
  switch (state) {
    case 'Conflict':
      return [Reason.RouteConflict, EventReason.RouteConflict];
    case 'QuotaExceeded':
      return [Reason.RouteQuotaExceeded, EventReason.RouteQuotaExceeded];
    case 'Pending':
      return [Reason.RoutePending, undefined];
    default:
      return [error?.kind === 'throttled' ? Reason.CloudThrottled : Reason.CloudError, error?.retryable ? undefined : EventReason.CloudError];
  }
}

/**
 * The NIC step of a host: 'managed' (the controller lets the block through the NIC's
 * source/destination check), 'off' (--source-dest-check=off: the operator's job) or
 * 'not-applicable' (the provider has no such check: Alibaba Cloud, --cloud-provider=none).
 */
export type NicStep = 'managed' | 'off' | 'not-applicable';

/**
 * Ready: every condition the controller manages but HostIPVerified (a wrong spec.hostIP is
 * shown, it does not stop the traffic: the route's next hop is the server id, the address pair
 * is on its port). A host whose agent reports (HostConfigured, hostnet-agent's own condition) is
 * ready only once the agent has set it up for this generation (after a migration, the new
 * server's agent); hosts without an agent have no such condition and are ready as before. The
 * message says what carries the traffic and claims no step that was not taken.
 */
export function planReady(conditions: Condition[] | undefined, nic: NicStep, block: string, instanceID: string, generation: number | undefined, router: 'cloud' | 'none' = 'cloud'): Verdict {
  const agent = getCondition(conditions, AgentConditionType.HostConfigured);
  const agentView = agent && agent.observedGeneration !== generation ? { ...agent, status: 'Unknown' as const, reason: Reason.WaitingForAgent, message: `the host's hostnet-agent has not reported on generation ${generation} yet` } : agent;
  const notTrue = [ConditionType.CIDRAllocated, ConditionType.RouteProgrammed, ...(nic === 'managed' ? [ConditionType.SourceDestCheckDisabled] : [])]
    .map((t) => getCondition(conditions, t))
    .concat(agentView ? [agentView] : [])
    .find((c) => c?.status !== 'True');
  if (notTrue) return { status: 'False', reason: notTrue.reason, message: notTrue.message };
  if (router === 'none') {
    return { status: 'True', reason: Reason.HostReady, message: `Containers in ${block} are on ${instanceID}; with no cloud router the hosts' hostnet-agents route the block directly` };
  }
  const note = nic === 'off' ? ' (the NIC source/destination check is yours to disable)' : nic === 'not-applicable' ? ' (the cloud has no NIC source/destination check to disable)' : '';
  return { status: 'True', reason: Reason.HostReady, message: `Containers in ${block} are routed to ${instanceID}${note}` };
}
