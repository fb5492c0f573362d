// The cloud side of the controller, in the core's terms: routes (a destination sent to a host),
// what the cloud can write and how ownership is known (capabilities), the "let this host's block
// through" intent for a host's NIC, and the security-group intent. Nothing here names a cloud's
// API: each provider translates in its own folder (huawei/ for Huawei Cloud / Open Telekom
// Cloud). Implementations: the in-memory provider (memory.ts), huawei/provider.ts and aws/provider.ts. The
// contract is written down in docs/design.md ("Providers").
import type { CloudError } from './errors.js';

/**
 * What an entry of a route table is, in the core's terms. Only `host` routes are ever written,
 * changed or deleted by the controller, and only its own.
 * - host: the next hop is a host (cloud instance/server) — the kind the controller writes.
 * - system: the VPC's own entry (e.g. the route of a subnet); never touched, not counted
 *   against the table's quota, and its destination is never handed out as a block.
 * - other: anything else (gateways, peering, NAT, ...); never touched.
 */
export type RouteKind = 'host' | 'system' | 'other';

/** One entry of a route table, as the cloud reports it. */
export interface CloudRoute {
  /** The destination CIDR, e.g. "10.0.2.0/24". Unique within a table. */
  destination: string;
  kind: RouteKind;
  /** For kind host: the host's (instance's) ID; '' or the cloud's own target otherwise. */
  nexthop: string;
  /**
   * The ownership mark (ownership kind 'mark'): free text the route carries, set by whoever
   * created it. '' where the cloud has no such field (ownership kind 'ledger').
   */
  description: string;
  /**
   * Clouds whose entries are asynchronous (capabilities.asyncRoutes): 'pending' while the cloud
   * has accepted the entry but does not forward on it yet. 'blackhole': the entry exists but its
   * target is gone (e.g. AWS, after the instance's ENI was deleted); a route of ours in this
   * state is rewritten (a 'replace' change) even when its next hop looks right. Absent means
   * available.
   */
  state?: 'available' | 'pending' | 'blackhole';
  /** The cloud's own name of the entry's type, only for messages to a person (e.g. in a conflict). */
  cloudType?: string;
}

/** A route the controller wants: `destination` sent to the host `nexthop`, carrying the mark. */
export interface RouteSpec {
  destination: string;
  nexthop: string;
  /** The mark (see CloudRoute.description); '' with ownership kind 'ledger'. */
  description: string;
}

/**
 * One coalesced change to a table. With routeWrites 'atomic-batch' one applyRoutes call carries
 * all of it; with 'per-route' the core sends each entry as its own writeRoute call.
 */
export interface RouteBatch {
  add: RouteSpec[];
  mod: RouteSpec[];
  del: { destination: string }[];
}

/** The changes of a partial batch the cloud refused; every other change of it was applied. */
export interface RouteBatchResult {
  failed: { destination: string; error: CloudError }[];
}

/** One change of one route, for per-route writers. */
export type RouteChange =
  | { op: 'create'; route: RouteSpec }
  /** The route exists (ours) and must point elsewhere or carry another mark: a migration. */
  | { op: 'replace'; route: RouteSpec }
  | { op: 'delete'; destination: string };

export interface RouteTableInfo {
  id: string;
  name: string;
}

/** How route changes reach the cloud. */
export type RouteWriteCapability =
  /**
   * All changes of a batch in one call that succeeds or fails as a whole (the cloud validates
   * the whole delta). The core coalesces changes, sends at most maxBatch per call, and on a
   * final refusal bisects the batch to find the change the cloud refuses.
   */
  | { kind: 'atomic-batch'; maxBatch: number }
  /**
   * Several changes per call (at most maxBatch), each of which may fail on its own: applyRoutes
   * resolves with the changes the cloud refused, the rest are applied. No bisection.
   */
  | { kind: 'partial-batch'; maxBatch: number }
  /** One call per route; up to `concurrency` calls per table at once. No bisection. */
  | { kind: 'per-route'; concurrency: number };

/** How the controller knows which routes are its own. */
export type OwnershipCapability =
  /** Routes carry a free-text field the mark is written into (at most maxLength characters). */
  | { kind: 'mark'; maxLength: number }
  /**
   * No such field: a route is ours when its destination is a block the ledger records for a
   * HostNetwork of this installation (inside the pool) and its next hop is a host of ours.
   */
  | { kind: 'ledger' };

