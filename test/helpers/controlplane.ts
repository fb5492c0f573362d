// One real control plane per mocha run, started by the first suite that asks for it and
// stopped by the global teardown in hooks.ts.
import { KubeConfig } from '@kubernetes/client-node';
import { startControlPlane, type ControlPlane } from '../../hack/controlplane.js';

let shared: Promise<ControlPlane> | undefined;

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

export async function stopSharedControlPlane(): Promise<void> {
  if (!shared) return;
  const cp = await shared.catch(() => undefined);
  shared = undefined;
  await cp?.stop();
}
