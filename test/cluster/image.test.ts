// The image `make image` built (hack/image.sh), run by a real Docker engine (the builder dockerd
// of hack/image.sh) the way a user runs it: its user, a read-only root filesystem, --help, and
// the controller inside it driving the emulator and the test control plane until the seed hosts
// are Ready.
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../hack/controlplane.js';
import { emulatorArgs, emulatorEnv, freshCluster } from '../helpers/controller.js';
import { resetCluster, waitFor } from '../helpers/kube.js';
import { run, randomSuffix } from '../helpers/cli.js';
import { createHn, ECS1, ECS2, hostNetwork, isReady, getHn } from '../helpers/invariants.js';
import { startEmulator, type Emulator } from '../emulator/server.js';
import { builtAgentImage, builtImage, useImageEngine } from './image.js';

describe('image: the built image on a real Docker engine', function () {
  this.timeout(180_000);
  const image = builtImage();
  const { env, docker } = useImageEngine(image);

  it('runs as 65532:65532 by default, not as root', async () => {
    const cfg = JSON.parse(await docker(['image', 'inspect', '-f', '{{json .Config}}', image])) as { User: string; Entrypoint: string[] };
    assert.equal(cfg.User, '65532:65532');
    const ids = await docker(['run', '--rm', '--entrypoint', 'id', image]);
    assert.equal(ids.trim(), 'uid=65532 gid=65532 groups=65532');
    const size = Number(await docker(['image', 'inspect', '-f', '{{.Size}}', image]));
    console.log(`      image ${image}: ${(size / 1e6).toFixed(1)} MB`);
  });

  it('`docker run IMAGE --help` prints the flags and exits 0, on a read-only root filesystem', async () => {
    const r = await run('/usr/bin/docker', ['run', '--rm', '--read-only', '--network', 'none', image, '--help'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /--pool-cidr/);
    assert.match(r.stdout, /--cloud-provider/);
  });

  it('nothing can be written outside mounted volumes with --read-only (the SDK home writes stay off)', async () => {
    const r = await run('/usr/bin/docker', ['run', '--rm', '--read-only', '--network', 'none', '--entrypoint', 'sh', image, '-c', 'touch /app/x || touch /tmp/x || echo no-write'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Read-only file system/);
    assert.match(r.stdout, /no-write/);
  });

  describe('against the emulator and the test control plane', () => {
    let emu: Emulator;
    let name: string | undefined;

    afterEach(async () => {
      if (name) await run('/usr/bin/docker', ['rm', '-f', name], { env });
      name = undefined;
      const { kc } = await freshCluster();
      await resetCluster(kc);
      await emu?.close();
    });

    it('the controller in the image leads and makes the seed hosts Ready', async () => {
      const { cp, kc } = await freshCluster();
      emu = await startEmulator({});
      const [mPort, hPort] = [await freePort(), await freePort()];
      name = `hostnet-image-test-${randomSuffix()}`;
      const creds = emulatorEnv();
      // The admin kubeconfig is root's (0600); the image's user 65532 gets a readable copy.
      const kubeconfig = join(mkdtempSync(join(tmpdir(), 'hostnet-image-')), 'kubeconfig');
      copyFileSync(cp.kubeconfig, kubeconfig);
      chmodSync(kubeconfig, 0o644);
      // The host's network, so the container reaches the loopback-only API server and emulator.
      await docker([
        'run', '-d', '--name', name, '--read-only', '--network', 'host',
        '-v', `${kubeconfig}:/etc/hostnet/kubeconfig:ro`,
        ...Object.entries({ ...creds, HOSTNET_INSTALLATION_ID: 'default' }).flatMap(([k, v]) => ['-e', `${k}=${v}`]),
        image,
        '--kubeconfig=/etc/hostnet/kubeconfig',
        ...emulatorArgs(emu.url),
        `--metrics-bind-address=127.0.0.1:${mPort}`,
        `--health-bind-address=127.0.0.1:${hPort}`,
        '--leader-elect=false',
      ]);
      await createHn(kc, hostNetwork('ecs-1', { instanceID: ECS1, hostIP: '192.168.0.2', podCIDR: '10.0.2.0/24' }));
      await createHn(kc, hostNetwork('ecs-2', { instanceID: ECS2, hostIP: '192.168.0.3', podCIDR: '10.0.3.0/24' }));
      const logs = async (): Promise<string> => (await run('/usr/bin/docker', ['logs', '--tail', '40', name!], { env })).stderr;
      await waitFor(
        'seed hosts Ready (controller in the image)',
        async () => {
          const state = (await docker(['inspect', '-f', '{{.State.Status}}', name!])).trim();
          if (state !== 'running') throw new Error(`the container is ${state}`);
          return isReady(await getHn(kc, 'ecs-1')) && isReady(await getHn(kc, 'ecs-2'));
        },
        90_000,
        250,
      ).catch(async (err: Error) => {
        throw new Error(`${err.message}\n${await logs()}`);
      });
      const writes = emu.calls.filter((c) => c.method !== 'GET' && c.status < 300);
      assert.ok(writes.length > 0, 'the routes were written through the emulator');
      const metrics = await (await fetch(`http://127.0.0.1:${mPort}/metrics`)).text();
      assert.match(metrics, /^hostnet_leader 1$/m);
    });
  });
});

describe('image: the agent image (Dockerfile target agent) on a real Docker engine', function () {
  this.timeout(120_000);
  const image = builtAgentImage();
  const { env, docker } = useImageEngine(image);

  it('`docker run AGENT_IMAGE --help` prints the agent\'s flags and exits 0, on a read-only root filesystem', async () => {
    const r = await run('/usr/bin/docker', ['run', '--rm', '--read-only', '--network', 'none', image, '--help'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /--instance-id/);
    assert.match(r.stdout, /--routing/);
    const cfg = JSON.parse(await docker(['image', 'inspect', '-f', '{{json .Config}}', image])) as { User: string };
    assert.equal(cfg.User, '0:0', 'the agent needs root for netfilter, routes and the Docker socket');
    const size = Number(await docker(['image', 'inspect', '-f', '{{.Size}}', image]));
    console.log(`      agent image ${image}: ${(size / 1e6).toFixed(1)} MB`);
  });

  it('carries iptables (both backends, save/restore), ip and bridge', async () => {
    const sh = (script: string): Promise<string> => docker(['run', '--rm', '--read-only', '--network', 'none', '--entrypoint', 'sh', image, '-c', script]);
    assert.match(await sh('iptables --version'), /^iptables v1\.\d+\.\d+/);
    assert.match(await sh('ip -V'), /iproute2/);
    assert.match(await sh('bridge -V'), /^bridge utility/);
    for (const m of ['legacy', 'nft']) {
      const out = await sh(`for t in iptables iptables-save iptables-restore; do /usr/local/lib/hostnet/iptables-${m}/$t --version; done`);
      assert.equal(out.trim().split('\n').filter((l) => l.includes(m === 'nft' ? '(nf_tables)' : '(legacy)')).length, 3, out);
    }
  });

  it("the tools work as the agent runs them, read-only root: both iptables backends write a chain and save it, ip adds a route (in the container's own network namespace)", async () => {
    const script = [
      'set -e',
      'for m in legacy nft; do d=/usr/local/lib/hostnet/iptables-$m; $d/iptables -w 5 -t nat -N HN-IMAGE-$m; $d/iptables-save -t nat | grep -c "^:HN-IMAGE-$m"; done',
      'ip link set lo up',
      'ip route replace 10.0.5.0/24 dev lo proto 91',
      'ip -j -4 route show proto 91',
    ].join('\n');
    const out = await docker(['run', '--rm', '--read-only', '--tmpfs', '/run', '--network', 'none', '--cap-add', 'NET_ADMIN', '--entrypoint', 'sh', image, '-c', script]);
    const lines = out.trim().split('\n');
    assert.deepEqual(lines.slice(0, 2), ['1', '1'], out);
    assert.deepEqual((JSON.parse(lines[2]!) as { dst: string }[]).map((r) => r.dst), ['10.0.5.0/24']);
  });

  it('a wrong HOSTNET_IPTABLES_BACKEND is refused with one line naming it', async () => {
    const r = await run('/usr/bin/docker', ['run', '--rm', '--read-only', '--network', 'none', '-e', 'HOSTNET_IPTABLES_BACKEND=bogus', image, '--help'], { env });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /HOSTNET_IPTABLES_BACKEND=bogus is not valid: want auto, legacy or nft/);
  });
});
