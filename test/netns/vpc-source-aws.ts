// The netns VPC router driven from AWS (moto): a VpcRouteSource (vpc-sync.ts) reading one route
// table and the VPC's network interfaces through the SDK. A route to an ENI becomes a kernel route
// via the ENI's private address; a blackhole (AWS forwards nothing) and routes to gateways are
// left out. The source/destination check of each instance's primary ENI becomes its switch
// port's rule: off → every address, on → only the ENI's own addresses.
import { DescribeNetworkInterfacesCommand, DescribeRouteTablesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { cidrStr, parseCidr, portIfName, type DesiredVpc, type PortCheck, type VpcRouteSource } from './vpc-sync.js';

export interface AwsSourceOptions {
  routeTableId: string;
  /** The netns server name (switch port vp-<name>) of an instance; undefined: no port check for it. */
  serverNameOf(instanceId: string): string | undefined;
}

export function awsSource(ec2: EC2Client, opts: AwsSourceOptions): VpcRouteSource {
  return {
    name: `AWS route table ${opts.routeTableId}`,
    async desired(): Promise<DesiredVpc> {
      const warnings: string[] = [];
      const out = await ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [opts.routeTableId] }));
      const table = out.RouteTables?.[0];
      if (!table) return { routeTableId: undefined, routes: new Map(), ports: [], warnings: [`route table ${opts.routeTableId} not found`] };
      const nics = (await ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'vpc-id', Values: [table.VpcId!] }] }))).NetworkInterfaces ?? [];
      const byId = new Map(nics.map((n) => [n.NetworkInterfaceId!, n]));
      const routes = new Map<string, string>();
      for (const r of table.Routes ?? []) {
        if (!r.NetworkInterfaceId || !r.DestinationCidrBlock) continue;
        const dst = parseCidr(r.DestinationCidrBlock);
        const via = byId.get(r.NetworkInterfaceId)?.PrivateIpAddress;
        if (!dst) warnings.push(`route ${r.DestinationCidrBlock}: not an IPv4 CIDR, skipped`);
        else if (r.State === 'blackhole' || !via) warnings.push(`route ${cidrStr(dst)}: target ${r.NetworkInterfaceId} is gone (blackhole), skipped`);
        else routes.set(cidrStr(dst), via);
      }
      const ports: PortCheck[] = [];
      for (const n of nics) {
        const inst = n.Attachment?.InstanceId;
        if (!inst || n.Attachment?.DeviceIndex !== 0) continue;
        const server = opts.serverNameOf(inst);
        const port = server === undefined ? undefined : portIfName(server);
        if (!server || !port) continue;
        const own = (n.PrivateIpAddresses ?? []).map((a) => a.PrivateIpAddress).filter((a): a is string => !!a).sort();
        // The rule goes on the instance's switch port (vp-<server>), the interface nft matches.
        ports.push({ server, port, allowed: n.SourceDestCheck === false ? null : own });
      }
      return { routeTableId: opts.routeTableId, routes, ports, warnings };
    },
  };
}
