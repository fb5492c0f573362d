// A host's EC2 side: instance id (HostNetwork spec.instanceID) → its primary ENI (device index 0),
// the target of its routes, looked up once and cached (an instance's primary ENI never changes:
// it cannot be detached). And the ENI's source/destination check, which must be off for the
// host to forward container traffic: read first, changed only when on, and then remembered, so a
// converged host costs no call; recheck() reads again (the controller's existing period).
import {
  DescribeInstancesCommand,
  DescribeNetworkInterfacesCommand,
  ModifyNetworkInterfaceAttributeCommand,
  type DescribeInstancesCommandOutput,
  type DescribeNetworkInterfacesCommandOutput,
  type EC2Client,
  type Instance,
} from '@aws-sdk/client-ec2';
import { CloudError } from '../errors.js';
import { fencedSend, readSend, type Fence } from './write.js';

/** Filter values per DescribeInstances call (AWS allows up to 1,000; smaller pages stay quick). */
export const INSTANCE_LOOKUP_CHUNK = 100;

export interface HostEni {
  instanceId: string;
  eniId: string;
}

export type SourceDestOutcome = 'known-off' | 'already-off' | 'turned-off';

/** The primary ENI of one instance from DescribeInstances, or why there is none. Pure. */
export function primaryEniOf(inst: Instance): { eniId: string; sourceDestCheck?: boolean } | { problem: string } {
  const state = inst.State?.Name;
  if (state === 'terminated' || state === 'shutting-down') return { problem: `instance ${inst.InstanceId} is ${state}` };
  const nic = inst.NetworkInterfaces?.find((n) => n.Attachment?.DeviceIndex === 0);
  if (!nic?.NetworkInterfaceId) return { problem: `instance ${inst.InstanceId} has no network interface at device index 0` };
  return { eniId: nic.NetworkInterfaceId, ...(nic.SourceDestCheck !== undefined ? { sourceDestCheck: nic.SourceDestCheck } : {}) };
}

export class EniDirectory {
  private readonly eniOf = new Map<string, string>();
  /** ENIs whose source/destination check we saw off (or turned off). */
  private readonly checkOff = new Set<string>();
  /** The ENI's private IPv4 addresses from the last read (what spec.hostIP is checked against). */
  private readonly addressesOf = new Map<string, string[]>();

  constructor(
    private readonly client: EC2Client,
    private readonly fence: Fence,
  ) {}

  /** The cached primary ENI, without a call. */
  cached(instanceId: string): string | undefined {
    return this.eniOf.get(instanceId);
  }

  /** Forget an instance (its HostNetwork was deleted, or its id changed). */
  forget(instanceId: string): void {
    const eni = this.eniOf.get(instanceId);
    this.eniOf.delete(instanceId);
    if (eni) this.checkOff.delete(eni);
  }

  /**
   * Primary ENIs of many instances: cached ones cost nothing, the rest one DescribeInstances per
   * INSTANCE_LOOKUP_CHUNK ids (an instance-id filter, so one unknown id does not fail the others).
   * Per id: the ENI, or a notFound CloudError naming the instance.
   */
  async resolve(instanceIds: readonly string[]): Promise<Map<string, HostEni | CloudError>> {
    const result = new Map<string, HostEni | CloudError>();
    const todo = [...new Set(instanceIds)].filter((id) => {
      const eni = this.eniOf.get(id);
      if (eni) result.set(id, { instanceId: id, eniId: eni });
      return !eni;
    });
    for (let i = 0; i < todo.length; i += INSTANCE_LOOKUP_CHUNK) {
      const chunk = todo.slice(i, i + INSTANCE_LOOKUP_CHUNK);
      const found = new Map<string, Instance>();
      let nextToken: string | undefined;
      do {
        const out = await readSend<DescribeInstancesCommandOutput>('DescribeInstances', () => this.client.send(new DescribeInstancesCommand({ Filters: [{ Name: 'instance-id', Values: chunk }], MaxResults: 1000, ...(nextToken ? { NextToken: nextToken } : {}) })),
        );
        for (const r of out.Reservations ?? []) for (const inst of r.Instances ?? []) if (inst.InstanceId) found.set(inst.InstanceId, inst);
        nextToken = out.NextToken || undefined;
      } while (nextToken !== undefined);
      for (const id of chunk) {
        const inst = found.get(id);
        const eni = inst ? primaryEniOf(inst) : { problem: `instance ${id} does not exist (HostNetwork spec.instanceID must be an EC2 instance id of this region)` };
        if ('problem' in eni) {
          result.set(id, new CloudError({ kind: 'notFound', operation: 'DescribeInstances', code: 'InvalidInstanceID.NotFound', cloudMessage: eni.problem }));
          continue;
        }
        this.eniOf.set(id, eni.eniId);
        const nic = inst!.NetworkInterfaces?.find((n) => n.NetworkInterfaceId === eni.eniId);
        this.addressesOf.set(eni.eniId, privateAddresses(nic?.PrivateIpAddresses, nic?.PrivateIpAddress));
        if (eni.sourceDestCheck === false) this.checkOff.add(eni.eniId);
        result.set(id, { instanceId: id, eniId: eni.eniId });
      }
    }
    return result;
  }

