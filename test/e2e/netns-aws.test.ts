// End to end on AWS, with real packets: the controller process (--cloud-provider=aws) reaching
// moto through the EC2 fault proxy (test/aws/), the real kube-apiserver, and the netns model of
// the VPC (docs/netns.md) whose router follows moto's route table, read through the SDK
// (test/netns/vpc-source-aws.ts: a route to an ENI goes via the ENI's private address, and each
// ENI's source/destination check is its switch port's rule). The body is
// test/netns/datapath-suite.ts, shared with the Huawei and Alibaba suites.
//
// Needs root and working network namespaces; skipped with the reason printed otherwise.
import { DescribeRouteTablesCommand, ModifyNetworkInterfaceAttributeCommand, RunInstancesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { buildAwsFixture, MOTO_CREDENTIALS, MOTO_REGION, sharedMoto } from '../helpers/moto.js';
import { startAwsFaultProxy } from '../aws/fault-proxy.js';
import { SEED_HOSTS } from '../netns/index.js';
import { awsSource } from '../netns/vpc-source-aws.js';
import type { EmulatorServer } from '../netns/cluster.js';
import { condition, describeNetnsDatapath } from '../netns/datapath-suite.js';

/** moto, for set-up and the out-of-band change (not through the proxy: no controller call). */
let ec2: EC2Client | undefined;

describeNetnsDatapath({
  title: 'e2e: the controller makes containers on two EC2 instances talk (moto, netns VPC model, real packets)',
  async setup() {
    const moto = await sharedMoto();
    await moto.reset();
    // The seed's subnet, and each instance at the seed's address, chosen at RunInstances (moto
    // takes PrivateIpAddress), so host i is 192.168.0.(i+1) as in the netns topology. A real
    // AWS subnet reserves .1-.3 (router, DNS, future use); moto does not, and the seed's
    // addresses keep the seed's traceroute (10.0.2.1 → 192.168.0.3 → 10.0.3.2).
    const fx = await buildAwsFixture(moto.endpoint, { hosts: 0, vpcCidr: '192.168.0.0/16', subnetCidr: '192.168.0.0/24' });
    const servers: EmulatorServer[] = [];
    for (const [i, h] of SEED_HOSTS.entries()) {
      const run = await fx.ec2.send(new RunInstancesCommand({ ImageId: 'ami-12c6146b', InstanceType: 't3.micro', MinCount: 1, MaxCount: 1, SubnetId: fx.subnetId, PrivateIpAddress: h.ip }));
      const inst = run.Instances?.[0];
      const eni = inst?.NetworkInterfaces?.find((n) => n.Attachment?.DeviceIndex === 0);
      if (!inst?.InstanceId || !eni?.NetworkInterfaceId || eni.PrivateIpAddress !== h.ip) throw new Error(`moto did not start instance ${i + 1} at ${h.ip}: ${JSON.stringify(inst)}`);
      servers.push({ id: inst.InstanceId, name: `ec2-${i + 1}`, ip: h.ip, portId: eni.NetworkInterfaceId });
    }
    ec2 = fx.ec2;
    const tableId = fx.tableIds[0]!;
    const proxy = await startAwsFaultProxy(moto.endpoint);
    const nameOf = new Map(servers.map((s) => [s.id, s.name]));
    const instanceOfEni = new Map(servers.map((s) => [s.portId!, s.id]));
    return {
      servers,
      // The router reads moto directly (not through the proxy: its reads are no controller call).
      source: awsSource(fx.ec2, { routeTableId: tableId, serverNameOf: (id) => nameOf.get(id) }),
      async routes() {
        const out = await fx.ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [tableId] }));
        return (out.RouteTables?.[0]?.Routes ?? [])
          .filter((r) => r.NetworkInterfaceId)
          .map((r) => ({ destination: r.DestinationCidrBlock!, nexthop: instanceOfEni.get(r.NetworkInterfaceId!) ?? r.NetworkInterfaceId! }));
      },
      controllerArgs: [
        '--cloud-provider=aws',
        `--cloud-region=${MOTO_REGION}`,
        `--cloud-endpoint=${proxy.endpoint}`,
        `--route-table-ids=${tableId}`,
        `--security-group-id=${fx.securityGroupId}`,
        `--vpc-subnets=${fx.vpcCidr}`,
        // The seed's blocks (10.0.2.0/24, 10.0.3.0/24) are pinned: the pool holds them.
        '--pool-cidr=10.0.0.0/16',
      ],
      controllerEnv: { AWS_ACCESS_KEY_ID: MOTO_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: MOTO_CREDENTIALS.secretAccessKey, AWS_EC2_METADATA_DISABLED: 'true' },
      async close() {
        fx.ec2.destroy();
        await proxy.stop();
      },
    };
  },
  // The ENI's SourceDestCheck back to true, as a new instance has it.
  async closeSourceDestCheck(_ctx, server) {
    await ec2!.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: server.portId!, SourceDestCheck: { Value: true } }));
  },
  // The managing controller turned the check off again.
  settled: (hn) => condition(hn, 'SourceDestCheckDisabled')?.status === 'True',
});
