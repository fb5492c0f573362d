// Who this host is: the server id the HostNetworks name in spec.instanceID, and its address,
// from flags or from the cloud's metadata service (or both, cross-checked).
//   Huawei Cloud / OTC (OpenStack style): GET /openstack/latest/meta_data.json → "uuid";
//     GET /latest/meta-data/local-ipv4.
//   AWS, IMDSv2 only: PUT /latest/api/token (X-aws-ec2-metadata-token-ttl-seconds), then GET
//     /latest/meta-data/instance-id and /latest/meta-data/local-ipv4 with X-aws-ec2-metadata-token.
export type MetadataKind = 'none' | 'openstack' | 'aws';

export const METADATA_ENDPOINT = 'http://169.254.169.254';

export interface Identity {
  instanceId: string;
  hostIp?: string;
  source: 'flags' | 'metadata' | 'flags+metadata';
}

export class IdentityError extends Error {}

async function text(res: Response, what: string): Promise<string> {
  if (!res.ok) throw new IdentityError(`metadata service: ${what} answered ${res.status}`);
  return (await res.text()).trim();
}

/** Reads the server id (and address) from the metadata service. */
export async function fromMetadata(kind: Exclude<MetadataKind, 'none'>, endpoint = METADATA_ENDPOINT, timeoutMs = 5000): Promise<{ instanceId: string; hostIp?: string }> {
  const get = (path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Response> =>
    fetch(`${endpoint}${path}`, { method, headers, signal: AbortSignal.timeout(timeoutMs) }).catch((err: unknown) => {
      throw new IdentityError(`metadata service ${endpoint} not reachable: ${(err as Error).message}`);
    });
  if (kind === 'openstack') {
    const body = await text(await get('/openstack/latest/meta_data.json'), 'meta_data.json');
    let uuid: unknown;
    try {
      uuid = (JSON.parse(body) as { uuid?: unknown }).uuid;
    } catch {
      throw new IdentityError('metadata service: meta_data.json is not JSON');
    }
    if (typeof uuid !== 'string' || !uuid) throw new IdentityError('metadata service: meta_data.json has no uuid');
    const ip = await get('/latest/meta-data/local-ipv4').then((r) => (r.ok ? r.text() : undefined), () => undefined);
    return { instanceId: uuid, ...(ip?.trim() ? { hostIp: ip.trim() } : {}) };
  }
  const token = await text(await get('/latest/api/token', { 'X-aws-ec2-metadata-token-ttl-seconds': '300' }, 'PUT'), 'the IMDSv2 token request');
  const auth = { 'X-aws-ec2-metadata-token': token };
  const instanceId = await text(await get('/latest/meta-data/instance-id', auth), 'instance-id');
  const ip = await get('/latest/meta-data/local-ipv4', auth).then((r) => (r.ok ? r.text() : undefined), () => undefined);
  return { instanceId, ...(ip?.trim() ? { hostIp: ip.trim() } : {}) };
}

/**
 * The identity from flags and/or metadata. Both given: they must agree, or start-up stops with a
 * line naming both (a copied unit file on the wrong server would otherwise serve another's block).
 */
export async function resolveIdentity(flags: { instanceId?: string; hostIp?: string }, kind: MetadataKind, endpoint = METADATA_ENDPOINT): Promise<Identity> {
  if (kind === 'none') {
    if (!flags.instanceId) throw new IdentityError('no server id: give --instance-id or --metadata=openstack|aws');
    return { instanceId: flags.instanceId, ...(flags.hostIp ? { hostIp: flags.hostIp } : {}), source: 'flags' };
  }
  const md = await fromMetadata(kind, endpoint);
  if (flags.instanceId && flags.instanceId !== md.instanceId) {
    throw new IdentityError(`--instance-id=${flags.instanceId} is not this server: the ${kind} metadata service says ${md.instanceId}`);
  }
  if (flags.hostIp && md.hostIp && flags.hostIp !== md.hostIp) {
    throw new IdentityError(`--host-ip=${flags.hostIp} is not this server's address: the ${kind} metadata service says ${md.hostIp}`);
  }
  const hostIp = flags.hostIp ?? md.hostIp;
  return { instanceId: md.instanceId, ...(hostIp ? { hostIp } : {}), source: flags.instanceId ? 'flags+metadata' : 'metadata' };
}