export interface ProviderCapabilities {
  routeWrites: RouteWriteCapability;
  ownership: OwnershipCapability;
  /**
   * 'supported': the host's NIC drops traffic for addresses that are not its own until the
   * controller lets the block through (ensureSourceDestCheck). 'not-applicable': the cloud has
   * no such check; the condition says NotApplicable and Ready does not wait for it.
   */
  sourceDestCheck: 'supported' | 'not-applicable';
  /** Entries go through a pending state: a route counts as programmed only once available. */
  asyncRoutes: boolean;
  /**
   * 'none': there is no router to program (--cloud-provider=none, direct routing: each host's
   * hostnet-agent routes the peers' blocks itself), so no route table is managed and
   * RouteProgrammed says so (reason NoCloudRouter) instead of naming tables. Absent or 'cloud':
   * the cloud's route tables carry the blocks.
   */
  router?: 'cloud' | 'none';
}

/**
 * How far the check is opened (--source-dest-check): 'disable' switches it off for the NIC
 * entirely, 'block' lets only the host's container block through. How is the provider's.
 */
export type SourceDestCheckMode = 'disable' | 'block';

export interface SourceDestCheckResult {
  /** The NIC (port, interface) that was checked, for messages. */
  portId: string;
  /** True when the NIC had to be changed, false when it already let the traffic through. */
  changed: boolean;
  /**
   * The server's private IPv4 addresses as the cloud reports them (from the same read, in the
   * cloud's order): what spec.hostIP is checked against, at no extra call.
   */
  addresses: string[];
}

export interface IngressRuleSpec {
  securityGroupId: string;
  /** The pool CIDR whose traffic is let in. */
  remoteIpPrefix: string;
  /** "all" for one rule of every protocol, or the seed's ICMP + UDP (+ TCP). */
  protocols: ('icmp' | 'udp' | 'tcp' | 'all')[];
}

export interface CloudProvider {
  /** A short name for logs and the metrics' `provider` label, e.g. "huaweicloud", "otc", "memory". */
  readonly name: string;
  readonly capabilities: ProviderCapabilities;

  /** The route tables to program: the configured IDs, or every table of the configured VPC. */
  listRouteTables(): Promise<RouteTableInfo[]>;

  /** Every route of a table, the controller's and everybody else's (system routes included). */
  listRoutes(tableId: string): Promise<CloudRoute[]>;

  /**
   * routeWrites 'atomic-batch': applies one batch (at most maxBatch changes) to one table in a
   * single cloud call; all of it succeeds or all of it fails. Throws CloudError.
   * routeWrites 'partial-batch': the same, but resolves with the changes the cloud refused (the
   * others are applied); throws only when the call as a whole failed.
   */
  applyRoutes?(tableId: string, batch: RouteBatch): Promise<void | RouteBatchResult>;

  /** routeWrites 'per-route': one change of one route. Throws CloudError. */
  writeRoute?(tableId: string, change: RouteChange): Promise<void>;

  /**
   * The opaque record of what ensureSourceDestCheck adds to a host's NIC for this intent (e.g. an
   * address pair). Pure. The core stores it in status.addedPair.pair when the provider reports a
   * change, compares it to decide whether a host still needs it, and hands it back to
   * removeSourceDestCheck when no host of ours needs it any more.
   */
  sourceDestCheckRecord(mode: SourceDestCheckMode, block: string): string;

  /**
   * Makes sure the NIC of the server lets traffic of the host's block through, keeping whatever
   * else the NIC already allows. Throws CloudError. Not called with sourceDestCheck
   * 'not-applicable'.
   */
  ensureSourceDestCheck(instanceId: string, mode: SourceDestCheckMode, block: string): Promise<SourceDestCheckResult>;

  /**
   * Takes exactly what `record` (from sourceDestCheckRecord) names off the server's NIC(s),
   * keeping everything else. A NIC without it, or a server without NICs, is success (removed:
   * false). Throws CloudError.
   */
  removeSourceDestCheck(instanceId: string, record: string): Promise<{ removed: boolean }>;

  /** Makes sure the ingress rule(s) exist; a duplicate is success. Throws CloudError. */
  ensureIngressRule(rule: IngressRuleSpec): Promise<{ created: number }>;
}