  /** The primary ENI of one instance; throws the notFound CloudError naming it. */
  async primaryEni(instanceId: string): Promise<string> {
    const r = (await this.resolve([instanceId])).get(instanceId)!;
    if (r instanceof CloudError) throw r;
    return r.eniId;
  }

  /**
   * Source/destination check off on `eniId`. Known off → no call. Otherwise read it
   * (DescribeNetworkInterfaces) and modify only when it is on. `recheck` reads even when known off
   * (someone may have switched it back on).
   */
  async ensureSourceDestCheckOff(eniId: string, opts: { recheck?: boolean } = {}): Promise<SourceDestOutcome> {
    if (this.checkOff.has(eniId) && !opts.recheck) return 'known-off';
    const out = await readSend<DescribeNetworkInterfacesCommandOutput>('DescribeNetworkInterfaces', () => this.client.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [eniId] })),
      { eniId },
    );
    const nic = out.NetworkInterfaces?.find((n) => n.NetworkInterfaceId === eniId);
    if (!nic) throw new CloudError({ kind: 'notFound', operation: 'DescribeNetworkInterfaces', code: 'InvalidNetworkInterfaceID.NotFound', cloudMessage: `network interface ${eniId} does not exist` });
    this.addressesOf.set(eniId, privateAddresses(nic.PrivateIpAddresses, nic.PrivateIpAddress));
    if (nic.SourceDestCheck === false) {
      this.checkOff.add(eniId);
      return 'already-off';
    }
    this.checkOff.delete(eniId);
    await fencedSend(this.fence, 'ModifyNetworkInterfaceAttribute', () => this.client.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: eniId, SourceDestCheck: { Value: false } })),
      { eniId },
    );
    this.checkOff.add(eniId);
    return 'turned-off';
  }

  /** The ENI's private IPv4 addresses as last read (primary first), [] when never read. */
  addresses(eniId: string): string[] {
    return [...(this.addressesOf.get(eniId) ?? [])];
  }

  /**
   * The instance each ENI is the primary interface of (DescribeNetworkInterfaces, one call per
   * INSTANCE_LOOKUP_CHUNK ids, filtered so one deleted ENI does not fail the others). ENIs that
   * are gone or not an instance's primary interface are left out.
   */
  async instancesOf(eniIds: readonly string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    const ids = [...new Set(eniIds)];
    for (let i = 0; i < ids.length; i += INSTANCE_LOOKUP_CHUNK) {
      const chunk = ids.slice(i, i + INSTANCE_LOOKUP_CHUNK);
      let nextToken: string | undefined;
      do {
        const resp = await readSend<DescribeNetworkInterfacesCommandOutput>('DescribeNetworkInterfaces', () =>
          this.client.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'network-interface-id', Values: chunk }], ...(nextToken ? { NextToken: nextToken } : {}) })),
        );
        for (const nic of resp.NetworkInterfaces ?? []) {
          const inst = nic.Attachment?.InstanceId;
          if (nic.NetworkInterfaceId && inst && nic.Attachment?.DeviceIndex === 0) {
            out.set(nic.NetworkInterfaceId, inst);
            if (!this.eniOf.has(inst)) this.eniOf.set(inst, nic.NetworkInterfaceId);
          }
        }
        nextToken = resp.NextToken || undefined;
      } while (nextToken !== undefined);
    }
    return out;
  }

  /** Source/destination check back on (the host no longer needs it off). False when it already was on. */
  async restoreSourceDestCheck(eniId: string): Promise<boolean> {
    const out = await readSend<DescribeNetworkInterfacesCommandOutput>('DescribeNetworkInterfaces', () => this.client.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [eniId] })),
      { eniId },
    );
    const nic = out.NetworkInterfaces?.find((n) => n.NetworkInterfaceId === eniId);
    this.checkOff.delete(eniId);
    if (!nic || nic.SourceDestCheck !== false) return false;
    await fencedSend(this.fence, 'ModifyNetworkInterfaceAttribute', () => this.client.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: eniId, SourceDestCheck: { Value: true } })),
      { eniId },
    );
    return true;
  }
}

/** Private IPv4 addresses of an ENI, its primary first. Pure. */
function privateAddresses(list: { PrivateIpAddress?: string; Primary?: boolean }[] | undefined, primary: string | undefined): string[] {
  const all = (list ?? []).filter((a) => a.PrivateIpAddress).sort((a, b) => Number(b.Primary ?? false) - Number(a.Primary ?? false)).map((a) => a.PrivateIpAddress!);
  if (primary && !all.includes(primary)) all.unshift(primary);
  return all;
}
