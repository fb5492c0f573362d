// The cloud side of the controller, as small as the reconciler needs it: routes per route table,
// plus the two per-host and per-installation steps of the user's manual procedure (NIC
// source/destination check and the security-group rule). Implementations: the in-memory
// provider (unit tests) and the Huawei Cloud / Open Telekom Cloud provider (huawei.ts).

/** One entry of a VPC route table, as the cloud reports it. */
export interface CloudRoute {
  /** The destination CIDR, e.g. "10.0.2.0/24". Unique within a table. */
  destination: string;
  /** Route type: "ecs" for a server next hop; "local" and others are never touched. */
  type: string;
  /** For type "ecs": the server (instance) ID. */
  nexthop: string;
  /** Free text, 0-255 characters; carries this controller's ownership mark. */
  description: string;
}

/** Routes the controller writes are always of type ecs. */
export interface RouteSpec {
  destination: string;
  nexthop: string;
  description: string;
}

/** One coalesced change to a table: one UpdateRouteTable call carries all of it. */
export interface RouteBatch {
  add: RouteSpec[];
  mod: RouteSpec[];
  del: { destination: string }[];
}

export interface RouteTableInfo {
  id: string;
  name: string;
}

/** How the host NIC's source/destination check is switched off. */
export type SourceDestCheckMode =
  /** allowed_address_pairs gets 1.1.1.1/0, the cloud's way of disabling the check entirely. */
  | 'disable'
  /** allowed_address_pairs gets only the host's container block. */
  | 'block';

export interface SourceDestCheckResult {
  portId: string;
  /** True when the port had to be updated, false when it already allowed the traffic. */
  changed: boolean;
  /**
   * The server's private IPv4 addresses as the cloud reports them (the fixed IPs of the ports
   * just read, in the cloud's order): what spec.hostIP is checked against, at no extra call.
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
  /** A short name for logs and metrics, e.g. "huaweicloud", "otc", "memory". */
  readonly name: string;

  /** The route tables to program: the configured IDs, or every table of the configured VPC. */
  listRouteTables(): Promise<RouteTableInfo[]>;

  /** Every route of a table, the controller's and everybody else's (local routes included). */
  listRoutes(tableId: string): Promise<CloudRoute[]>;

  /**
   * Applies one batch to one table in a single cloud call. All of it succeeds or all of it
   * fails (the cloud validates the whole delta). Throws CloudError.
   */
  applyRoutes(tableId: string, batch: RouteBatch): Promise<void>;

  /**
   * Makes sure the NIC of the server lets traffic of the host's block through, keeping the
   * address pairs the port already has. Throws CloudError.
   */
  ensureSourceDestCheck(instanceId: string, mode: SourceDestCheckMode, block: string): Promise<SourceDestCheckResult>;

  /**
   * Takes exactly `pair` (e.g. "1.1.1.1/0" or a block) off the server's NIC port(s), keeping every
   * other pair. A port without it, or a server without ports, is success (removed: false).
   * Throws CloudError.
   */
  removeAddressPair(instanceId: string, pair: string): Promise<{ removed: boolean }>;

  /** Makes sure the ingress rule(s) exist; a duplicate is success. Throws CloudError. */
  ensureIngressRule(rule: IngressRuleSpec): Promise<{ created: number }>;
}
