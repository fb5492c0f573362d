// Condition types, their reasons and the Event reasons, defined together so that a reason is
// never spelled twice. Reasons are stable API: people write alerts and scripts against them.
import type { Condition } from './types.js';

export const ConditionType = {
  /** The host holds a block of the pool, recorded in status.podCIDR. */
  CIDRAllocated: 'CIDRAllocated',
  /** Every managed route table sends the block to the host. */
  RouteProgrammed: 'RouteProgrammed',
  /** The host NIC lets the containers' traffic through (seed step 2). */
  SourceDestCheckDisabled: 'SourceDestCheckDisabled',
  /**
   * spec.hostIP is one of the server's addresses as the cloud reports them. Informational: Ready
   * does not wait for it (the route targets the server id, not the address).
   */
  HostIPVerified: 'HostIPVerified',
  /** All of the above: containers on this host are reachable from the other hosts. */
  Ready: 'Ready',
} as const;
export type ConditionType = (typeof ConditionType)[keyof typeof ConditionType];

/**
 * Conditions written only by the host's agent (hostnet-agent, server-side apply under field
 * manager hostnet-agent), never by the controller: kept apart from ConditionType, whose every
 * type the controller initialises and owns.
 */
export const AgentConditionType = {
  /**
   * The host holds the block's Docker network, ip_forward and the agent's iptables chains (and,
   * in direct routing mode, its routes to the peers). Absent on hosts without an agent.
   */
  HostConfigured: 'HostConfigured',
} as const;

export const Reason = {
  // Any condition, before the controller has decided.
  Reconciling: 'Reconciling',
  // CIDRAllocated
  Allocated: 'Allocated',
  Pinned: 'Pinned',
  NotInPool: 'NotInPool',
  WrongBlockSize: 'WrongBlockSize',
  OverlapsVPCSubnet: 'OverlapsVPCSubnet',
  CIDRInUse: 'CIDRInUse',
  ContainsHostIP: 'ContainsHostIP',
  PoolExhausted: 'PoolExhausted',
  /** --pool-cidr/--block-size cannot honour the recorded allocations: nothing new is allocated. */
  PoolMismatch: 'PoolMismatch',
  /** The block's ledger shard is at the API server's object limit. */
  LedgerFull: 'LedgerFull',
  // RouteProgrammed
  RouteCreated: 'RouteCreated',
  /**
   * No cloud router to program (--cloud-provider=none): the hosts' hostnet-agents route the block
   * directly (--routing=direct), so RouteProgrammed is True without a route table.
   */
  NoCloudRouter: 'NoCloudRouter',
  RoutePending: 'RoutePending',
  RouteConflict: 'RouteConflict',
  RouteQuotaExceeded: 'RouteQuotaExceeded',
  CloudError: 'CloudError',
  CloudThrottled: 'CloudThrottled',
  WaitingForCIDR: 'WaitingForCIDR',
  // SourceDestCheckDisabled
  AddressPairsSet: 'AddressPairsSet',
  SourceDestCheckNotManaged: 'NotManaged',
  /** The cloud has no source/destination check (capabilities.sourceDestCheck 'not-applicable'). */
  SourceDestCheckNotApplicable: 'NotApplicable',
  PortNotFound: 'PortNotFound',
  // HostIPVerified
  HostIPMatches: 'HostIPMatches',
  HostIPMismatch: 'HostIPMismatch',
  /** No spec.hostIP to check; status.hostIP still shows the server's address. */
  HostIPNotSpecified: 'NotSpecified',
  /** The NIC was not read (--source-dest-check=off, or the read failed). */
  HostIPNotChecked: 'NotChecked',
  // HostConfigured (the agent's)
  /** Docker network, forwarding and iptables chains are in place for the block. */
  Configured: 'Configured',
  /** The Docker Engine API does not answer on the agent's socket. */
  DockerUnavailable: 'DockerUnavailable',
  /** Another Docker network or a local route overlaps the block: nothing was changed. */
  NetworkConflict: 'NetworkConflict',
  /** Docker, iptables or ip refused a change (the message has its error). */
  HostSetupFailed: 'HostSetupFailed',
  // Ready
  /** The host's agent has not reported HostConfigured for the current generation yet. */
  WaitingForAgent: 'WaitingForAgent',
  HostReady: 'HostReady',
  NotReady: 'NotReady',
  Deleting: 'Deleting',
} as const;
export type Reason = (typeof Reason)[keyof typeof Reason];

/** Event reasons: one per state change a person cares about. */
export const EventReason = {
  CIDRAllocated: 'CIDRAllocated',
  CIDRRejected: 'CIDRRejected',
  CIDRReleased: 'CIDRReleased',
  CIDRRecovered: 'CIDRRecovered',
  PoolExhausted: 'PoolExhausted',
  PoolMismatch: 'PoolMismatch',
  /** The ledger disagreed with status and routes (edited or lost); the host whose evidence agrees kept the block. */
  LedgerInconsistent: 'LedgerInconsistent',
  RouteProgrammed: 'RouteProgrammed',
  RouteMigrated: 'RouteMigrated',
  RouteRemoved: 'RouteRemoved',
  RouteRepaired: 'RouteRepaired',
  RouteConflict: 'RouteConflict',
  RouteQuotaExceeded: 'RouteQuotaExceeded',
  CloudError: 'CloudError',
  SourceDestCheckDisabled: 'SourceDestCheckDisabled',
  AddressPairRemoved: 'AddressPairRemoved',
  HostIPMismatch: 'HostIPMismatch',
} as const;
export type EventReason = (typeof EventReason)[keyof typeof EventReason];

/**
 * Sets one condition in a list, kubebuilder style: lastTransitionTime changes only when the
 * status changes. Returns a new list; the input is not modified.
 */
export function setCondition(
  list: Condition[] | undefined,
  next: Omit<Condition, 'lastTransitionTime'>,
  now: Date = new Date(),
): Condition[] {
  const out = (list ?? []).filter((c) => c.type !== next.type);
  const prev = (list ?? []).find((c) => c.type === next.type);
  const lastTransitionTime = prev && prev.status === next.status ? prev.lastTransitionTime : rfc3339(now);
  out.push({ ...next, lastTransitionTime });
  return out.sort((a, b) => conditionOrder(a.type) - conditionOrder(b.type));
}

export function getCondition(list: Condition[] | undefined, type: string): Condition | undefined {
  return list?.find((c) => c.type === type);
}

const ORDER: string[] = Object.values(ConditionType);
/** The controller's conditions in their fixed order; any other type (the agent's) after them. */
export function conditionOrder(type: string): number {
  const i = ORDER.indexOf(type);
  return i < 0 ? ORDER.length : i;
}

/** metav1.Time: RFC 3339 with second precision. */
export function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
