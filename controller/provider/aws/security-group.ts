// Opens the security group of the hosts to traffic from the pool: one ingress rule, all
// protocols, source = the pool CIDR. A rule that is already there (InvalidPermission.Duplicate) is
// success: the goal is met, whoever added it.
import { AuthorizeSecurityGroupIngressCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { fencedSend, type Fence } from './write.js';

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
