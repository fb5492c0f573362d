// What the cluster suites share about the image `make image` builds (hack/image.sh).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../helpers/kube.js';

function appVersion(): string {
  const chart = readFileSync(join(repoRoot, 'manifests', 'charts', 'hostnet-controller', 'Chart.yaml'), 'utf8');
  return /^appVersion: *"?([^"\n]+)"?$/m.exec(chart)![1]!;
}

/** The image `make image` builds: the chart's default repository at its appVersion (or $IMAGE). */
export function builtImage(): string {
  return process.env.IMAGE ?? `ghcr.io/hostnet-io/hostnet-controller:${appVersion()}`;
}

/** The agent's image `make image` builds (the Dockerfile's target agent), or $AGENT_IMAGE. */
export function builtAgentImage(): string {
  return process.env.AGENT_IMAGE ?? `ghcr.io/hostnet-io/hostnet-agent:${appVersion()}`;
}
