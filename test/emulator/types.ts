// The shapes of the emulated VPC: what a state file holds (VpcStateInit), what the model keeps,
// and what GET /_admin/state returns. Field names are the cloud's own (snake_case), so values can
// be copied between the real API's JSON, a state file and the admin API without renaming.

export interface AddressPair {
  ip_address: string;
  mac_address?: string;
}

export interface Route {
  /** ecs, eni, vip, nat, peering, vpn, dc, cc, egw, er, subeni; or local (system route). */
  type: string;
  destination: string;
  /** Server ID for ecs; null for local routes, as the real API shows them. */
  nexthop: string | null;
  /** 0-255 characters; null for local routes. */
  description: string | null;
}

export interface RouteInit {
  type: string;
  destination: string;
  nexthop?: string | null;
  description?: string | null;
}

export interface VpcInit {
  id: string;
  name: string;
  cidr: string;
}

export interface SubnetInit {
  /** The VPC v1 subnet ID, which is also the Neutron network_id of its ports. */
  id: string;
  name: string;
  vpc_id: string;
  cidr: string;
  gateway_ip: string;
  /** The Neutron subnet ID found in a port's fixed_ips; derived from id when absent. */
  neutron_subnet_id?: string;
}

export interface ServerInit {
  id: string;
  name: string;
  subnet_id: string;
  ip: string;
  /** ID of the server's NIC port; derived from the server ID when absent. */
  port_id?: string;
  mac_address?: string;
  /** Security groups of the NIC; default: the first security group of the VPC (if any). */
  security_groups?: string[];
  allowed_address_pairs?: AddressPair[];
}

export interface RouteTableInit {
  id: string;
  name: string;
  vpc_id: string;
  default?: boolean;
  description?: string;
  /** Associated subnet IDs; the default table gets every subnet of the VPC no other table claims. */
  subnets?: string[];
  /** A local route for the VPC CIDR is added when the list has no local route. */
  routes?: RouteInit[];
}

export interface SgRuleInit {
  id?: string;
  direction: string;
  ethertype?: string;
  protocol?: string | null;
  port_range_min?: number | null;
  port_range_max?: number | null;
  /** v3 style port list ("80", "80-90", "22,80-90"); wins over port_range_min/max. */
  multiport?: string | null;
  remote_ip_prefix?: string | null;
  remote_group_id?: string | null;
  remote_address_group_id?: string | null;
  description?: string;
  action?: string;
  priority?: number;
}

export interface SecurityGroupInit {
  id: string;
  name: string;
  vpc_id?: string | null;
  description?: string;
  rules?: SgRuleInit[];
}

export interface QuotaInit {
  /** Non-local routes per route table (Huawei default 200). */
  routes_per_table?: number;
  /** Route tables per VPC, default one included (Huawei default 1; the emulator defaults to 5). */
  route_tables_per_vpc?: number;
}

/** A whole emulated cloud account: the seed, a state file, or a snapshot. */
export interface VpcStateInit {
  project_id: string;
  /** AK/SK pairs that may call the API; all of them act on project_id. */
  credentials: { ak: string; sk: string }[];
  vpcs: VpcInit[];
  subnets: SubnetInit[];
  servers: ServerInit[];
  route_tables: RouteTableInit[];
  security_groups: SecurityGroupInit[];
  quota?: QuotaInit;
}

// ---- model records ----

export interface Server {
  id: string;
  name: string;
  vpc_id: string;
  subnet_id: string;
  ip: string;
  port_id: string;
}

export interface Port {
  id: string;
  name: string;
  network_id: string;
  device_id: string;
  device_owner: string;
  mac_address: string;
  fixed_ips: { subnet_id: string; ip_address: string }[];
  security_groups: string[];
  allowed_address_pairs: AddressPair[];
  status: string;
  admin_state_up: boolean;
  created_at: string;
  updated_at: string;
}

export interface RouteTable {
  id: string;
  name: string;
  vpc_id: string;
  default: boolean;
  description: string;
  subnets: string[];
  routes: Route[];
  created_at: string;
  updated_at: string;
}

export interface SgRule {
  id: string;
  security_group_id: string;
  direction: 'ingress' | 'egress';
  ethertype: 'IPv4' | 'IPv6';
  /** null: every protocol. */
  protocol: string | null;
  /** Normalized port list ("80", "80-90", "22,80-90"), as v3 shows it; null: every port. */
  multiport: string | null;
  remote_ip_prefix: string | null;
  remote_group_id: string | null;
  remote_address_group_id: string | null;
  description: string;
  action: 'allow' | 'deny';
  priority: number;
  created_at: string;
  updated_at: string;
}

export interface SecurityGroup {
  id: string;
  name: string;
  vpc_id: string | null;
  description: string;
  rules: SgRule[];
}

export interface Quota {
  routes_per_table: number;
  route_tables_per_vpc: number;
}

/** GET /_admin/state: the live state, loadable again as a VpcStateInit (ports are extra). */
export interface VpcStateSnapshot {
  project_id: string;
  credentials: { ak: string; sk: string }[];
  vpcs: VpcInit[];
  subnets: Required<SubnetInit>[];
  servers: (Required<Omit<ServerInit, 'mac_address'>> & { vpc_id: string; mac_address: string })[];
  ports: Port[];
  route_tables: RouteTable[];
  security_groups: SecurityGroup[];
  quota: Quota;
}
