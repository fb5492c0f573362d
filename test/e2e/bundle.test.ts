// End to end: the production bundles (hack/bundle.ts, what the image and the package's bin run)
// work as the TypeScript sources do. The bundle is built here, into a folder of this test, from
// the sources under test; the controller from it programs the seed topology through the real
// Huawei SDK (loaded from node_modules on demand, not bundled) against the emulator and the real
// kube-apiserver, and the agent's two commands start.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadAllYaml } from '@kubernetes/client-node';
import { bundle, ENTRY_POINTS } from '../../hack/bundle.js';
import { emulatorArgs, emulatorEnv } from '../helpers/controller.js';
import { useHostNetworkApi } from '../helpers/hostnetwork-api.js';
import { HN, waitAllReady } from '../helpers/invariants.js';
import { repoRoot } from '../helpers/kube.js';
import { SEED, startEmulator, type Emulator } from '../emulator/server.js';
import type { HostNetwork } from '../../controller/api/types.js';

const run = promisify(execFile);

describe('e2e: the production bundles (hack/bundle.ts)', function () {
  this.timeout(120_000);
  // Inside the repository, so that the bundles find node_modules as dist/bin/ does.
  const outdir = join(repoRoot, '.tmp', `bundle-e2e-${process.pid}`);
  const hn = useHostNetworkApi();
  let emu: Emulator | undefined;

  before(() => bundle(outdir));

  after(async () => {
    await emu?.close();
    rmSync(outdir, { recursive: true, force: true });
  });

  it('writes one executable entry point per command', () => {
    for (const name of Object.keys(ENTRY_POINTS)) {
      const file = join(outdir, `${name}.js`);
      assert.ok(existsSync(file), `${file} exists`);
      assert.match(readFileSync(file, 'utf8'), /^#!\/usr\/bin\/env node\n/, `${name} keeps its shebang`);
    }
  });

  it('hostnet-agent and hostnet-agent-kubeconfig start and print their flags', async () => {
    const agent = await run(process.execPath, [join(outdir, 'hostnet-agent.js'), '--help']);
    assert.match(agent.stdout, /^Usage: hostnet-agent /m);
    const kubeconfig = await run(process.execPath, [join(outdir, 'hostnet-agent-kubeconfig.js'), '--help']);
    assert.match(kubeconfig.stdout, /^Usage: hostnet-agent-kubeconfig /m);
  });

  it('the controller from the bundle programs the seed topology through the real SDK', async () => {
    emu = await startEmulator({});
    const ctl = await hn.startController({
      entry: join(outdir, 'hostnet-controller.js'),
      args: [...emulatorArgs(emu.url), '--pool-cidr=10.0.0.0/16', '--leader-elect=false'],
      env: emulatorEnv(),
      waitLeader: true,
    });
    const docs = loadAllYaml(readFileSync(join(repoRoot, 'examples', 'seed-hosts.yaml'), 'utf8')) as HostNetwork[];
    for (const d of docs) await hn.api.createClusterCustomObject({ ...HN, body: d });
    const hosts = await waitAllReady(hn.kc, docs.length, 60_000, 'seed hosts Ready');
    const table = emu.snapshot().route_tables.find((t) => t.id === SEED.routeTableId)!;
    const ours = (table.routes as { destination: string; nexthop: string | null; description: string | null }[]).filter((r) => /^hostnet:default:/.test(r.description ?? ''));
    assert.deepEqual(ours.map((r) => [r.destination, r.nexthop]).sort(), hosts.map((h) => [h.status!.podCIDR!, h.spec.instanceID]).sort());
    assert.equal(await ctl.metric('hostnet_leader'), 1);
  });
});
