// The controller core against the real kube-apiserver (and the VPC emulator through the real SDK):
// the seed example, what kubectl shows, allocation from the pool, every bad input, and admission.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { KubeConfig } from '@kubernetes/client-node';
import type { HostNetwork } from '../../controller/api/types.js';
import { controlPlane } from '../helpers/controlplane.js';
import { startEmulatorStack, type ControllerProcess, type EmulatorStack } from '../helpers/controller.js';
import { repoRoot, waitFor } from '../helpers/kube.js';
import {
  ECS1,
  ECS2,
  ECS3,
  checkInvariant,
  cidrInside,
  cidrsOverlap,
  cond,
  createHn,
  deleteHn,
  dumpLogs,
  eventsFor,
  getHn,
  hostNetwork,
  isReady,
  ownedRoutes,
  readLedger,
  tableRoutes,
} from '../helpers/invariants.js';
import type { Emulator } from '../emulator/server.js';

const run = promisify(execFile);

describe('controller core: seed example, kubectl view, bad inputs, admission (real API server)', function () {
  this.timeout(90_000);
  let kc: KubeConfig;
  let kubeconfig: string;
  let kubectl: string;
  let emu: Emulator;
  let ctl: ControllerProcess | undefined;
  let stack: EmulatorStack | undefined;

  const k = (args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> =>
    new Promise((resolve) => {
      const child = execFile(kubectl, args, { env: { ...process.env, KUBECONFIG: kubeconfig } }, (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
      if (input !== undefined) child.stdin!.end(input);
    });

  before(async () => {
    const cp = await controlPlane();
    kubeconfig = cp.kubeconfig;
    kubectl = join(cp.binDir, 'kubectl');
    stack = await startEmulatorStack({ args: ['--pool-cidr=10.0.0.0/16', '--block-size=24', '--vpc-subnets=10.0.5.0/24', '--leader-elect=false', '--resync-period=30s'] });
    ({ kc, emu, ctl } = stack);
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') dumpLogs([ctl]);
  });

  after(async () => {
    await stack?.stop();
  });

  it('seed example: kubectl apply → both hosts Ready with 10.0.2.0/24 and 10.0.3.0/24, routes to their servers', async () => {
    const applied = await run(kubectl, ['apply', '-f', join(repoRoot, 'examples', 'seed-hosts.yaml')], { env: { ...process.env, KUBECONFIG: kubeconfig } });
    assert.match(applied.stdout, /hostnetwork\.hostnet\.io\/ecs-1 created/);
    await waitFor('ecs-1 and ecs-2 Ready', async () => isReady(await getHn(kc, 'ecs-1')) && isReady(await getHn(kc, 'ecs-2')), 30_000, 100);
    const e1 = (await getHn(kc, 'ecs-1'))!;
    const e2 = (await getHn(kc, 'ecs-2'))!;
    assert.equal(e1.status?.podCIDR, '10.0.2.0/24');
    assert.equal(e2.status?.podCIDR, '10.0.3.0/24');
    assert.equal(e1.status?.nextHop, ECS1);
    assert.equal(e2.status?.nextHop, ECS2);
    for (const t of ['CIDRAllocated', 'RouteProgrammed', 'SourceDestCheckDisabled', 'Ready']) {
      assert.equal(cond(e1, t)?.status, 'True', `ecs-1 ${t}: ${JSON.stringify(cond(e1, t))}`);
    }
    assert.equal(cond(e1, 'CIDRAllocated')?.reason, 'Pinned');
    assert.deepEqual(
      ownedRoutes(emu).map((r) => [r.destination, r.nexthop, r.owner]).sort(),
      [
        ['10.0.2.0/24', ECS1, 'ecs-1'],
        ['10.0.3.0/24', ECS2, 'ecs-2'],
      ],
    );
    await checkInvariant(kc, { emulator: emu, converged: true });
  });

  it('kubectl get hn shows HOST IP, SERVER IP, POD CIDR, NEXT HOP, READY, AGE with the values', async () => {
    const { stdout } = await run(kubectl, ['get', 'hn'], { env: { ...process.env, KUBECONFIG: kubeconfig } });
    const lines = stdout.trim().split('\n');
    const header = lines[0]!.trim().split(/\s{2,}/);
    assert.deepEqual(header, ['NAME', 'HOST IP', 'SERVER IP', 'POD CIDR', 'NEXT HOP', 'READY', 'AGE'], stdout);
    const rows = new Map(lines.slice(1).map((l) => { const c = l.trim().split(/\s+/); return [c[0]!, c]; }));
    assert.deepEqual(rows.get('ecs-1')?.slice(0, 6), ['ecs-1', '192.168.0.2', '192.168.0.2', '10.0.2.0/24', ECS1, 'True'], stdout);
    assert.deepEqual(rows.get('ecs-2')?.slice(0, 6), ['ecs-2', '192.168.0.3', '192.168.0.3', '10.0.3.0/24', ECS2, 'True'], stdout);
    assert.match(rows.get('ecs-1')?.[6] ?? '', /^\d+[smhd]/, 'AGE column');
    // The short name and category work too.
    const cat = await run(kubectl, ['get', 'hostnet', '-o', 'name'], { env: { ...process.env, KUBECONFIG: kubeconfig } });
    assert.match(cat.stdout, /hostnetwork\.hostnet\.io\/ecs-1/);
  });

  it('kubectl explain hostnetwork.spec teaches the fields', async () => {
    // The OpenAPI v3 document of a new CRD is published a moment after it is Established.
    const out = await waitFor(
      'kubectl explain',
      async () => {
        const r = await k(['explain', 'hostnetwork.spec']);
        return r.code === 0 && r.stdout.includes('instanceID') ? r.stdout : undefined;
      },
      30_000,
      500,
    );
    assert.match(out, /KIND:\s+HostNetwork/);
    assert.match(out, /The desired state of the host's container network/);
    assert.match(out, /instanceID\s+<string> -required-/);
    assert.match(out, /The cloud server \(ECS instance\) ID of the host/);
    assert.match(out, /hostIP\s+<string>/);
    assert.match(out, /private IPv4 address/);
    assert.match(out, /podCIDR\s+<string>/);
    assert.match(out, /Pins the host's container block/);
    const st = await k(['explain', 'hostnetwork.status.conditions']);
    assert.equal(st.code, 0, st.stderr);
    assert.match(st.stdout, /CIDRAllocated, RouteProgrammed, SourceDestCheckDisabled,\s+HostIPVerified\s+and\s+Ready/);
  });

  it('an unpinned host (examples/allocated-host.yaml) gets a free block of the pool, recorded in the ledger, routed to its server', async () => {
    await run(kubectl, ['apply', '-f', join(repoRoot, 'examples', 'allocated-host.yaml')], { env: { ...process.env, KUBECONFIG: kubeconfig } });
    await waitFor('ecs-3 Ready', async () => isReady(await getHn(kc, 'ecs-3')), 30_000, 100);
    const e3 = (await getHn(kc, 'ecs-3'))!;
    const block = e3.status!.podCIDR!;
    assert.ok(cidrInside(block, '10.0.0.0/16') && block.endsWith('/24'), `${block} is a /24 of 10.0.0.0/16`);
    for (const other of ['10.0.2.0/24', '10.0.3.0/24', '10.0.5.0/24']) assert.ok(!cidrsOverlap(block, other), `${block} does not overlap ${other}`);
    assert.equal(cond(e3, 'CIDRAllocated')?.reason, 'Allocated');
    assert.equal((await readLedger(kc)).records.get(block), 'ecs-3');
    assert.ok(ownedRoutes(emu).some((r) => r.destination === block && r.nexthop === ECS3 && r.owner === 'ecs-3'));
    // The first block of a new host shows in its condition; no Event for it (transitions only).
    assert.match(cond(e3, 'CIDRAllocated')?.message ?? '', new RegExp(`Block ${block.replace(/\./g, '\\.')} allocated from the pool`));
    assert.deepEqual((await eventsFor(kc, e3)).filter((e) => e.reason === 'CIDRAllocated' || e.reason === 'RouteProgrammed'), []);
    await checkInvariant(kc, { emulator: emu, converged: true });
  });

  const bad: { name: string; spec: HostNetwork['spec']; reason: string; mentions: string[] }[] = [
    { name: 'bad-notinpool', spec: { instanceID: ECS3, hostIP: '192.168.0.9', podCIDR: '172.16.4.0/24' }, reason: 'NotInPool', mentions: ['172.16.4.0/24', '10.0.0.0/16'] },
    { name: 'bad-size', spec: { instanceID: ECS3, hostIP: '192.168.0.9', podCIDR: '10.0.8.0/23' }, reason: 'WrongBlockSize', mentions: ['10.0.8.0/23', '/24'] },
    { name: 'bad-vpc', spec: { instanceID: ECS3, hostIP: '192.168.0.9', podCIDR: '10.0.5.0/24' }, reason: 'OverlapsVPCSubnet', mentions: ['10.0.5.0/24'] },
    { name: 'bad-inuse', spec: { instanceID: ECS3, hostIP: '192.168.0.9', podCIDR: '10.0.2.0/24' }, reason: 'CIDRInUse', mentions: ['10.0.2.0/24', 'ecs-1'] },
    { name: 'bad-hostip', spec: { instanceID: ECS3, hostIP: '10.0.7.9', podCIDR: '10.0.7.0/24' }, reason: 'ContainsHostIP', mentions: ['10.0.7.0/24', '10.0.7.9'] },
  ];
  for (const b of bad) {
    it(`bad input ${b.reason}: CIDRAllocated False with a message naming the culprit, a Warning Event, nothing else touched`, async () => {
      const ledgerBefore = await readLedger(kc);
      const routesBefore = tableRoutes(emu);
      const othersBefore = await Promise.all(['ecs-1', 'ecs-2', 'ecs-3'].map((n) => getHn(kc, n)));
      await createHn(kc, hostNetwork(b.name, b.spec));
      const hn = await waitFor(
        `${b.name} CIDRAllocated=False/${b.reason}`,
        async () => {
          const h = await getHn(kc, b.name);
          return cond(h, 'CIDRAllocated')?.status === 'False' ? h : undefined;
        },
        20_000,
        100,
      );
      const c = cond(hn, 'CIDRAllocated')!;
      assert.equal(c.reason, b.reason, c.message);
      for (const m of b.mentions) assert.ok(c.message.includes(m), `message "${c.message}" names ${m}`);
      assert.equal(cond(hn, 'Ready')?.status, 'False');
      assert.equal(hn.status?.podCIDR, undefined, 'no block in status');
      const ev = await waitFor(
        `Warning Event for ${b.name}`,
        async () => (await eventsFor(kc, hn)).find((e) => e.type === 'Warning' && e.reason === 'CIDRRejected'),
        10_000,
        100,
      );
      for (const m of b.mentions) assert.ok(ev.message?.includes(m), `event "${ev.message}" names ${m}`);
      // Nothing else touched: the ledger (same resourceVersion), the routes, the other hosts.
      const ledgerAfter = await readLedger(kc);
      assert.equal(ledgerAfter.resourceVersion, ledgerBefore.resourceVersion, 'ledger ConfigMap not rewritten');
      assert.deepEqual(ledgerAfter.data, ledgerBefore.data);
      assert.deepEqual(tableRoutes(emu), routesBefore, 'route table unchanged');
      const othersAfter = await Promise.all(['ecs-1', 'ecs-2', 'ecs-3'].map((n) => getHn(kc, n)));
      for (const [i, o] of othersAfter.entries()) {
        assert.equal(o?.status?.podCIDR, othersBefore[i]?.status?.podCIDR, `${o?.metadata.name} keeps its block`);
        assert.ok(isReady(o), `${o?.metadata.name} still Ready`);
      }
      await checkInvariant(kc);
    });
  }

  it('a rejected host is deleted without touching anything (the finalizer has nothing to remove)', async () => {
    const before = await readLedger(kc);
    const routes = tableRoutes(emu);
    for (const b of bad) await deleteHn(kc, b.name);
    await waitFor('rejected hosts gone', async () => (await Promise.all(bad.map((b) => getHn(kc, b.name)))).every((h) => h === undefined), 20_000);
    assert.deepEqual((await readLedger(kc)).data, before.data);
    assert.deepEqual(tableRoutes(emu), routes);
    await checkInvariant(kc, { emulator: emu, converged: true });
  });

  const invalid: { what: string; spec: Record<string, unknown>; message: RegExp }[] = [
    { what: 'podCIDR with host bits (10.0.2.1/24)', spec: { instanceID: ECS1, podCIDR: '10.0.2.1/24' }, message: /podCIDR must be a network address with no host bits set/ },
    { what: 'hostIP 999.1.1.1', spec: { instanceID: ECS1, hostIP: '999.1.1.1' }, message: /hostIP must be an IPv4 address such as 192\.168\.0\.2/ },
    { what: 'missing instanceID', spec: { hostIP: '192.168.0.7' }, message: /spec\.instanceID: Required value/ },
  ];
  for (const inv of invalid) {
    it(`admission refuses ${inv.what} (kubectl apply) with the schema's message`, async () => {
      const yaml = `apiVersion: hostnet.io/v1alpha1\nkind: HostNetwork\nmetadata:\n  name: invalid-host\nspec: ${JSON.stringify(inv.spec)}\n`;
      const r = await k(['apply', '-f', '-'], yaml);
      assert.notEqual(r.code, 0, `kubectl apply should fail: ${r.stdout}`);
      assert.match(r.stderr, /is invalid/, r.stderr);
      assert.match(r.stderr, inv.message, r.stderr);
      assert.equal(await getHn(kc, 'invalid-host'), undefined, 'nothing stored');
    });
  }
});
