// The HostNetwork API (hostnet.io/v1alpha1), as the controller reads and writes it.
// crds/hostnet.io_hostnetworks.yaml is the schema users see; keep the two in step.

export const GROUP = 'hostnet.io';
export const VERSION = 'v1alpha1';
export const PLURAL = 'hostnetworks';
export const KIND = 'HostNetwork';
export const API_VERSION = `${GROUP}/${VERSION}`;

/** Held until the host's routes are gone and its block is released. */
export const FINALIZER = 'hostnet.io/routes';

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export type RouteTableState = 'Programmed' | 'Pending' | 'Conflict' | 'QuotaExceeded' | 'Error';

export interface RouteTableStatus {
  id: string;
  state: RouteTableState;
  message?: string;
}

export interface HostNetworkSpec {
  instanceID: string;
  hostIP?: string;
  podCIDR?: string;
}

export interface AddedAddressPair {
  instanceID: string;
  portId: string;
  /**
   * The provider's opaque record of what it added to the NIC (CloudProvider.sourceDestCheckRecord:
   * on Huawei the address pair itself). Handed back to the provider to take it off again.
   */
  pair: string;
}

export interface HostNetworkStatus {
  podCIDR?: string;
  nextHop?: string;
  /** The server's private address as the cloud reports it (from the NIC read), not spec.hostIP. */
  hostIP?: string;
  /**
   * The NIC address pair this controller added to the server's port (or shares with another
   * HostNetwork of the same server that added it): taken off again when the last block served
   * by that server leaves it. Absent when the pair was there before us (it then stays).
   */
  addedPair?: AddedAddressPair;
  observedGeneration?: number;
  routeTables?: RouteTableStatus[];
  conditions?: Condition[];
}

export interface HostNetwork {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    uid?: string;
    generation?: number;
    resourceVersion?: string;
    deletionTimestamp?: string | Date;
    finalizers?: string[];
    creationTimestamp?: string | Date;
  };
  spec: HostNetworkSpec;
  status?: HostNetworkStatus;
}
