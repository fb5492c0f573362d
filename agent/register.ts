// Optional self-registration (--register): when no HostNetwork serves this server, the agent
// creates one (name from --register-name, default the host name) with its server id and
// address; the controller then allocates the block. It never edits an existing object's spec:
// a name already taken by another server's HostNetwork is an error naming both.
import type { CustomObjectsApi } from '@kubernetes/client-node';
import { API_VERSION, GROUP, KIND, PLURAL, VERSION, type HostNetwork } from '../controller/api/types.js';

export const REGISTERED_BY = 'hostnet.io/registered-by';

export class RegistrationError extends Error {}

export async function registerSelf(
  api: CustomObjectsApi,
  o: { name: string; instanceId: string; hostIp?: string },
  served: readonly HostNetwork[],
): Promise<'served' | 'created'> {
  if (served.length) return 'served';
  const body: HostNetwork = {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: { name: o.name, labels: { [REGISTERED_BY]: 'hostnet-agent' } } as HostNetwork['metadata'],
    spec: { instanceID: o.instanceId, ...(o.hostIp ? { hostIP: o.hostIp } : {}) },
  };
  try {
    await api.createClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, body });
    return 'created';
  } catch (err) {
    if ((err as { code?: number }).code !== 409) throw err;
  }
  // Taken: by this server (a race with another start) is fine; by another server is not ours to change.
  const list = (await api.listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, fieldSelector: `metadata.name=${o.name}` })) as { items: HostNetwork[] };
  const other = list.items[0];
  if (other && other.spec.instanceID === o.instanceId) return 'served';
  throw new RegistrationError(`cannot register: HostNetwork ${o.name} already exists for server ${other?.spec.instanceID ?? '?'}; give this host another --register-name`);
}
