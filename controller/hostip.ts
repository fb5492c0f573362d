// spec.hostIP against the server's addresses as the cloud reports them (the fixed IPs of the
// NIC ports the source/destination check step reads anyway). Pure: no I/O.
import { Reason } from './api/conditions.js';
import { formatIPv4, parseIPv4 } from './cidr.js';

export interface HostIPVerdict {
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  /** What status.hostIP shows: spec.hostIP when the server has it, else the server's first address. */
  address?: string;
}

/**
 * Compares spec.hostIP with the server's IPv4 addresses (IPv6 fixed IPs of a dual-stack port are
 * ignored: hostIP is IPv4 only). The route does not depend on the address (its next hop is the
 * server id), so a mismatch is reported, never acted on.
 */
export function verifyHostIP(specHostIP: string | undefined, cloudAddresses: readonly string[], server: string): HostIPVerdict {
  const addresses = [...new Set(cloudAddresses.map(parseIPv4).filter((n): n is number => n !== undefined))].map(formatIPv4);
  if (addresses.length === 0) {
    return { status: 'Unknown', reason: Reason.HostIPNotChecked, message: `The cloud reports no IPv4 address on the NIC of server ${server}; spec.hostIP cannot be checked` };
  }
  const shown = addresses.join(', ');
  if (specHostIP === undefined || specHostIP === '') {
    return { status: 'Unknown', reason: Reason.HostIPNotSpecified, message: `spec.hostIP is not set; the cloud reports ${shown} for server ${server} (shown in status.hostIP)`, address: addresses[0] };
  }
  const wanted = parseIPv4(specHostIP);
  const match = wanted === undefined ? undefined : addresses.find((a) => parseIPv4(a) === wanted);
  if (match !== undefined) {
    return { status: 'True', reason: Reason.HostIPMatches, message: `spec.hostIP ${specHostIP} is an address of server ${server} as the cloud reports it`, address: match };
  }
  return {
    status: 'False',
    reason: Reason.HostIPMismatch,
    message:
      `spec.hostIP ${specHostIP} is not an address of server ${server}: the cloud reports ${shown} on its NIC. ` +
      `Set spec.hostIP to ${addresses[0]} (or remove it), or check spec.instanceID; the route is not affected (it targets the server id)`,
    address: addresses[0],
  };
}
