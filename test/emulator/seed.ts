// The seed topology: the user's manual procedure (shared/seeds/000_*) made concrete. One VPC
// 192.168.0.0/16, one subnet 192.168.0.0/24, three ECS hosts 192.168.0.2-4 each with one NIC
// port, the VPC's default route table (only its local route) and one security group without
// ingress rules. Every ID is fixed so tests, the demo and docs can name them.

import type { VpcStateInit } from './types.js';

export const SEED = {
  projectId: '0605767b3c00d3e42f9cc01b0e2e2b1a',
  ak: 'TESTAK1234567890',
  sk: 'TESTSKabcdefghijklmnopqrstuvwxyz',
  /** A second credential of the same account, e.g. to show that throttling is per AK. */
  altAk: 'TESTAK0987654321',
  altSk: 'TESTSKzyxwvutsrqponmlkjihgfedcba',
  vpcId: '7f2b9c1e-3d4a-4b5c-8e6f-1a2b3c4d5e01',
  vpcCidr: '192.168.0.0/16',
  subnetId: '9e1d2c3b-4a5f-4e6d-8c7b-2a3b4c5d6e02',
  subnetCidr: '192.168.0.0/24',
  neutronSubnetId: '0d9c8b7a-6f5e-4d4c-8b3a-2f1e0d9c8b03',
  routeTableId: '3d42a0d4-a980-4613-ae76-a2cddecff054',
  securityGroupId: '5c4d3e2f-1a0b-4c9d-8e7f-3a4b5c6d7e04',
  servers: {
    'ecs-1': { id: 'a2f5a1b4-0000-4d4d-9e2f-7e7bd2f6a001', ip: '192.168.0.2', portId: 'b3e6b2c5-0000-4e5e-8f3a-8f8ce3a7b001', mac: 'fa:16:3e:00:00:01' },
    'ecs-2': { id: 'a2f5a1b4-0000-4d4d-9e2f-7e7bd2f6a002', ip: '192.168.0.3', portId: 'b3e6b2c5-0000-4e5e-8f3a-8f8ce3a7b002', mac: 'fa:16:3e:00:00:02' },
    'ecs-3': { id: 'a2f5a1b4-0000-4d4d-9e2f-7e7bd2f6a003', ip: '192.168.0.4', portId: 'b3e6b2c5-0000-4e5e-8f3a-8f8ce3a7b003', mac: 'fa:16:3e:00:00:03' },
  },
} as const;

/** A fresh copy of the seed state (callers may mutate it before starting an emulator). */
export function seedState(): VpcStateInit {
  return {
    project_id: SEED.projectId,
    credentials: [
      { ak: SEED.ak, sk: SEED.sk },
      { ak: SEED.altAk, sk: SEED.altSk },
    ],
    vpcs: [{ id: SEED.vpcId, name: 'vpc-hostnet', cidr: SEED.vpcCidr }],
    subnets: [
      {
        id: SEED.subnetId,
        name: 'subnet-hostnet',
        vpc_id: SEED.vpcId,
        cidr: SEED.subnetCidr,
        gateway_ip: '192.168.0.1',
        neutron_subnet_id: SEED.neutronSubnetId,
      },
    ],
    servers: Object.entries(SEED.servers).map(([name, s]) => ({
      id: s.id,
      name,
      subnet_id: SEED.subnetId,
      ip: s.ip,
      port_id: s.portId,
      mac_address: s.mac,
      security_groups: [SEED.securityGroupId],
      allowed_address_pairs: [],
    })),
    route_tables: [
      {
        id: SEED.routeTableId,
        name: 'rtb-vpc-hostnet',
        vpc_id: SEED.vpcId,
        default: true,
        subnets: [SEED.subnetId],
        routes: [{ type: 'local', destination: SEED.vpcCidr, nexthop: null, description: null }],
      },
    ],
    security_groups: [
      {
        id: SEED.securityGroupId,
        name: 'sg-hostnet',
        vpc_id: SEED.vpcId,
        description: 'Default security group: no ingress, all egress',
        rules: [
          { id: '6d5e4f3a-2b1c-4d0e-8f9a-4b5c6d7e8f01', direction: 'egress', ethertype: 'IPv4' },
          { id: '6d5e4f3a-2b1c-4d0e-8f9a-4b5c6d7e8f02', direction: 'egress', ethertype: 'IPv6' },
        ],
      },
    ],
    quota: { routes_per_table: 200 },
  };
}
