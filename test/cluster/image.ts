// What the cluster suites share about the image `make image` builds (hack/image.sh).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../helpers/kube.js';

/** The image `make image` builds: the chart's default repository at its appVersion (or $IMAGE). */
export function builtImage(): string {
  const chart = readFileSync(join(repoRoot, 'manifests', 'charts', 'hostnet-controller', 'Chart.yaml'), 'utf8');
  const appVersion = /^appVersion: *"?([^"\n]+)"?$/m.exec(chart)![1]!;
  return process.env.IMAGE ?? `ghcr.io/hostnet-io/hostnet-controller:${appVersion}`;
}
