// Writes the agent's one condition (HostConfigured) with server-side apply under its own field
// manager, so the controller's conditions and the agent's never overwrite each other: the
// CRD's conditions list is a map keyed by type (x-kubernetes-list-type: map), and each manager
// owns only the entries it applied.
import { CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { AgentConditionType, rfc3339 } from '../controller/api/conditions.js';
import { API_VERSION, GROUP, KIND, PLURAL, VERSION, type Condition, type HostNetwork } from '../controller/api/types.js';

export const FIELD_MANAGER = 'hostnet-agent';

const apply = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);

export interface HostCondition {
  status: Condition['status'];
  reason: string;
  message: string;
}

export class ConditionWriter {
  private readonly api: CustomObjectsApi;
  /** Applies made (for metrics and tests). */
  writes = 0;

  constructor(kc: KubeConfig) {
    this.api = kc.makeApiClient(CustomObjectsApi);
  }

  /**
   * Applies HostConfigured on hn when it differs from what hn shows; the transition time moves
   * only when the status changes (kubebuilder's rule). Returns true when it wrote.
   */
  async write(hn: HostNetwork, c: HostCondition, now = new Date()): Promise<boolean> {
    const prev = hn.status?.conditions?.find((x) => x.type === AgentConditionType.HostConfigured);
    if (prev && prev.status === c.status && prev.reason === c.reason && prev.message === c.message && prev.observedGeneration === hn.metadata.generation) return false;
    const condition: Condition = {
      type: AgentConditionType.HostConfigured,
      status: c.status,
      reason: c.reason,
      message: c.message,
      lastTransitionTime: prev && prev.status === c.status ? prev.lastTransitionTime : rfc3339(now),
      ...(hn.metadata.generation !== undefined ? { observedGeneration: hn.metadata.generation } : {}),
    };
    await this.api.patchClusterCustomObjectStatus(
      {
        group: GROUP,
        version: VERSION,
        plural: PLURAL,
        name: hn.metadata.name,
        // Only our entry: SSA merges it into the list by its key (type) and leaves the others.
        body: { apiVersion: API_VERSION, kind: KIND, metadata: { name: hn.metadata.name }, status: { conditions: [condition] } },
        fieldManager: FIELD_MANAGER,
        force: true,
      },
      apply,
    );
    this.writes++;
    return true;
  }
}
