// The netns VPC router driven from Alibaba Cloud (our emulator, test/emulator/alibaba/): a
// VpcRouteSource (vpc-sync.ts) reading one VRouter route table with DescribeRouteEntryList and the
// instances' private addresses with DescribeInstances, both through the real SDKs. A custom entry
// whose next hop is an ECS instance becomes a kernel route via that instance's private address.
// Entries are asynchronous on Alibaba: only an Available entry counts. A Pending one is not routed
// yet (the VRouter has not taken it), so the router gets no route for it. Modifying and Deleting
// ones are left out too: our choice, the API reference does not say whether the VRouter still
// forwards by the old next hop meanwhile. Alibaba has no per-NIC source/destination check, so
// there are no port rules.
import * as $Ecs from '@alicloud/ecs20140526';
import * as $Vpc from '@alicloud/vpc20160428';
import type { AliEcsClient, AliVpcClient } from '../emulator/alibaba/sdk.js';
import { cidrStr, parseCidr, type DesiredVpc, type VpcRouteSource } from './vpc-sync.js';

export interface AlibabaSourceOptions {
  regionId: string;
  routeTableId: string;
}

interface Entry {
  destination: string;
  status: string;
  nextHopType: string;
  nextHopId: string;
}

async function customEntries(vpc: AliVpcClient, opts: AlibabaSourceOptions): Promise<Entry[]> {
  const out: Entry[] = [];
  let nextToken: string | undefined;
  do {
    const res = await vpc.describeRouteEntryList(
      new $Vpc.DescribeRouteEntryListRequest({ regionId: opts.regionId, routeTableId: opts.routeTableId, routeEntryType: 'Custom', maxResult: 100, ...(nextToken ? { nextToken } : {}) }),
    );
    for (const e of res.body?.routeEntrys?.routeEntry ?? []) {
      const hop = e.nextHops?.nextHop?.[0];
      out.push({ destination: e.destinationCidrBlock ?? '', status: e.status ?? '', nextHopType: hop?.nextHopType ?? '', nextHopId: hop?.nextHopId ?? '' });
    }
    nextToken = res.body?.nextToken || undefined;
  } while (nextToken);
  return out;
}

/** instance id → primary private address, for the ids asked (DescribeInstances takes ≤ 100 a call). */
async function privateAddresses(ecs: AliEcsClient, regionId: string, ids: readonly string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (let i = 0; i < ids.length; i += 100) {
    const chunk = ids.slice(i, i + 100);
    const res = await ecs.describeInstances(new $Ecs.DescribeInstancesRequest({ regionId, instanceIds: JSON.stringify(chunk), pageSize: 100 }));
    for (const inst of res.body?.instances?.instance ?? []) {
      const ip = inst.vpcAttributes?.privateIpAddress?.ipAddress?.[0];
      if (inst.instanceId && ip) out.set(inst.instanceId, ip);
    }
  }
  return out;
}

export function alibabaSource(vpc: AliVpcClient, ecs: AliEcsClient, opts: AlibabaSourceOptions): VpcRouteSource {
  return {
    name: `Alibaba route table ${opts.routeTableId}`,
    async desired(): Promise<DesiredVpc> {
      const warnings: string[] = [];
      const entries = (await customEntries(vpc, opts)).filter((e) => e.nextHopType === 'Instance');
      const hops = [...new Set(entries.filter((e) => e.status === 'Available').map((e) => e.nextHopId))];
      const ipOf = await privateAddresses(ecs, opts.regionId, hops);
      const routes = new Map<string, string>();
      for (const e of entries) {
        const dst = parseCidr(e.destination);
        if (!dst) {
          warnings.push(`entry ${e.destination}: not an IPv4 CIDR, skipped`);
          continue;
        }
        // Not yet (or no longer) routed by the VRouter: no kernel route either.
        if (e.status !== 'Available') continue;
        const via = ipOf.get(e.nextHopId);
        if (!via) warnings.push(`entry ${cidrStr(dst)}: next hop ${e.nextHopId} is not a known instance, skipped`);
        else routes.set(cidrStr(dst), via);
      }
      return { routeTableId: opts.routeTableId, routes, ports: [], warnings };
    },
  };
}
