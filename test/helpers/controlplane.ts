// One real control plane per mocha run, started by the first suite that asks for it and
// stopped by the global teardown in hooks.ts.
import { KubeConfig } from '@kubernetes/client-node';
import { startControlPlane, type ControlPlane } from '../../hack/controlplane.js';

let shared: Promise<ControlPlane> | undefined;
let sharedWithNode: Promise<ControlPlane> | undefined;

export function controlPlane(): Promise<ControlPlane> {
  shared ??= startControlPlane();
  return shared;
}

export async function adminKubeConfig(): Promise<KubeConfig> {
  const cp = await controlPlane();
  const kc = new KubeConfig();
  kc.loadFromFile(cp.kubeconfig);
  return kc;
}

/**
 * The one-node cluster of test/cluster/ (kubelet, scheduler, controller-manager: pods run), one
 * per mocha run like controlPlane(); the other suites keep the node-less plane, which is faster.
 */
export function nodeCluster(): Promise<ControlPlane> {
  sharedWithNode ??= startControlPlane({ withNode: true });
  return sharedWithNode;
}

export async function stopSharedControlPlane(): Promise<void> {
  for (const p of [shared, sharedWithNode]) {
    const cp = await p?.catch(() => undefined);
    await cp?.stop();
  }
  shared = undefined;
  sharedWithNode = undefined;
}
