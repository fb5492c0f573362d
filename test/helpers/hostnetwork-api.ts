// Mocha wiring for suites that drive HostNetworks through the API directly (as the agent does)
// next to one controller process: the shared control plane with the CRD and nothing else in it, a
// CustomObjectsApi on it, and the controller a test starts stopped after the suite.
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import type { HostNetwork } from '../../controller/api/types.js';
import { freshCluster, startController, type ControllerProcess, type StartControllerOptions } from './controller.js';
import { HN } from './invariants.js';

export interface HostNetworkApi {
  /** The admin kubeconfig (set by the suite's before hook). */
  readonly kc: KubeConfig;
  readonly api: CustomObjectsApi;
  /** Reads one HostNetwork (throws when there is none). */
  get(name: string): Promise<HostNetwork>;
  /** Starts the controller against the control plane; the suite's after hook stops it. */
  startController(opts: Omit<StartControllerOptions, 'kubeconfig'>): Promise<ControllerProcess>;
}

export function useHostNetworkApi(): HostNetworkApi {
  let cluster: { kc: KubeConfig; api: CustomObjectsApi; kubeconfig: string } | undefined;
  const started: ControllerProcess[] = [];
  const ready = (): NonNullable<typeof cluster> => {
    if (!cluster) throw new Error('useHostNetworkApi: the cluster is set in the before hook');
    return cluster;
  };

  before(async () => {
    const f = await freshCluster();
    cluster = { kc: f.kc, api: f.kc.makeApiClient(CustomObjectsApi), kubeconfig: f.cp.kubeconfig };
  });

  after(async () => {
    for (const ctl of started.splice(0)) await ctl.stop();
  });

  return {
    get kc() {
      return ready().kc;
    },
    get api() {
      return ready().api;
    },
    get: async (name) => (await ready().api.getClusterCustomObject({ ...HN, name })) as HostNetwork,
    async startController(opts) {
      const ctl = await startController({ ...opts, kubeconfig: ready().kubeconfig });
      started.push(ctl);
      return ctl;
    },
  };
}
