// Security-group ingress for the container pool on Alibaba: one AuthorizeSecurityGroup
// (@alicloud/ecs20140526) permission "all protocols from the pool CIDR". Optional (the operator
// may manage the group); idempotent (an equal permission already there is left as it is, and
// the check reads the group first so a reconcile pass that finds it costs no write).

import * as $Ecs from '@alicloud/ecs20140526';
import type { AlibabaEcsClient } from './client.js';
import { isFencedError } from '../fence.js';
import { toCloudError } from './errors.js';

export interface PoolIngress {
  regionId: string;
  securityGroupId: string;
  poolCidr: string;
  /** Carries the installation's mark, e.g. "hostnet-controller inst=<id>". */
  description: string;
  /** ALL (default: one permission of every protocol), or some of ICMP, UDP, TCP. */
  protocols?: readonly ('ALL' | 'ICMP' | 'UDP' | 'TCP')[];
}

/** The port range AuthorizeSecurityGroup takes with each protocol (ICMP and ALL: -1/-1). */
function portRangeOf(protocol: string): string {
  return protocol === 'TCP' || protocol === 'UDP' ? '1/65535' : '-1/-1';
}

/** The client-side rate limit: a token of the read or the write bucket before each request. */
export type Throttle = (kind: 'read' | 'write') => Promise<void>;

/** The protocols the group still lacks for `want` (ALL there covers every other). */
export async function missingPoolIngress(ecs: AlibabaEcsClient, want: PoolIngress, secrets: string[] = [], throttle?: Throttle): Promise<string[]> {
  let res: $Ecs.DescribeSecurityGroupAttributeResponse;
  await throttle?.('read');
  try {
    res = await ecs.describeSecurityGroupAttribute(new $Ecs.DescribeSecurityGroupAttributeRequest({ regionId: want.regionId, securityGroupId: want.securityGroupId, direction: 'ingress' }));
  } catch (err) {
    throw toCloudError(err, 'DescribeSecurityGroupAttribute', secrets);
  }
  const have = new Set(
    (res.body?.permissions?.permission ?? [])
      .filter((p) => p.sourceCidrIp === want.poolCidr && (p.policy ?? 'Accept').toLowerCase() === 'accept' && (p.direction ?? 'ingress') === 'ingress')
      .filter((p) => p.portRange === undefined || p.portRange === portRangeOf((p.ipProtocol ?? '').toUpperCase()))
      .map((p) => (p.ipProtocol ?? '').toUpperCase()),
  );
  if (have.has('ALL')) return [];
  const wanted = [...new Set(want.protocols ?? ['ALL'])];
  return wanted.filter((p) => !have.has(p));
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

/**
 * Ensures the pool's ingress permission(s) in one AuthorizeSecurityGroup for whatever is
 * missing; returns whether a write was made. `throttle` is awaited before each request (the
 * read, then the write), `fence` runs before the write, `gate` wraps its request — after the
 * token wait, so a write that waited while the lease went stale is not sent.
 */
export async function ensurePoolIngress(
  ecs: AlibabaEcsClient,
  want: PoolIngress,
  opts: { fence?: () => void | Promise<void>; gate?: { run<T>(operation: string, send: () => Promise<T>): Promise<T> }; secrets?: string[]; throttle?: Throttle } = {},
): Promise<{ written: boolean; created: number }> {
  const missing = await missingPoolIngress(ecs, want, opts.secrets, opts.throttle);
  if (missing.length === 0) return { written: false, created: 0 };
  await opts.throttle?.('write');
  await opts.fence?.();
  const send = (): Promise<unknown> =>
    ecs.authorizeSecurityGroup(
      new $Ecs.AuthorizeSecurityGroupRequest({
        regionId: want.regionId,
        securityGroupId: want.securityGroupId,
        permissions: missing.map((p) => new $Ecs.AuthorizeSecurityGroupRequestPermissions({ ipProtocol: p, portRange: portRangeOf(p), sourceCidrIp: want.poolCidr, policy: 'accept', priority: '1', description: want.description })),
      }),
    );
  try {
    await (opts.gate ? opts.gate.run('AuthorizeSecurityGroup', send) : send());
  } catch (err) {
    if (isFencedError(err)) throw err;
    throw toCloudError(err, 'AuthorizeSecurityGroup', opts.secrets);
  }
  return { written: true, created: missing.length };
}
