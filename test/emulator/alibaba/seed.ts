// Seed 003 made concrete: Alibaba Container Service's own description of this design, one VPC
// with a VRouter whose route table forwards each host's container range to its ECS instance.
// Two instances on one vSwitch, the VRouter's system route table, one security group. The
// AccessKeys are test values (those of shared/notes/alibaba-vpc-api.md's captured request).

import type { AliStateInit } from './types.js';

export const ALI_SEED = {
  regionId: 'eu-central-1',
  accessKeyId: 'LTAI5tTESTACCESSKEYID01',
  accessKeySecret: 'TESTSECRETabcdefghijklmnopqrstu',
  /** A second, disabled AccessKey of the same account. */
  disabledAccessKeyId: 'LTAI5tTESTDISABLEDKEY02',
  disabledAccessKeySecret: 'TESTSECRETdisabledzyxwvutsrqpon',
  vpcId: 'vpc-gw8note0vector0vpc0001',
  vpcCidr: '192.168.0.0/16',
  vswitchId: 'vsw-gw8note0vector0vswitch1',
  vswitchCidr: '192.168.0.0/24',
  routeTableId: 'vtb-gw8note0vector0table01',
  securityGroupId: 'sg-gw8note0vector0group001',
  instances: [
    { id: 'i-gw8note0vector0instance1', ip: '192.168.0.10', name: 'node-1' },
    { id: 'i-gw8note0vector0instance2', ip: '192.168.0.11', name: 'node-2' },
  ],
} as const;

export function aliSeedState(): AliStateInit {
  return {
    regionId: ALI_SEED.regionId,
    accounts: [
      { accessKeyId: ALI_SEED.accessKeyId, accessKeySecret: ALI_SEED.accessKeySecret },
      { accessKeyId: ALI_SEED.disabledAccessKeyId, accessKeySecret: ALI_SEED.disabledAccessKeySecret, disabled: true },
    ],
    vpcs: [{ id: ALI_SEED.vpcId, name: 'hostnet', cidr: ALI_SEED.vpcCidr }],
    vswitches: [{ id: ALI_SEED.vswitchId, vpcId: ALI_SEED.vpcId, cidr: ALI_SEED.vswitchCidr, zoneId: 'eu-central-1a', name: 'hostnet-a' }],
    instances: ALI_SEED.instances.map((i) => ({ id: i.id, vswitchId: ALI_SEED.vswitchId, ip: i.ip, name: i.name })),
    routeTables: [{ id: ALI_SEED.routeTableId, vpcId: ALI_SEED.vpcId, name: 'vrouter', type: 'System' }],
    securityGroups: [{ id: ALI_SEED.securityGroupId, vpcId: ALI_SEED.vpcId, name: 'hostnet' }],
    customEntriesPerTable: 200,
  };
}
