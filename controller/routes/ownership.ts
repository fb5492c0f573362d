// Which routes are this installation's, the way the provider can tell (capabilities.ownership):
// - mark: the route carries "hostnet:<installation>:<hostnetwork>" (marks.ts) in the field the
//   cloud keeps for it; nothing else is ours.
// - ledger: the cloud keeps no such field. A route is ours when it sends a block the ledger
//   records for a HostNetwork of this installation (inside the pool) to a host of ours. Anything
//   else — another installation's block, a destination outside the pool, our block sent to a
//   server none of our hosts names — is somebody else's and is never touched.
// Pure: the ledger's records and our hosts come in as functions.
import type { CloudRoute, OwnershipCapability } from '../provider/provider.js';
import { isOwnedBy, markFor, ownerFromMark } from './marks.js';

export interface RouteOwnership {
  /** The route is ours: it may be changed or deleted. */
  isOwned(route: CloudRoute): boolean;
  /** The HostNetwork a route of ours belongs to, when that can be told. */
  ownerOf(route: CloudRoute): string | undefined;
  /** What a route written for the host carries ('' where the cloud has nowhere to put it). */
  markFor(hostName: string): string;
}

export interface LedgerView {
  /** The HostNetwork the ledger records the block for, if any (this installation's ledger). */
  ownerOfBlock(destination: string): string | undefined;
  inPool(destination: string): boolean;
  /** The server is the instanceID (or last recorded next hop) of a HostNetwork of ours. */
  isHostOfOurs(instanceId: string): boolean;
}

export function routeOwnership(kind: OwnershipCapability, installationId: string, ledger: LedgerView): RouteOwnership {
  if (kind.kind === 'mark') {
    return {
      isOwned: (r) => r.kind === 'host' && isOwnedBy(installationId, r.description),
      ownerOf: (r) => (r.kind === 'host' ? ownerFromMark(installationId, r.description) : undefined),
      markFor: (name) => markFor(installationId, name, kind.maxLength),
    };
  }
  const owner = (r: CloudRoute): string | undefined =>
    r.kind === 'host' && ledger.inPool(r.destination) && ledger.isHostOfOurs(r.nexthop) ? ledger.ownerOfBlock(r.destination) : undefined;
  return {
    isOwned: (r) => owner(r) !== undefined,
    ownerOf: owner,
    markFor: () => '',
  };
}
