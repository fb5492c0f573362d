// Loaded by .mocharc.json for every run: global teardown of what the suites shared.
import { stopSharedControlPlane } from './controlplane.js';
import { stopSharedMoto } from './moto.js';

export async function mochaGlobalTeardown(): Promise<void> {
  await stopSharedControlPlane();
  await stopSharedMoto();
}
