// Opens the security group of the hosts to traffic from the pool: one ingress rule, all
// protocols, source = the pool CIDR. A rule that is already there (InvalidPermission.Duplicate) is
// success: the goal is met, whoever added it.
import { AuthorizeSecurityGroupIngressCommand, DescribeSecurityGroupsCommand, type DescribeSecurityGroupsCommandOutput, type EC2Client, type IpPermission } from '@aws-sdk/client-ec2';
import { fencedSend, readSend, type Fence } from './write.js';

export const POOL_RULE_DESCRIPTION = 'hostnet-controller: container traffic from the pool';

export async function authorizePoolIngress(client: EC2Client, fence: Fence, rule: { groupId: string; poolCidr: string }): Promise<'added' | 'present'> {
  try {
    await fencedSend(fence, 'AuthorizeSecurityGroupIngress', () => client.send(new AuthorizeSecurityGroupIngressCommand({
        GroupId: rule.groupId,
        IpPermissions: [{ IpProtocol: '-1', IpRanges: [{ CidrIp: rule.poolCidr, Description: POOL_RULE_DESCRIPTION }] }],
      })),
      { groupId: rule.groupId },
    );
    return 'added';
  } catch (err) {
    if ((err as { code?: string }).code === 'InvalidPermission.Duplicate') return 'present';
    throw err;
  }
}

/** The IpPermissions for the wanted protocols: '-1' (every protocol) for "all". Pure. */
export function poolPermissions(poolCidr: string, protocols: readonly ('icmp' | 'udp' | 'tcp' | 'all')[]): IpPermission[] {
  const wanted = protocols.includes('all') ? ['-1'] : [...new Set(protocols)];
  return wanted.map((p) => ({
    IpProtocol: p,
    ...(p === 'tcp' || p === 'udp' ? { FromPort: 0, ToPort: 65535 } : p === 'icmp' ? { FromPort: -1, ToPort: -1 } : {}),
    IpRanges: [{ CidrIp: poolCidr, Description: POOL_RULE_DESCRIPTION }],
  }));
}

/** True when the group already lets `perm`'s protocol in from the CIDR (an all-protocol rule covers every one). Pure. */
export function covered(existing: readonly IpPermission[], perm: IpPermission, cidr: string): boolean {
  return existing.some((e) => (e.IpProtocol === '-1' || e.IpProtocol === perm.IpProtocol) && (e.IpRanges ?? []).some((r) => r.CidrIp === cidr));
}

/**
 * The pool's ingress rules, read first (DescribeSecurityGroups) so a converged group costs no
 * write; the missing ones authorized one by one (a Duplicate, e.g. a concurrent writer, is
 * success). Returns the rules added.
 */
export async function ensurePoolIngress(client: EC2Client, fence: Fence, rule: { groupId: string; poolCidr: string; protocols: readonly ('icmp' | 'udp' | 'tcp' | 'all')[] }): Promise<number> {
  const out = await readSend<DescribeSecurityGroupsCommandOutput>('DescribeSecurityGroups', () => client.send(new DescribeSecurityGroupsCommand({ GroupIds: [rule.groupId] })), { groupId: rule.groupId });
  const group = out.SecurityGroups?.find((g) => g.GroupId === rule.groupId);
  const existing = group?.IpPermissions ?? [];
  let added = 0;
  for (const perm of poolPermissions(rule.poolCidr, rule.protocols)) {
    if (covered(existing, perm, rule.poolCidr)) continue;
    try {
      await fencedSend(fence, 'AuthorizeSecurityGroupIngress', () => client.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: rule.groupId, IpPermissions: [perm] })), { groupId: rule.groupId });
      added++;
    } catch (err) {
      if ((err as { code?: string }).code !== 'InvalidPermission.Duplicate') throw err;
    }
  }
  return added;
}
