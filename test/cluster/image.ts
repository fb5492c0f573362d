// What the cluster suites share about the image `make image` builds (hack/image.sh).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, runOk } from '../helpers/cli.js';
import { repoRoot } from '../helpers/kube.js';

const imageScript = join(repoRoot, 'hack', 'image.sh');

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

/**
 * Mocha wiring for a suite that runs `image` on the builder dockerd of hack/image.sh: skipped
 * unless root (dockerd needs it; CI runs as root), the daemon started before and stopped after,
 * and the image required to be built. `env` (DOCKER_HOST of that daemon, the classic builder) is
 * filled in by the before hook; `docker` runs the client against it and returns its stdout.
 */
export function useImageEngine(image: string): { env: Record<string, string>; docker: (args: string[], timeoutMs?: number) => Promise<string> } {
  const env: Record<string, string> = {};
  let started = false;
  const docker = (args: string[], timeoutMs = 60_000): Promise<string> => runOk('/usr/bin/docker', args, { env, timeoutMs });

  before(async function () {
    if (process.getuid?.() !== 0) this.skip();
    execFileSync(imageScript, ['daemon-start'], { stdio: ['ignore', 'inherit', 'inherit'] });
    started = true;
    const [k, v] = execFileSync(imageScript, ['env'], { encoding: 'utf8' }).trim().split('=');
    Object.assign(env, { [k!]: v!, DOCKER_BUILDKIT: '0' });
    const found = await run('/usr/bin/docker', ['image', 'inspect', image], { env });
    assert.equal(found.code, 0, `${image} is not built: run \`make image\` first (${found.stderr.trim()})`);
  });

  after(() => {
    if (started) execFileSync(imageScript, ['daemon-stop'], { stdio: ['ignore', 'inherit', 'inherit'] });
  });

  return { env, docker };
}
