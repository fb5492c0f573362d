// The shape of an emulated Alibaba Cloud account (one region): what a state file or the seed
// holds and GET /_admin/state returns. Field names are the API's (PascalCase parameters are
// mapped to camelCase here only where the file is ours).

export interface AccountInit {
  accessKeyId: string;
  accessKeySecret: string;
  /** A disabled AccessKey is refused with InvalidAccessKeyId.Inactive. */
  disabled?: boolean;
  /**
   * An STS AccessKey (what a RAM role hands out): every request must carry this token in
   * x-acs-security-token, signed; a missing or other token is refused.
   */
  securityToken?: string;
  /** Actions this AccessKey's RAM policy does not allow (Forbidden.RAM), e.g. ["ModifyRouteEntry"]. */
  deny?: string[];
}

export interface VpcInit {
  id: string;
  name?: string;
  cidr: string;
}

export interface VSwitchInit {
  id: string;
  vpcId: string;
  cidr: string;
  zoneId?: string;
  name?: string;
}

export interface InstanceInit {
  id: string;
  vswitchId: string;
  ip: string;
  name?: string;
}

export interface EntryInit {
  destination: string;
  nextHop: string;
  name?: string;
  description?: string;
}

export interface RouteTableInit {
  id: string;
  vpcId: string;
  name?: string;
  /** System: the VRouter's own table; Custom: one created by a user. */
  type?: 'System' | 'Custom';
  /** Custom entries present at start (Available). */
  entries?: EntryInit[];
}

export interface SecurityGroupInit {
  id: string;
  vpcId: string;
  name?: string;
}

export interface AliStateInit {
  regionId: string;
  accounts: AccountInit[];
  vpcs: VpcInit[];
  vswitches: VSwitchInit[];
  instances: InstanceInit[];
  routeTables: RouteTableInit[];
  securityGroups?: SecurityGroupInit[];
  /** Custom entries per route table (Alibaba: 200). */
  customEntriesPerTable?: number;
}

export type EntryStatus = 'Pending' | 'Available' | 'Modifying' | 'Deleting';

export interface RouteEntry {
  id: string;
  tableId: string;
  destination: string;
  type: 'System' | 'Custom';
  nextHopType: string;
  nextHopId: string;
  name: string;
  description: string;
  status: EntryStatus;
  /** Emulator clock (ms) at which a Pending/Modifying entry becomes Available or a Deleting one disappears. */
  settlesAt: number;
  gmtModified: string;
}

export interface Permission {
  ipProtocol: string;
  portRange: string;
  sourceCidrIp: string;
  policy: string;
  priority: string;
  description: string;
  direction: 'ingress';
  createTime: string;
}

export interface AliStateSnapshot extends AliStateInit {
  /** Every custom entry with its current status (system entries are derived from vSwitches). */
  entries: RouteEntry[];
  permissions: Record<string, Permission[]>;
}
