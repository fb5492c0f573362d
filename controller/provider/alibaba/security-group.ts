// Security-group ingress for the container pool on Alibaba: one AuthorizeSecurityGroup
// (@alicloud/ecs20140526) permission "all protocols from the pool CIDR". Optional (the operator
// may manage the group); idempotent (an equal permission already there is left as it is, and
// the check reads the group first so a reconcile pass that finds it costs no write).

import * as $Ecs from '@alicloud/ecs20140526';
import type { AlibabaEcsClient } from './client.js';
import { toCloudError } from './errors.js';

export interface PoolIngress {
  regionId: string;
  securityGroupId: string;
  poolCidr: string;
  /** Carries the installation's mark, e.g. "hostnet-controller inst=<id>". */
  description: string;
}

/** True when the group already admits everything from `poolCidr` (ALL, -1/-1, accept). */
export async function hasPoolIngress(ecs: AlibabaEcsClient, want: PoolIngress, secrets: string[] = []): Promise<boolean> {
  let res: $Ecs.DescribeSecurityGroupAttributeResponse;
  try {
    res = await ecs.describeSecurityGroupAttribute(new $Ecs.DescribeSecurityGroupAttributeRequest({ regionId: want.regionId, securityGroupId: want.securityGroupId, direction: 'ingress' }));
  } catch (err) {
    throw toCloudError(err, 'DescribeSecurityGroupAttribute', secrets);
  }
  return (res.body?.permissions?.permission ?? []).some(
    (p) => (p.ipProtocol ?? '').toUpperCase() === 'ALL' && p.sourceCidrIp === want.poolCidr && (p.policy ?? 'Accept').toLowerCase() === 'accept' && (p.direction ?? 'ingress') === 'ingress',
  );
}

/** Ensures the pool's ingress permission; returns whether a write was made. `fence` runs before it. */
export async function ensurePoolIngress(ecs: AlibabaEcsClient, want: PoolIngress, opts: { fence?: () => void | Promise<void>; secrets?: string[] } = {}): Promise<{ written: boolean }> {
  if (await hasPoolIngress(ecs, want, opts.secrets)) return { written: false };
  await opts.fence?.();
  try {
    await ecs.authorizeSecurityGroup(
      new $Ecs.AuthorizeSecurityGroupRequest({
        regionId: want.regionId,
        securityGroupId: want.securityGroupId,
        permissions: [new $Ecs.AuthorizeSecurityGroupRequestPermissions({ ipProtocol: 'ALL', portRange: '-1/-1', sourceCidrIp: want.poolCidr, policy: 'accept', priority: '1', description: want.description })],
      }),
    );
  } catch (err) {
    throw toCloudError(err, 'AuthorizeSecurityGroup', opts.secrets);
  }
  return { written: true };
}
